/**
 * gradlab's buffer-sharing wasm Identity and same-dtype Cast: values equal the cpu backend's over a
 * table of dtypes and shapes, a clone outlives its source (the backend counts references) and frees
 * its buffer with the last reference, and gradients that save tensors (ReLU, conv, matMul) still
 * match the cpu backend.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../../src/backend/index.ts';
import { dims, maxRelativeError, on, values } from '../../helpers/kernel-check.ts';

const TOLERANCE = 1e-5;

/** Runs `compute` on `backend` and returns its output's values; asserts nothing leaked. */
before(async () => {
  await initBackend('wasm');
});

const CASTS: { shape: number[]; from: 'float32' | 'int32' | 'bool'; to: 'float32' | 'int32' | 'bool' }[] = [
  { shape: [7], from: 'float32', to: 'float32' },
  { shape: [3, 4, 5], from: 'float32', to: 'float32' },
  { shape: [2, 3], from: 'int32', to: 'int32' },
  { shape: [2, 3], from: 'float32', to: 'int32' },
  { shape: [6], from: 'int32', to: 'float32' },
  { shape: [4, 2], from: 'bool', to: 'float32' },
  { shape: [4, 2], from: 'float32', to: 'bool' },
];

for (const c of CASTS) {
  test(`Cast ${c.from} -> ${c.to} [${dims(c.shape)}] and Identity match the cpu backend`, async () => {
    const make = () => {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const raw = Array.from(values(n, 5), (v) => v * 10);
      const source = c.from === 'bool'
        ? tf.tensor(raw.map((v) => (v > 0 ? 1 : 0)), c.shape, 'bool')
        : tf.tensor(raw, c.shape, c.from);
      return tf.add(tf.cast(tf.cast(source, c.to), 'float32'), tf.cast(tf.clone(source), 'float32'));
    };
    const expected = await on('cpu', make);
    assert.ok(maxRelativeError(await on('wasm', make), expected) <= TOLERANCE);
  });
}

test('a clone shares its buffer, outlives its source and frees it with the last reference', async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend();
  const dataIdsBefore = backend.numDataIds();
  const a = tf.tensor1d([1, 2, 3]);
  const b = a.clone();
  const c = tf.cast(b, 'float32');
  assert.equal(backend.numDataIds(), dataIdsBefore + 1, 'the clone and the cast share the buffer');
  a.dispose();
  b.dispose();
  assert.deepEqual(Array.from(await c.data()), [1, 2, 3]);
  c.dispose();
  assert.equal(backend.numDataIds(), dataIdsBefore, 'the last reference freed the buffer');
});

for (const [name, compute] of [
  ['relu', (x: tf.Tensor) => tf.relu(x).square().sum()],
  ['conv2d', (x: tf.Tensor) => tf.conv2d(x.reshape([2, 4, 4, 3]) as tf.Tensor4D, tf.tensor4d(values(3 * 3 * 3 * 2, 9), [3, 3, 3, 2]), 1, 'same').square().sum()],
  ['matMul', (x: tf.Tensor) => tf.matMul(x.reshape([8, 12]), tf.tensor2d(values(12 * 5, 4), [12, 5])).sigmoid().sum()],
] as [string, (x: tf.Tensor) => tf.Tensor][]) {
  test(`gradient through ${name} (saved tensors are shared clones) matches the cpu backend`, async () => {
    const grad = () => tf.grad(compute)(tf.tensor1d(values(96, 2)));
    const expected = await on('cpu', grad);
    assert.ok(maxRelativeError(await on('wasm', grad), expected) <= TOLERANCE);
  });
}
