import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/backend/index.ts';

test('wasm Sign is ±1 for tiny magnitudes, 0 for zero, and leaks nothing', async () => {
  await initBackend('wasm');
  const values = [6.8e-9, -3e-12, 0, -0, 1e-38, -1e-30, 1e-3, -2, 5];
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => tf.sign(tf.tensor1d(values)).arraySync());
  assert.deepEqual(out.map((v) => v + 0), [1, -1, 0, 0, 1, -1, 1, -1, 1]);
  const grid = tf.tidy(() => tf.sign(tf.tensor2d([[1e-9, -1e-9], [0, 3]])).arraySync());
  assert.deepEqual(grid, [[1, -1], [0, 1]]);
  assert.equal(tf.memory().numTensors, before);
});
