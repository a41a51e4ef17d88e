/**
 * gradlab's wasm MaxPoolGrad against the cpu backend: the gradient of maxPool over shapes, window
 * sizes, strides, paddings and batch sizes, on values with negatives, with ReLU zeros (all-zero
 * windows, where the stock wasm kernel sent the gradient to element 0) and with ties at positive
 * values (first maximum wins, as on the cpu backend and in PyTorch); no tensor leaked.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../../src/backend/index.ts';
import { maxRelativeError } from '../../helpers/kernel-check.ts';
import { POOL_CASES, maxPoolGradient, poolCaseName } from '../fixtures/pool-cases.ts';

const TOLERANCE = 1e-5;
const CASES = POOL_CASES;

before(async () => {
  // gradlab's wasm kernel, not the native one in front of it (test/backend/native/ checks that).
  await initBackend('wasm', { native: 'off' });
});

for (const c of CASES) {
  test(`MaxPoolGrad ${poolCaseName(c)}`, async () => {
    const expected = await maxPoolGradient('cpu', c);
    const actual = await maxPoolGradient('wasm', c);
    const error = maxRelativeError(actual, expected);
    assert.ok(error <= TOLERANCE, `max relative error ${error}`);
  });
}

test('MaxPoolGrad sends an all-negative window\'s gradient to its maximum, not to element 0', async () => {
  await tf.setBackend('wasm');
  const x = tf.tensor4d([-3, -1, -2, -4, /* second window */ -5, -6, -0.5, -7], [1, 2, 4, 1]);
  const grad = tf.grad((xv: tf.Tensor) => tf.maxPool(xv as tf.Tensor4D, 2, 2, 'valid').sum())(x);
  assert.deepEqual(Array.from(await grad.data()), [0, 1, 0, 0, 0, 0, 1, 0]);
  tf.dispose([x, grad]);
});

test('MaxPoolGrad matches the cpu backend on windows holding NaN or only -Infinity', async () => {
  // Windows (2x2): all -Infinity; a NaN beside a finite maximum; NaN and -Infinity beside 0; NaN and
  // -Infinity only. (Where a window's NaN makes the two backends' *forward* maxima differ, the
  // gradients cannot agree; the forward maxima are checked equal first.)
  const data = [-Infinity, -Infinity, 2, 3, /* */ -Infinity, -Infinity, 5, NaN, /* */ 0, NaN, NaN, NaN, /* */ -Infinity, -Infinity, -Infinity, -Infinity];
  // The 2x2 fast path with NaN; the general path (overlapping windows) without NaN, because stock
  // wasm's forward max of overlapping windows holding NaN differs from the cpu backend's.
  const withoutNaN = data.map((v) => (Number.isNaN(v) ? -Infinity : v));
  for (const [filter, strides, values] of [[2, 2, data], [2, 1, withoutNaN]] as const) {
    const pools: Record<string, number[]> = {};
    const grads: Record<string, number[]> = {};
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const x = tf.tensor4d(values, [1, 4, 4, 1]);
      const pooled = tf.maxPool(x, filter, strides, 'valid');
      pools[backend] = Array.from(await pooled.data());
      const grad = tf.grad((xv: tf.Tensor) => tf.maxPool(xv as tf.Tensor4D, filter, strides, 'valid').sum())(x);
      grads[backend] = Array.from(await grad.data());
      tf.dispose([x, pooled, grad]);
    }
    assert.deepEqual(pools.wasm, pools.cpu, `forward, filter ${filter}, stride ${strides}`);
    assert.deepEqual(grads.wasm, grads.cpu, `filter ${filter}, stride ${strides}`);
  }
});
