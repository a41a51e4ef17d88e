/**
 * Attack speed on the shipped MNIST model, in process: one forward pass and one input gradient
 * for reference, then PGD-40 (L∞, ε = 0.3) at batch 1 and batch 64, median of several runs.
 */
import * as tf from '@tensorflow/tfjs';
import { prepareAttack, runAttack } from '../src/attacks/attack.ts';
import { initBackend } from '../src/backend/index.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import { SHIPPED, imageAt } from './lib/shipped.ts';
import { markdownTable, timeIt } from './lib/stats.ts';

export async function benchAttacks(): Promise<void> {
  const backend = await initBackend('wasm');
  const model = await loadModelFromDir(SHIPPED[0]!.dir);
  const set = SHIPPED[0]!.heldOut();
  const rows: string[][] = [];
  for (const n of [1, 64]) {
    const images = Array.from({ length: n }, (_, i) => imageAt(set, i));
    const forward = await timeIt(() => model.predictProbabilities(images), 20);
    const gradient = await timeIt(() => {
      const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.logSoftmax(model.logits(x as tf.Tensor4D))))(model.batchTensor(images)));
      g.dataSync();
      g.dispose();
    }, 10);
    const pgd = await timeIt(() => runAttack(model, images, prepareAttack(model, { method: 'pgd', epsilon: 0.3, steps: 40, stepSize: 0.01 }, { images: images.length })), n === 1 ? 5 : 3);
    rows.push([String(n), forward.toFixed(2), gradient.toFixed(2), pgd.toFixed(0), (pgd / n).toFixed(1)]);
    console.error(`attack bench batch ${n}: PGD-40 ${pgd.toFixed(0)} ms`);
  }
  model.dispose();
  console.log(`\n## Attacks (mnist, ${backend.name}, in process, median ms)\n`);
  console.log(markdownTable(['batch', 'one forward pass', 'one input gradient', 'PGD-40 (whole batch)', 'PGD-40 per image'], rows));
}
