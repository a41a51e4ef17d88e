/**
 * gradlab's native MaxPoolGrad and matrix products (BatchMatMul, _FusedMatMul) against the cpu
 * backend over the shared tables (fixtures/pool-cases.ts, fixtures/matmul-cases.ts): pooling
 * windows with negatives, ReLU zeros, ties, NaN and -Infinity; products with transposes, batches,
 * broadcast operands, fused bias and activations, and a dense layer's gradients; Slice (runs,
 * ranks 1–5, int32, empty); FusedBatchNorm (with and without scale / offset). Skipped without
 * the addon (conv.test.ts asserts that a built addon loads).
 */
import { before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend, type BackendInfo } from '../../../src/backend/index.ts';
import { dims, maxRelativeError, on, size, values } from '../../helpers/kernel-check.ts';
import { POOL_CASES, maxPoolGradient, poolCaseName } from '../fixtures/pool-cases.ts';
import { MATMUL_SHAPES } from '../fixtures/matmul-cases.ts';

const TOLERANCE = 1e-5;

let info: BackendInfo;
before(async () => {
  info = await initBackend('wasm');
});

function needsNative(t: TestContext, kernel: string): boolean {
  if (info.native?.kernels.includes(kernel)) return true;
  t.skip(`${kernel} does not run natively: ${info.native?.reason ?? 'not registered'}`);
  return false;
}

async function assertSameOnBoth(compute: () => tf.Tensor): Promise<void> {
  const expected = await on('cpu', compute);
  const error = maxRelativeError(await on('wasm', compute), expected);
  assert.ok(error <= TOLERANCE, `max relative error ${error}`);
}

for (const c of POOL_CASES) {
  test(`MaxPoolGrad ${poolCaseName(c)}`, async (t) => {
    if (!needsNative(t, 'MaxPoolGrad')) return;
    const expected = await maxPoolGradient('cpu', c);
    assert.ok(maxRelativeError(await maxPoolGradient('wasm', c), expected) <= TOLERANCE);
  });
}

test('MaxPoolGrad agrees with the cpu backend on windows of NaN, -Infinity and ties', async (t) => {
  if (!needsNative(t, 'MaxPoolGrad')) return;
  const data = [-Infinity, -Infinity, 2, 3, /* */ -Infinity, -Infinity, 5, NaN, /* */ 0, NaN, NaN, NaN, /* */ -Infinity, -Infinity, -Infinity, -Infinity];
  const withoutNaN = data.map((v) => (Number.isNaN(v) ? -Infinity : v));
  const ties = [1, 1, 0, 0, /* */ 1, 1, 0, 0, /* */ -1, -1, 2, 2, /* */ -1, -1, 2, 2];
  for (const [filter, strides, xs] of [[2, 2, data], [2, 1, withoutNaN], [3, 1, ties]] as const) {
    const grads: Record<string, number[]> = {};
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const x = tf.tensor4d(xs, [1, 4, 4, 1]);
      const grad = tf.grad((xv: tf.Tensor) => tf.maxPool(xv as tf.Tensor4D, filter, strides, 'valid').sum())(x);
      grads[backend] = Array.from(await grad.data());
      tf.dispose([x, grad]);
    }
    assert.deepEqual(grads.wasm, grads.cpu, `filter ${filter}, stride ${strides}`);
  }
});

for (const s of [...MATMUL_SHAPES, { m: 64, k: 1600, n: 128, batchA: [], batchB: [] }]) {
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      test(`BatchMatMul a=[${dims(s.batchA)},${s.m},${s.k}] b=[${dims(s.batchB)},${s.k},${s.n}] transposeA=${transposeA} transposeB=${transposeB}`, async (t) => {
        if (!needsNative(t, 'BatchMatMul')) return;
        const aShape = [...s.batchA, ...(transposeA ? [s.k, s.m] : [s.m, s.k])];
        const bShape = [...s.batchB, ...(transposeB ? [s.n, s.k] : [s.k, s.n])];
        await assertSameOnBoth(() =>
          tf.matMul(tf.tensor(values(size(aShape), 1), aShape), tf.tensor(values(size(bShape), 2), bShape), transposeA, transposeB));
      });
    }
  }
}

for (const activation of ['linear', 'relu', 'relu6', 'leakyrelu'] as const) {
  test(`_FusedMatMul with bias and ${activation}`, async (t) => {
    if (!needsNative(t, '_FusedMatMul')) return;
    await assertSameOnBoth(() => tf.fused.matMul({
      a: tf.tensor2d(values(9 * 20, 4).map((v) => v * 4), [9, 20]), b: tf.tensor2d(values(20 * 7, 5), [20, 7]),
      bias: tf.tensor1d(values(7, 6)), activation, leakyreluAlpha: 0.1,
    }));
  });
}

test('a dense layer\'s input and weight gradients match the cpu backend', async (t) => {
  if (!needsNative(t, 'BatchMatMul')) return;
  const x = values(8 * 30, 7);
  const w = values(30 * 12, 8);
  for (const wrt of [0, 1]) {
    await assertSameOnBoth(() => {
      const xs = tf.tensor2d(x, [8, 30]);
      const ws = tf.tensor2d(w, [30, 12]);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, activation: 'relu' }).square().sum();
      return tf.grads(f)([xs, ws])[wrt]!;
    });
  }
});

const SLICES: { shape: number[]; begin: number[]; size: number[]; dtype?: 'int32' }[] = [
  { shape: [1, 230, 230, 3], begin: [0, 3, 3, 0], size: [1, 224, 224, 3] }, // ResNet's padded stem
  { shape: [2, 9, 8, 5], begin: [1, 2, 0, 0], size: [1, 4, 8, 5] }, // whole trailing dims: one run
  { shape: [2, 9, 8, 5], begin: [0, 1, 2, 1], size: [2, 7, 5, 3] }, // nothing whole
  { shape: [6, 7], begin: [2, 0], size: [3, -1] },
  { shape: [10], begin: [3], size: [4], dtype: 'int32' },
  { shape: [2, 3, 4, 5, 6], begin: [1, 0, 1, 0, 2], size: [1, 3, 2, 5, 3] },
  { shape: [3, 4], begin: [1, 1], size: [0, 2] }, // empty
];
for (const s of SLICES) {
  test(`Slice ${s.dtype ?? 'float32'} [${dims(s.shape)}] begin [${dims(s.begin)}] size [${dims(s.size)}]`, async (t) => {
    if (!needsNative(t, 'Slice')) return;
    const compute = () => tf.slice(tf.tensor(values(size(s.shape), 9).map((v) => (s.dtype ? Math.round(v * 100) : v)), s.shape, s.dtype), s.begin, s.size);
    assert.deepEqual(Array.from(await on('wasm', compute)), Array.from(await on('cpu', compute)));
  });
}

for (const { shape, scale, offset, paramShape } of [
  { shape: [2, 7, 6, 5], scale: true, offset: true, paramShape: [5] },
  { shape: [1, 4, 4, 3], scale: false, offset: true, paramShape: [3] },
  { shape: [3, 8], scale: true, offset: false, paramShape: [8] },
  { shape: [2, 5, 5, 4], scale: true, offset: true, paramShape: [1, 1, 1, 4] },
]) {
  test(`FusedBatchNorm x=[${dims(shape)}] params=[${dims(paramShape)}] scale=${scale} offset=${offset}`, async (t) => {
    if (!needsNative(t, 'FusedBatchNorm')) return;
    const c = shape.at(-1)!;
    await assertSameOnBoth(() => tf.batchNorm(
      tf.tensor(values(size(shape), 11).map((v) => v * 5), shape),
      tf.tensor(values(c, 12), paramShape), tf.tensor(values(c, 13).map((v) => v * v + 0.1), paramShape),
      offset ? tf.tensor(values(c, 14), paramShape) : undefined, scale ? tf.tensor(values(c, 15), paramShape) : undefined, 1e-3));
  });
}

test('an example gets the same bits alone as in a batch (matrix products and convolutions)', async (t) => {
  if (!needsNative(t, 'BatchMatMul')) return;
  await tf.setBackend('wasm');
  const rowOf = (data: ArrayLike<number>, r: number, width: number) => Array.from(data).slice(r * width, (r + 1) * width);
  for (const [m, k, n] of [[64, 1600, 128], [8, 512, 1000], [5, 4096, 33]] as const) {
    const a = tf.tensor2d(values(m * k, 31), [m, k]);
    const w = tf.tensor2d(values(k * n, 32), [k, n]);
    const g = tf.tensor2d(values(m * n, 33), [m, n]);
    const [full, fullT] = [tf.matMul(a, w), tf.matMul(g, w, false, true)];
    const [one, oneT] = [tf.matMul(a.slice([m - 1, 0], [1, k]), w), tf.matMul(g.slice([m - 1, 0], [1, n]), w, false, true)];
    assert.deepEqual(rowOf(await full.data(), m - 1, n), Array.from(await one.data()), `${m}x${k}x${n}`);
    assert.deepEqual(rowOf(await fullT.data(), m - 1, k), Array.from(await oneT.data()), `${m}x${n}x${k} transposed`);
    tf.dispose([a, w, g, full, fullT, one, oneT]);
  }
  const x = tf.tensor4d(values(8 * 28 * 28 * 32, 34), [8, 28, 28, 32]);
  const f = tf.tensor4d(values(3 * 3 * 32 * 64, 35), [3, 3, 32, 64]);
  const batch = tf.conv2d(x, f, 1, 'same');
  const alone = tf.conv2d(x.slice([7, 0, 0, 0], [1, 28, 28, 32]), f, 1, 'same');
  assert.deepEqual(rowOf(await batch.data(), 7, 28 * 28 * 64), Array.from(await alone.data()));
  tf.dispose([x, f, batch, alone]);
});
