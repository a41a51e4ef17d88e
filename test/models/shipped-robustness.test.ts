/**
 * The adversarially trained models are robust and the plain ones are not: PGD-20 (L∞, random
 * start) at the standard ε — MNIST 0.3, Fashion-MNIST 0.1 — on the first 100 held-out images
 * leaves most of `mnist-robust`'s and `fashion-robust`'s answers right and almost none of
 * `mnist`'s and `fashion`'s. The full figures (PGD-40, AutoAttack on the held-out split) are
 * measured by `npm run eval -- robustness`; this guards the shipped weights against a silent swap
 * or a broken export.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { prepareAttack, runAttack } from '../../src/attacks/attack.ts';
import { initBackend } from '../../src/backend/index.ts';
import { FASHION_MNIST_DIR, loadFashionMnist } from '../../src/datasets/fashion-mnist.ts';
import type { ImageSet } from '../../src/datasets/image-set.ts';
import { loadMnist } from '../../src/datasets/mnist.ts';
import { loadModelFromDir } from '../../src/model/loader.ts';

const COUNT = 100;

async function robustAccuracy(name: string, set: ImageSet, epsilon: number): Promise<number> {
  const model = await loadModelFromDir(path.join('models', name));
  try {
    const size = 28 * 28;
    const images = Array.from({ length: COUNT }, (_, i) => set.images.slice(i * size, (i + 1) * size));
    const labels = Array.from(set.labels.slice(0, COUNT));
    const before = tf.memory().numTensors;
    const plan = prepareAttack(model, { method: 'pgd', epsilon, steps: 20, stepSize: epsilon / 10, randomStart: true, seed: 1, label: labels }, { images: COUNT });
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
  const set = loadMnist().test;
  const robust = await robustAccuracy('mnist-robust', set, 0.3);
  const plain = await robustAccuracy('mnist', set, 0.3);
  assert.ok(robust >= 0.8, `mnist-robust: robust accuracy ${robust}`);
  assert.ok(plain <= 0.1, `mnist: robust accuracy ${plain}`);
});

const noFashion = existsSync(FASHION_MNIST_DIR) ? false : `${FASHION_MNIST_DIR} missing (apt-get install dataset-fashion-mnist)`;

test('fashion-robust keeps most images under PGD-20 at ε 0.1; fashion keeps almost none', { skip: noFashion }, async () => {
  await initBackend('wasm');
  const set = loadFashionMnist().test;
  const robust = await robustAccuracy('fashion-robust', set, 0.1);
  const plain = await robustAccuracy('fashion', set, 0.1);
  assert.ok(robust >= 0.6, `fashion-robust: robust accuracy ${robust}`);
  assert.ok(plain <= 0.1, `fashion: robust accuracy ${plain}`);
});
