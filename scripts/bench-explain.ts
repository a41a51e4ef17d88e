/**
 * Explanation speed: milliseconds per image for each method on the shipped MNIST model, in
 * process (no HTTP), at batch 1 and batch 32, median of several runs.
 */
import * as tf from '@tensorflow/tfjs';
import { explainImages, type ExplainRequest } from '../src/explain/explain.ts';
import { initBackend } from '../src/backend/index.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import { SHIPPED, imageAt } from './lib/shipped.ts';
import { markdownTable, timeIt } from './lib/stats.ts';

const METHODS: [string, ExplainRequest][] = [
  ['gradient', { method: 'gradient' }],
  ['guided-backprop', { method: 'guided-backprop' }],
  ['gradcam', { method: 'gradcam' }],
  ['guided-gradcam', { method: 'guided-gradcam' }],
  ['smoothgrad (25 samples)', { method: 'smoothgrad' }],
  ['integrated-gradients (64 steps)', { method: 'integrated-gradients' }],
];

export async function benchExplain(): Promise<void> {
  const backend = await initBackend('wasm');
  const model = await loadModelFromDir(SHIPPED[0]!.dir);
  const set = SHIPPED[0]!.heldOut();
  const batch = Array.from({ length: 32 }, (_, i) => imageAt(set, i));
  const rows: string[][] = [];
  for (const [name, request] of METHODS) {
    const one = await timeIt(() => explainImages(model, [batch[0]!], request), 7);
    const many = await timeIt(() => explainImages(model, batch, request), 3);
    rows.push([name, one.toFixed(1), (many / 32).toFixed(2)]);
    console.error(`explain ${name}: ${one.toFixed(1)} ms`);
  }
  model.dispose();
  if (tf.memory().numTensors !== 0) throw new Error('explain benchmark leaked tensors');
  console.log(`\n## Explanations (mnist, ${backend.name}, in process, median; includes PNG rendering)\n`);
  console.log(markdownTable(['method', 'ms per image, batch 1', 'ms per image, batch 32'], rows));
}
