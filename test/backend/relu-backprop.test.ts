/**
 * ReLU's one-kernel backward pass (src/backend/relu-backprop.ts): on wasm (the native
 * `GradlabReluBackprop` when the addon is built) and on the cpu backend (the two-kernel form), plain
 * and guided, it equals dy · step(y) (· step(dy)) exactly (up to the sign of a zero) — on positives, zeros, negatives and
 * NaN — for shapes whose sizes are not a multiple of a vector width, and leaks nothing.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { hasReluBackpropKernel, reluBackprop } from '../../src/backend/relu-backprop.ts';
import { on, size, values } from '../helpers/kernel-check.ts';

let nativeBuilt = false;
before(async () => {
  const info = await initBackend('wasm');
  nativeBuilt = info.native?.kernels.includes('GradlabReluBackprop') ?? false;
});

/** y: a ReLU's output (zeros where the input was negative), with a NaN in it; dy signed. */
function operands(shape: number[]): { y: Float32Array; dy: Float32Array } {
  const y = values(size(shape), 5).map((v) => Math.max(0, v));
  if (y.length > 3) y[3] = NaN;
  return { y, dy: values(size(shape), 6) };
}

/** -0 as 0: the reference's dy · 0 keeps dy's sign on a zero, the one-kernel form writes +0 (as PyTorch does). */
const unsignedZero = (v: number) => (v === 0 ? 0 : v);

const reference = (dy: tf.Tensor, y: tf.Tensor, guided: boolean) => {
  const masked = tf.mul(dy, tf.step(y));
  return guided ? tf.mul(masked, tf.step(dy)) : masked;
};

// The last shape is over the size from which the native kernel splits the work over every thread.
for (const shape of [[7], [2, 5, 3], [3, 9, 11, 17], [64, 10], [64, 26, 26, 32]]) {
  for (const guided of [false, true]) {
    test(`reluBackprop ${shape.join('x')}${guided ? ' guided' : ''} equals dy · step(y)${guided ? ' · step(dy)' : ''} on wasm and cpu`, async () => {
      const { y, dy } = operands(shape);
      const expected = await on('cpu', () => reference(tf.tensor(dy, shape), tf.tensor(y, shape), guided));
      for (const backend of ['wasm', 'cpu']) {
        const actual = await on(backend, () => reluBackprop(tf.tensor(dy, shape), tf.tensor(y, shape), guided));
        assert.deepEqual(Array.from(actual, unsignedZero), Array.from(expected, unsignedZero), backend);
      }
    });
  }
}

test('the one-kernel form runs where the addon is built, and only on wasm', async (t) => {
  await tf.setBackend('cpu');
  assert.equal(hasReluBackpropKernel(), false);
  await tf.setBackend('wasm');
  if (!nativeBuilt) return t.skip('native addon not built');
  assert.equal(hasReluBackpropKernel(), true);
  const profile = await tf.profile(() => reluBackprop(tf.ones([4, 4]), tf.ones([4, 4])));
  tf.dispose(profile.result as tf.Tensor);
  assert.deepEqual(profile.kernels.map((k) => k.name).filter((n) => n !== 'Fill'), ['GradlabReluBackprop']);
});
