/**
 * The thread policy of the wasm backend: the pool switch really selects XNNPACK's pool or one
 * thread, heavy kernels count their multiply-adds correctly, and results do not depend on where
 * an operation ran.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/backend/index.ts';
import { HEAVY_KERNELS } from '../../../src/backend/kernels/parallel.ts';
import type { BackendWasm, TensorInfo } from '../../../src/backend/kernels/wasm-ops.ts';
import { poolSwitch } from '../../../src/backend/threaded-wasm.ts';
import { values } from '../../helpers/kernel-check.ts';

let threads = 1;
before(async () => {
  threads = (await initBackend('wasm')).threads ?? 1;
});

const info = (shape: number[]) => ({ shape, dtype: 'float32', dataId: {} }) as unknown as TensorInfo;

test('multiply-add counts of the heavy kernels', () => {
  const x = info([2, 28, 28, 1]);
  const filter = info([3, 3, 1, 32]);
  assert.equal(HEAVY_KERNELS.Conv2D!({ x, filter }, { strides: 1 }), 2 * 28 * 28 * 9 * 32);
  assert.equal(HEAVY_KERNELS.Conv2D!({ x, filter }, { strides: [2, 2] }), (2 * 28 * 28 * 9 * 32) / 4);
  assert.equal(HEAVY_KERNELS.Conv2DBackpropInput!({ dy: info([2, 26, 26, 32]), filter }, {}), 2 * 26 * 26 * 9 * 32);
  assert.equal(HEAVY_KERNELS.Conv2DBackpropFilter!({ x, dy: info([2, 26, 26, 32]) }, { filterShape: [3, 3, 1, 32] }), 2 * 26 * 26 * 9 * 32);
  assert.equal(HEAVY_KERNELS.BatchMatMul!({ a: info([4, 64, 1600]), b: info([1, 1600, 128]) }, {}), 4 * 64 * 1600 * 128);
  assert.equal(HEAVY_KERNELS.BatchMatMul!({ a: info([1, 1600, 64]), b: info([1, 10, 1600]) }, { transposeA: true, transposeB: true }), 64 * 1600 * 10);
});

test('the pool switch selects the pool or one thread, and leaves one thread selected after each kernel', (t) => {
  const pool = poolSwitch();
  if (!pool) return t.skip(`no pool switch with ${threads} thread(s)`);
  const count = () => (tf.backend() as unknown as BackendWasm & { wasm: { tfjs: { getThreadsCount(): number } } }).wasm.tfjs.getThreadsCount();
  pool.parallel();
  assert.equal(count(), threads);
  pool.serial();
  assert.equal(count(), 1);
  const saved = pool.minMacs;
  try {
    pool.minMacs = 0;
    tf.tidy(() => tf.conv2d(tf.ones([1, 8, 8, 4]) as tf.Tensor4D, tf.ones([3, 3, 4, 4]) as tf.Tensor4D, 1, 'same').dataSync());
    assert.equal(pool.isParallel, false);
    assert.equal(count(), 1);
  } finally {
    pool.minMacs = saved;
  }
});

test('convolutions, their gradients and matrix products give the same results on the pool and on one thread', (t) => {
  const pool = poolSwitch();
  if (!pool) return t.skip(`no pool switch with ${threads} thread(s)`);
  const run = () => tf.tidy(() => {
    const x = tf.tensor4d(values(4 * 20 * 20 * 8, 1), [4, 20, 20, 8]);
    const filter = tf.tensor4d(values(3 * 3 * 8 * 16, 2), [3, 3, 8, 16]);
    const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same').square().sum())([x, filter]);
    const product = tf.matMul(tf.reshape(x, [80, 160]), tf.reshape(tf.tile(filter, [1, 1, 1, 10]), [72, 160]), false, true);
    return [dx!, df!, product].map((r) => Array.from(r.dataSync()));
  });
  const saved = pool.minMacs;
  try {
    pool.minMacs = Infinity;
    const serial = run();
    pool.minMacs = 0;
    const tensors = tf.memory().numTensors;
    const wasmData = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const parallel = run();
    assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind on the pool');
    assert.equal((tf.backend() as unknown as { numDataIds(): number }).numDataIds(), wasmData, 'no wasm buffer left behind');
    serial.forEach((values, k) => values.forEach((v, i) =>
      assert.ok(Math.abs(v - parallel[k]![i]!) <= 1e-4 * Math.max(1, Math.abs(v)), `result ${k}[${i}]: ${v} vs ${parallel[k]![i]}`)));
  } finally {
    pool.minMacs = saved;
  }
});
