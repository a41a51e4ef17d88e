/**
 * The adversarially trained model is robust and the plain one is not: PGD-20 at ε 0.3 (L∞, random
 * start) on the first 100 held-out digits leaves most of `mnist-robust`'s answers right and almost
 * none of `mnist`'s. The full figures (PGD-40, AutoAttack on the held-out split) are measured by
 * `npm run eval -- robustness`; this guards the shipped weights against a silent swap or a broken
 * export.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { prepareAttack, runAttack } from '../../src/attacks/attack.ts';
import { initBackend } from '../../src/backend/index.ts';
import { loadMnist } from '../../src/datasets/mnist.ts';
import { loadModelFromDir } from '../../src/model/loader.ts';

const COUNT = 100;

async function robustAccuracy(name: string): Promise<number> {
  const model = await loadModelFromDir(path.join('models', name));
  try {
    const set = loadMnist().test;
    const size = 28 * 28;
    const images = Array.from({ length: COUNT }, (_, i) => set.images.slice(i * size, (i + 1) * size));
    const labels = Array.from(set.labels.slice(0, COUNT));
    const before = tf.memory().numTensors;
    const plan = prepareAttack(model, { method: 'pgd', epsilon: 0.3, steps: 20, stepSize: 0.03, randomStart: true, seed: 1, label: labels }, { images: COUNT });
    const report = await runAttack(model, images, plan);
    assert.equal(tf.memory().numTensors, before, `${name}: the attack leaked tensors`);
    const fooled = report.runs[0]!.results.filter((r) => r.success).length;
    return (COUNT - fooled) / COUNT;
  } finally {
    model.dispose();
  }
}

test('mnist-robust keeps most digits under PGD-20 at ε 0.3; mnist keeps almost none', async () => {
  await initBackend('wasm');
  const robust = await robustAccuracy('mnist-robust');
  const plain = await robustAccuracy('mnist');
  assert.ok(robust >= 0.8, `mnist-robust: robust accuracy ${robust}`);
  assert.ok(plain <= 0.1, `mnist: robust accuracy ${plain}`);
});
