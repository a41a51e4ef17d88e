/**
 * What folding batch norm into the conv before it (gradient-forward.ts) saves: the input gradient
 * of log p(class 0) of a ResNet-18-shaped model at 224², batch 1, through the gradient forward
 * with and without folding, interleaved in one process. Prints median ms.
 *
 *   node --import tsx scripts/bench-fold.ts [--rounds 12]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.ts';
import { GradientForward } from '../src/model/gradient-forward.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import { ensureResnet18 } from './lib/resnet18.ts';
import { median } from './lib/stats.ts';

const i = process.argv.indexOf('--rounds');
const ROUNDS = i > 0 ? Number(process.argv[i + 1]) : 12;

const backend = await initBackend('wasm');
const model = await loadModelFromDir(await ensureResnet18());
const net = model.net as tf.LayersModel;
const runners = { folded: GradientForward.forModel(net)!, unfolded: GradientForward.forModel(net, { foldBatchNorm: false })! };
const image = model.batchTensor([new Float32Array(model.pixelsPerImage).map((_, k) => Math.sin(k))]);
const inputGradient = (runner: GradientForward) => {
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.slice(tf.logSoftmax(runner.run(x) as tf.Tensor2D), [0, 0], [1, 1])))(image);
  g.dataSync();
  g.dispose();
};
const times: Record<keyof typeof runners, number[]> = { folded: [], unfolded: [] };
for (const name of ['folded', 'unfolded'] as const) inputGradient(runners[name]);
for (let r = 0; r < ROUNDS; r++) {
  for (const name of (r % 2 ? ['folded', 'unfolded'] as const : ['unfolded', 'folded'] as const)) {
    const t0 = performance.now();
    inputGradient(runners[name]);
    times[name].push(performance.now() - t0);
  }
}
console.log(`ResNet-18 224², batch 1, input gradient (wasm, ${backend.threads} thread(s), ${ROUNDS} interleaved rounds): ` +
  `batch norm folded ${median(times.folded).toFixed(1)} ms, unfolded ${median(times.unfolded).toFixed(1)} ms`);
runners.folded.dispose();
image.dispose();
