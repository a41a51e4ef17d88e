/**
 * What folding batch norm into the conv before it (gradient-forward.ts) saves: the input gradient
 * of log p(class 0) of a ResNet-18-shaped model at 224², batch 1, through the gradient forward
 * with and without folding, interleaved in one process. Prints median ms.
 *
 * `--forward`: the plain forward pass (what classify runs) at batch 1 and 8, tfjs-layers' own
 * `predict` against gradlab's (ImageModel.logits: conv chains with padding, folded batch norm and
 * ReLU in one fused conv), interleaved, a 30 ms pause before each call.
 *
 *   node --import tsx scripts/bench-fold.ts [--rounds 12] [--forward]
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
if (process.argv.includes('--forward')) {
  const settle = () => new Promise((resolve) => setTimeout(resolve, 30));
  for (const n of [1, 8]) {
    const x = tf.tile(image, [n, 1, 1, 1]) as tf.Tensor4D;
    const passes = {
      predict: () => tf.tidy(() => (net.predict(x) as tf.Tensor).dataSync()),
      gradlab: () => tf.tidy(() => model.logits(x).dataSync()),
    };
    const spent: Record<keyof typeof passes, number[]> = { predict: [], gradlab: [] };
    for (const name of ['predict', 'gradlab'] as const) passes[name]();
    for (let r = 0; r < ROUNDS; r++) {
      for (const name of (r % 2 ? ['predict', 'gradlab'] as const : ['gradlab', 'predict'] as const)) {
        await settle();
        const t0 = performance.now();
        passes[name]();
        spent[name].push(performance.now() - t0);
      }
    }
    console.log(`ResNet-18 224², batch ${n}, forward (wasm, ${backend.threads} thread(s), ${ROUNDS} interleaved rounds): ` +
      `tfjs-layers predict ${median(spent.predict).toFixed(1)} ms, gradlab's forward ${median(spent.gradlab).toFixed(1)} ms`);
    x.dispose();
  }
  process.exit(0);
}
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
