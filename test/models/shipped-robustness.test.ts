/**
 * The adversarially trained models are robust and the plain ones are not: PGD-20 (L∞, random
 * start) at the standard ε — MNIST 0.3, Fashion-MNIST 0.1 — on the first 100 held-out images
 * leaves most of `mnist-robust`'s and `fashion-robust`'s answers right and almost none of
 * `mnist`'s and `fashion`'s. The full figures (PGD-40, AutoAttack on the held-out split) are
 * measured by `npm run eval -- robustness`; this guards the shipped weights against a silent swap
 * or a broken export. Their manifests carry the AutoAttack figure the eval wrote, consistent with
 * the rest of the provenance (below clean accuracy, at or below PGD-40 where both were measured on
 * the same images, the count matching the rate).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
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

interface RobustProvenance {
  testAccuracy: number;
  testExamples: number;
  pgd40Accuracy: number;
  autoAttackAccuracy?: number;
  autoAttackCorrect?: number;
  autoAttack?: string;
}

for (const [name, epsilon] of [['mnist-robust', 0.3], ['fashion-robust', 0.1]] as const) {
  test(`${name}'s manifest carries its AutoAttack accuracy at ε ${epsilon}, consistent with its other figures`, () => {
    const manifest = JSON.parse(readFileSync(path.join('models', name, 'manifest.json'), 'utf8')) as { provenance: RobustProvenance };
    const p = manifest.provenance;
    assert.equal(typeof p.autoAttackAccuracy, 'number', 'autoAttackAccuracy');
    const aa = p.autoAttackAccuracy!;
    const described = /AutoAttack standard, L∞ ε=([\d.]+), first (\d+) held-out images/.exec(p.autoAttack ?? '');
    assert.ok(described, `autoAttack describes the run: ${p.autoAttack}`);
    assert.equal(Number(described[1]), epsilon);
    const images = Number(described[2]);
    assert.ok(aa > 0 && aa < p.testAccuracy, `AutoAttack ${aa} against clean ${p.testAccuracy}`);
    if (p.autoAttackCorrect !== undefined) assert.equal(p.autoAttackCorrect / images, aa);
    // The ensemble is never weaker than one of its parts: comparable where PGD-40 ran on the same images.
    if (images === p.testExamples) assert.ok(aa <= p.pgd40Accuracy, `AutoAttack ${aa} against PGD-40 ${p.pgd40Accuracy}`);
  });
}
