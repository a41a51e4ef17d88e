/**
 * Times the two routes gradlab's wasm `Conv2DBackpropInput` can take for image stems — the matrix
 * product and scatter-add (col2im-backprop-input.ts) and the convolution routes
 * (conv2d-backprop-input.ts) — next to the forward conv, on the same inputs, and checks that both
 * give the same gradient. The threshold in `usesCol2im` comes from this table.
 *
 *   node --import tsx scripts/bench-stem-routes.ts [--threads N]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.ts';
import { col2imConv2DBackpropInput, usesCol2im } from '../src/backend/kernels/col2im-backprop-input.ts';
import { convolutionBackpropInput } from '../src/backend/kernels/conv2d-backprop-input.ts';
import type { BackendWasm } from '../src/backend/kernels/wasm-ops.ts';
import { markdownTable, timeIt } from './lib/stats.ts';

type Shape4 = [number, number, number, number];
const CASES: [string, Shape4, Shape4, number, 'same' | 'valid'][] = [
  ['MNIST stem 3x3 1->32, b1', [1, 28, 28, 1], [3, 3, 1, 32], 1, 'valid'],
  ['MNIST stem 3x3 1->32, b4', [4, 28, 28, 1], [3, 3, 1, 32], 1, 'valid'],
  ['MNIST stem 3x3 1->32, b8', [8, 28, 28, 1], [3, 3, 1, 32], 1, 'valid'],
  ['MNIST stem 3x3 1->32, b64', [64, 28, 28, 1], [3, 3, 1, 32], 1, 'valid'],
  ['CIFAR stem 3x3 3->32, b64', [64, 32, 32, 3], [3, 3, 3, 32], 1, 'same'],
  ['MobileNet stem 3x3/2 3->32, b1', [1, 224, 224, 3], [3, 3, 3, 32], 2, 'same'],
  ['ResNet stem 7x7/2 3->64, b1', [1, 224, 224, 3], [7, 7, 3, 64], 2, 'same'],
  ['ResNet stem 7x7/2 3->64, b8', [8, 224, 224, 3], [7, 7, 3, 64], 2, 'same'],
  ['56x56 3x3 2->32, b8', [8, 56, 56, 2], [3, 3, 2, 32], 1, 'same'],
  ['56x56 3x3 8->32, b8', [8, 56, 56, 8], [3, 3, 8, 32], 1, 'same'],
];

/**
 * Median ms of `fn` (result read back and released). Five warm-up calls first: with fewer, the
 * first row timed the scatter-add before V8 had optimised it (0.84 ms instead of 0.14).
 */
const timeOf = (fn: () => tf.Tensor, runs = 11) => {
  const call = () => {
    const r = fn();
    r.dataSync();
    r.dispose();
  };
  for (let i = 0; i < 4; i++) call();
  return timeIt(call, runs);
};

const threadsArg = process.argv.indexOf('--threads');
const info = await initBackend('wasm', threadsArg > 0 ? { threads: Number(process.argv[threadsArg + 1]) } : {});
const backend = tf.backend() as unknown as BackendWasm;
const rows: string[][] = [];
await timeOf(() => tf.tidy(() => tf.conv2d(tf.zeros([8, 32, 32, 8]) as tf.Tensor4D, tf.zeros([3, 3, 8, 8]) as tf.Tensor4D, 1, 'same')), 20); // wake the pool
for (const [label, xShape, fShape, stride, pad] of CASES) {
  const x = tf.randomNormal(xShape) as tf.Tensor4D;
  const filter = tf.randomNormal(fShape) as tf.Tensor4D;
  const conv = tf.backend_util.computeConv2DInfo(xShape, fShape, stride, 1, pad);
  const dy = tf.randomNormal(conv.outShape);
  const asTensor = (route: typeof convolutionBackpropInput) => () =>
    tf.engine().makeTensorFromTensorInfo(route(backend, dy, filter, conv));
  const a = asTensor(col2imConv2DBackpropInput)();
  const b = asTensor(convolutionBackpropInput)();
  const error = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / tf.max(tf.abs(b)).dataSync()[0]!);
  tf.dispose([a, b]);
  const forward = await timeOf(() => tf.conv2d(x, filter, stride, pad));
  const col2im = await timeOf(asTensor(col2imConv2DBackpropInput));
  const convolution = await timeOf(asTensor(convolutionBackpropInput));
  rows.push([label, forward.toFixed(2), col2im.toFixed(2), convolution.toFixed(2), usesCol2im(conv) ? 'col2im' : 'convolution', error.toExponential(1)]);
  tf.dispose([x, filter, dy]);
}
console.log(`\nConv2DBackpropInput routes for image stems (median ms, wasm, ${info.threads} thread(s))\n`);
console.log(markdownTable(['shape', 'forward conv', 'col2im route', 'convolution route', 'gradlab uses', 'max relative difference'], rows));
