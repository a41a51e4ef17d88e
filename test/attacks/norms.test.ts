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

test('the L∞ ascent step in one pass gives the composed ops\' bits: sign step, ε-ball, bounds, zero and tiny gradients', () => {
  const before = tf.memory().numTensors;
  const random = (n: number, seed: number) => Array.from(tf.tidy(() => tf.randomUniform([n], -1, 1, 'float32', seed).dataSync()));
  const n = 2 * 7 * 5 * 3;
  const shape: [number, number, number, number] = [2, 7, 5, 3];
  const x0v = random(n, 1).map((v) => (v + 1) / 2);
  const xv = x0v.map((v, i) => v + 0.25 * random(n, 2)[i]!);
  const gv = random(n, 3).map((v, i) => (i % 7 === 0 ? 0 : i % 11 === 0 ? v * 1e-9 : v));
  for (const [stepSize, epsilon, bounds] of [[0.01, 0.3, [0, 1]], [0.1, 0.05, [0, 1]], [0.037, 0.2, [0.1, 0.8]]] as [number, number, [number, number]][]) {
    tf.tidy(() => {
      const [x0, x, g] = [tf.tensor4d(x0v, shape), tf.tensor4d(xv, shape), tf.tensor4d(gv, shape)];
      const composed = tf.clipByValue(linf.project(x0, tf.add(x, tf.mul(linf.normalize(g), stepSize)) as tf.Tensor4D, epsilon), bounds[0], bounds[1]);
      const fused = linf.ascend!(x0, x, g, stepSize, epsilon, bounds);
      assert.deepEqual(fused.shape, shape);
      assert.deepEqual(Array.from(fused.dataSync()), Array.from(composed.dataSync()), `step ${stepSize}, ε ${epsilon}, bounds ${bounds.join('..')}`);
    });
  }
  assert.ok(!('ascend' in l2), 'L2 composes its methods');
  assert.equal(tf.memory().numTensors, before);
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
