import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { exactSign, l2, linf } from '../../src/attacks/norms.ts';

await initBackend(process.env.GRADLAB_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm');

/** Two images of 2×2×1 from 8 numbers. */
const batch = (values: number[]) => tf.tensor4d(values, [2, 2, 2, 1]);
const read = (f: () => tf.Tensor) => {
  const t = tf.tidy(f);
  const values = Array.from(t.dataSync());
  t.dispose();
  return values;
};
const close = (actual: number[], expected: number[], tolerance = 1e-6) =>
  assert.ok(actual.length === expected.length && actual.every((v, i) => Math.abs(v - expected[i]!) <= tolerance), `${actual.join(',')} ≉ ${expected.join(',')}`);

test('exactSign keeps the sign of tiny values (the wasm Sign kernel rounds them to 0)', () => {
  close(read(() => exactSign(tf.tensor1d([6.8e-9, -1e-12, 0, 3]))), [1, -1, 0, 1]);
});

test('normalize: L∞ is the sign, L2 the unit vector per image', () => {
  const before = tf.memory().numTensors;
  close(read(() => linf.normalize(batch([0.5, -2, 0, 1e-9, 3, -3, 0, 0]))), [1, -1, 0, 1, 1, -1, 0, 0]);
  close(read(() => l2.normalize(batch([3, 4, 0, 0, 0, 0, 1, 0]))), [0.6, 0.8, 0, 0, 0, 0, 1, 0]);
  close(read(() => l2.normalize(batch([0, 0, 0, 0, 0, 0, 0, 2]))), [0, 0, 0, 0, 0, 0, 0, 1], 1e-6);
  assert.equal(tf.memory().numTensors, before);
});

test('project: L∞ clips each coordinate, L2 scales the whole perturbation, points inside stay', () => {
  const x0 = batch([0, 0, 0, 0, 1, 1, 1, 1]);
  close(read(() => linf.project(x0, batch([0.5, -0.05, 0.1, -0.3, 1.2, 1, 0.95, 0]), 0.1)), [0.1, -0.05, 0.1, -0.1, 1.1, 1, 0.95, 0.9]);
  // Image 0: δ = (3, 4, 0, 0), ‖δ‖ = 5 → scaled to 1; image 1: ‖δ‖ = 0.5 ≤ 1 → unchanged.
  close(read(() => l2.project(x0, batch([3, 4, 0, 0, 1.3, 1.4, 1, 1]), 1)), [0.6, 0.8, 0, 0, 1.3, 1.4, 1, 1]);
  x0.dispose();
});

test('distance per image', () => {
  const a = batch([0, 0, 0, 0, 1, 1, 1, 1]);
  const b = batch([3, -4, 0, 0, 1, 1, 0.5, 1]);
  close(read(() => linf.distance(a, b)), [4, 0.5]);
  close(read(() => l2.distance(a, b)), [5, 0.5]);
  a.dispose();
  b.dispose();
});

test('randomStart lands inside the ε-ball, depends on the seed only', () => {
  const x0 = tf.zeros([3, 4, 4, 1]) as tf.Tensor4D;
  for (const norm of [linf, l2]) {
    const first = read(() => norm.randomStart(x0, 0.25, 7));
    const again = read(() => norm.randomStart(x0, 0.25, 7));
    const other = read(() => norm.randomStart(x0, 0.25, 8));
    assert.deepEqual(first, again, `${norm.name}: same seed, same start`);
    assert.notDeepEqual(first, other, `${norm.name}: another seed, another start`);
    const sizes = read(() => norm.distance(x0, norm.randomStart(x0, 0.25, 7)));
    assert.ok(sizes.every((s) => s > 0 && s <= 0.25 + 1e-6), `${norm.name}: ${sizes.join(',')}`);
  }
  x0.dispose();
});
