/**
 * gradlab's wasm Conv2DBackpropFilter and Conv2DBackpropInput against the cpu backend's kernels:
 * gradients of conv2d w.r.t. the filter and the input over shapes, strides, paddings, batch sizes
 * and channel counts (fixtures/conv-cases.ts), with no tensor leaked by a gradient call.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../../src/backend/index.ts';
import { clearWasmGradientKernelCaches } from '../../../src/backend/kernels/index.ts';
import { maxRelativeError, size, values } from '../../helpers/kernel-check.ts';
import { CONV_CASES, conv2dOp, convCaseName, convGradient, type ConvCase } from '../fixtures/conv-cases.ts';

const TOLERANCE = 1e-5;

const CASES = CONV_CASES;
type Case = ConvCase;
const conv2dGradient = (backend: string, c: Case, wrt: 'x' | 'filter') => convGradient(conv2dOp, backend, c, wrt);

before(async () => {
  // gradlab's wasm kernels, not the native ones in front of them (test/backend/native/ checks those).
  await initBackend('wasm', { native: 'off' });
});

for (const wrt of ['filter', 'x'] as const) {
  const kernel = wrt === 'filter' ? 'Conv2DBackpropFilter' : 'Conv2DBackpropInput';
  for (const c of CASES) {
    test(`${kernel} ${convCaseName(c)}`, async () => {
      const expected = await conv2dGradient('cpu', c, wrt);
      const actual = await conv2dGradient('wasm', c, wrt);
      const error = maxRelativeError(actual, expected);
      assert.ok(error <= TOLERANCE, `max relative error ${error}`);
    });
  }
}

test('Conv2DBackpropInput reuses a cached filter only for the same live weight', async () => {
  const c: Case = { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'same' };
  const expected = await conv2dGradient('cpu', c, 'x');
  // Repeated calls hit the cache; each call disposes its filter, so the next call's filter is a
  // new tensor with the same values and must not be served a released entry.
  for (let i = 0; i < 3; i++) {
    assert.ok(maxRelativeError(await conv2dGradient('wasm', c, 'x'), expected) <= TOLERANCE);
  }
  // A different filter of the same shape must not get the previous filter's transform.
  await tf.setBackend('wasm');
  const x = tf.tensor4d(values(size(c.x), 1), c.x);
  const f1 = tf.tensor4d(values(size(c.filter), 2), c.filter);
  const f2 = tf.tensor4d(values(size(c.filter), 7), c.filter);
  const inputGrad = (f: tf.Tensor4D) => tf.grad((xv: tf.Tensor) => tf.conv2d(xv as tf.Tensor4D, f, 2, 'same').sum())(x);
  const g1 = inputGrad(f1);
  const g2 = inputGrad(f2);
  await tf.setBackend('cpu');
  const r2 = tf.grad((xv: tf.Tensor) => tf.conv2d(xv as tf.Tensor4D, tf.tensor4d(values(size(c.filter), 7), c.filter), 2, 'same').sum())(
    tf.tensor4d(values(size(c.x), 1), c.x));
  assert.ok(maxRelativeError(await g2.data(), await r2.data()) <= TOLERANCE);
  assert.ok(maxRelativeError(await g1.data(), await r2.data()) > 1e-3);
  tf.dispose([x, f1, f2, g1, g2, r2]);
  clearWasmGradientKernelCaches();
});

test('fused conv2d (bias + relu) input gradient works on wasm', async () => {
  // tfjs's fused conv gradient always computes the filter gradient too, so this failed on stock
  // wasm even though only the input gradient is asked for.
  const shapes = { x: [2, 9, 9, 3] as [number, number, number, number], filter: [3, 3, 3, 4] as [number, number, number, number] };
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const x = tf.tensor4d(values(size(shapes.x), 11), shapes.x);
    const filter = tf.tensor4d(values(size(shapes.filter), 12), shapes.filter);
    const bias = tf.tensor1d(values(4, 13));
    const before = tf.memory().numTensors;
    const g = tf.grad((xv: tf.Tensor) =>
      tf.fused.conv2d({ x: xv as tf.Tensor4D, filter, strides: 1, pad: 'same', bias, activation: 'relu' }).sum())(x);
    const data = (await g.data()) as Float32Array;
    g.dispose();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, filter, bias]);
    return data;
  };
  const expected = await run('cpu');
  assert.ok(maxRelativeError(await run('wasm'), expected) <= TOLERANCE);
});
