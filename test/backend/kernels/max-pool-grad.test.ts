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
import { maxRelativeError, size } from '../../helpers/kernel-check.ts';

type Shape4 = [number, number, number, number];
type Values = 'signed' | 'relu' | 'ties';

interface Case {
  x: Shape4;
  filter: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same';
  values: Values;
}

const TOLERANCE = 1e-5;

function values(n: number, seed: number, kind: Values): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const v = s / 2 ** 31 - 1;
    out[i] = kind === 'signed' ? v : kind === 'relu' ? Math.max(0, v) : Math.round(v * 2) / 2; // ties: 5 levels
  }
  return out;
}

async function maxPoolGradient(backend: string, c: Case): Promise<Float32Array> {
  await tf.setBackend(backend);
  const x = tf.tensor4d(values(size(c.x), 1, c.values), c.x);
  const outShape = tf.maxPool(x, c.filter, c.strides, c.pad).shape;
  const weights = tf.tensor(values(size(outShape), 3, 'signed'), outShape);
  const before = tf.memory().numTensors;
  const grad = tf.grad((xv: tf.Tensor) => tf.maxPool(xv as tf.Tensor4D, c.filter, c.strides, c.pad).mul(weights).sum())(x);
  const data = (await grad.data()) as Float32Array;
  grad.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend}: the gradient call leaked tensors`);
  tf.dispose([x, weights]);
  return data;
}

const CASES: Case[] = [];
for (const values of ['signed', 'relu', 'ties'] as Values[]) {
  for (const pad of ['valid', 'same'] as const) {
    CASES.push(
      { x: [1, 4, 4, 1], filter: 2, strides: 2, pad, values },
      { x: [2, 7, 9, 3], filter: 2, strides: 2, pad, values }, // odd sizes: trailing rows unused
      { x: [2, 9, 9, 4], filter: 3, strides: 2, pad, values }, // overlapping windows
      { x: [1, 8, 7, 5], filter: 3, strides: 1, pad, values },
      { x: [3, 10, 10, 2], filter: [2, 3], strides: [1, 2], pad, values },
      { x: [1, 6, 6, 8], filter: 3, strides: 3, pad, values },
    );
  }
}
CASES.push(
  { x: [8, 24, 24, 32], filter: 2, strides: 2, pad: 'valid', values: 'relu' }, // MNIST pool1
  { x: [1, 32, 32, 16], filter: 3, strides: 2, pad: 'same', values: 'relu' }, // ResNet stem pool, smaller
);

before(async () => {
  await initBackend('wasm');
});

for (const c of CASES) {
  test(`MaxPoolGrad x=${c.x} filter=${c.filter} strides=${c.strides} pad=${c.pad} values=${c.values}`, async () => {
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
