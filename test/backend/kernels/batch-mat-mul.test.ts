/**
 * gradlab's wasm BatchMatMul (transposed operands handed to the stock kernel untransposed, the
 * right-hand transpose cached per weight) against the cpu backend: every transpose combination over
 * ranks 2 and 3 and batch broadcasting, dense-layer gradients, and the cache's safety: a disposed
 * weight's transpose is never served to a new weight; no tensor leaked.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../../src/backend/index.ts';
import { clearWasmGradientKernelCaches } from '../../../src/backend/kernels/index.ts';
import { dims, maxRelativeError, on, size, values } from '../../helpers/kernel-check.ts';
import { MATMUL_SHAPES } from '../fixtures/matmul-cases.ts';

const TOLERANCE = 1e-5;

async function assertSameOnBoth(compute: () => tf.Tensor): Promise<void> {
  const expected = await on('cpu', compute);
  const error = maxRelativeError(await on('wasm', compute), expected);
  assert.ok(error <= TOLERANCE, `max relative error ${error}`);
}

before(async () => {
  // gradlab's wasm kernel, not the native one in front of it (test/backend/native/ checks that).
  await initBackend('wasm', { native: 'off' });
});

const SHAPES = MATMUL_SHAPES;

for (const s of SHAPES) {
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      test(`BatchMatMul a=[${dims(s.batchA)},${s.m},${s.k}] b=[${dims(s.batchB)},${s.k},${s.n}] transposeA=${transposeA} transposeB=${transposeB}`, async () => {
        const aShape = [...s.batchA, ...(transposeA ? [s.k, s.m] : [s.m, s.k])];
        const bShape = [...s.batchB, ...(transposeB ? [s.n, s.k] : [s.k, s.n])];
        await assertSameOnBoth(() =>
          tf.matMul(tf.tensor(values(size(aShape), 1), aShape), tf.tensor(values(size(bShape), 2), bShape), transposeA, transposeB));
      });
    }
  }
}

test('dense layer gradients (input and weights) match the cpu backend', async () => {
  await assertSameOnBoth(() => {
    const x = tf.tensor2d(values(16 * 30, 3), [16, 30]);
    const w = tf.tensor2d(values(30 * 12, 4), [30, 12]);
    const loss = (xv: tf.Tensor, wv: tf.Tensor) => tf.relu(tf.matMul(xv as tf.Tensor2D, wv as tf.Tensor2D)).square().sum();
    const [dx, dw] = tf.grads(loss)([x, w]);
    return tf.concat([dx!.flatten(), dw!.flatten()]);
  });
});

test('a cached transpose is used only for the same live weight', async () => {
  await tf.setBackend('wasm');
  const dy = tf.tensor2d(values(3 * 4, 5), [3, 4]);
  for (let round = 0; round < 3; round++) {
    // A new weight each round, often at a recycled heap address and with a fresh data id.
    const w = tf.tensor2d(values(6 * 4, 10 + round), [6, 4]);
    const out = tf.matMul(dy, w, false, true);
    const got = await out.data();
    await tf.setBackend('cpu');
    const reference = tf.tidy(() => tf.matMul(tf.tensor2d(values(3 * 4, 5), [3, 4]), tf.tensor2d(values(6 * 4, 10 + round), [6, 4]), false, true));
    const want = await reference.data();
    reference.dispose();
    await tf.setBackend('wasm');
    assert.ok(maxRelativeError(got, want) <= TOLERANCE, `round ${round}`);
    // The same weight again: served from the cache, same answer.
    const again = tf.matMul(dy, w, false, true);
    assert.ok(maxRelativeError(await again.data(), want) <= TOLERANCE);
    tf.dispose([w, out, again]);
  }
  dy.dispose();
  clearWasmGradientKernelCaches();
});
