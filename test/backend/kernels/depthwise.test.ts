/**
 * gradlab's wasm DepthwiseConv2dNativeBackpropInput / BackpropFilter against the cpu backend:
 * gradients of depthwiseConv2d over shapes, strides, paddings, batch sizes, channel counts and
 * channel multipliers; dilated filters through the kernels directly (tfjs's gradient of a dilated
 * depthwise conv is not implemented, but the kernels accept dilations); no tensor leaked.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../../src/backend/index.ts';
import { maxRelativeError, size, values } from '../../helpers/kernel-check.ts';
import { DEPTHWISE_CASES, convCaseName, convGradient, depthwiseOp, type ConvCase, type Pad as ConvPad, type Shape4 } from '../fixtures/conv-cases.ts';

type Pad = Exclude<ConvPad, number>;
type Case = ConvCase;

const TOLERANCE = 1e-5;

const CASES = DEPTHWISE_CASES;
const depthwiseGradient = (backend: string, c: Case, wrt: 'x' | 'filter') => convGradient(depthwiseOp, backend, c, wrt);

before(async () => {
  // gradlab's wasm kernels, not the native ones in front of them (test/backend/native/ checks those).
  await initBackend('wasm', { native: 'off' });
});

for (const wrt of ['filter', 'x'] as const) {
  const kernel = wrt === 'filter' ? 'DepthwiseConv2dNativeBackpropFilter' : 'DepthwiseConv2dNativeBackpropInput';
  for (const c of CASES) {
    test(`${kernel} ${convCaseName(c)}`, async () => {
      const expected = await depthwiseGradient('cpu', c, wrt);
      const actual = await depthwiseGradient('wasm', c, wrt);
      const error = maxRelativeError(actual, expected);
      assert.ok(error <= TOLERANCE, `max relative error ${error}`);
    });
  }
}

/**
 * Runs a backprop kernel directly (dilations > 1 are unreachable through tf.grad). The cpu
 * kernels ignore dilations, so the reference runs undilated with the zero-expanded filter
 * ((k - 1) * d + 1 taps, zeros between) and, for the filter gradient, keeps every d-th tap.
 */
async function runBackpropKernel(
  backend: 'cpu' | 'wasm',
  kernel: 'DepthwiseConv2dNativeBackpropInput' | 'DepthwiseConv2dNativeBackpropFilter',
  x: Shape4, filter: Shape4, dilation: number, pad: Pad,
): Promise<Float32Array> {
  await tf.setBackend(backend);
  const [kh, kw, c, m] = filter;
  const expanded: Shape4 = [(kh - 1) * dilation + 1, (kw - 1) * dilation + 1, c, m];
  const info = tf.backend_util.computeConv2DInfo(x, filter, 1, dilation, pad, undefined, true);
  const dy = tf.tensor4d(values(size(info.outShape), 5), info.outShape);
  const useExpanded = backend === 'cpu';
  const attrs = { strides: 1, dilations: useExpanded ? 1 : dilation, pad };
  const before = tf.memory().numTensors;
  let data: Float32Array;
  if (kernel === 'DepthwiseConv2dNativeBackpropInput') {
    const taps = values(size(filter), 6);
    let fValues = taps;
    if (useExpanded) {
      fValues = new Float32Array(size(expanded));
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let k = 0; k < c * m; k++) {
        fValues[((i * dilation) * expanded[1] + j * dilation) * c * m + k] = taps[(i * kw + j) * c * m + k]!;
      }
    }
    const f = tf.tensor4d(fValues, useExpanded ? expanded : filter);
    const out = tf.engine().runKernel(kernel, { dy, filter: f }, { ...attrs, inputShape: x }) as tf.Tensor;
    data = (await out.data()) as Float32Array;
    tf.dispose([f, out]);
  } else {
    const xt = tf.tensor4d(values(size(x), 6), x);
    const filterShape = useExpanded ? expanded : filter;
    const out = tf.engine().runKernel(kernel, { x: xt, dy }, { ...attrs, filterShape }) as tf.Tensor;
    const full = (await out.data()) as Float32Array;
    tf.dispose([xt, out]);
    data = full;
    if (useExpanded) {
      data = new Float32Array(size(filter));
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let k = 0; k < c * m; k++) {
        data[(i * kw + j) * c * m + k] = full[((i * dilation) * expanded[1] + j * dilation) * c * m + k]!;
      }
    }
  }
  dy.dispose();
  assert.equal(tf.memory().numTensors, before - 1);
  return data;
}

for (const kernel of ['DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'] as const) {
  for (const pad of ['valid', 'same'] as const) {
    test(`${kernel} with dilations 2, pad ${pad}`, async () => {
      const expected = await runBackpropKernel('cpu', kernel, [2, 11, 10, 3], [3, 3, 3, 2], 2, pad);
      const actual = await runBackpropKernel('wasm', kernel, [2, 11, 10, 3], [3, 3, 3, 2], 2, pad);
      assert.ok(maxRelativeError(actual, expected) <= TOLERANCE, `max relative error ${maxRelativeError(actual, expected)}`);
    });
  }
}
