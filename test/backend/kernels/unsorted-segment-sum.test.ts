/**
 * gradlab's wasm UnsortedSegmentSum against the cpu backend: the op itself (ranks, repeated and
 * out-of-range ids, int32) and the gradients it serves (gather on any axis, Embedding weights).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../../src/backend/index.ts';
import { dims, maxRelativeError, on, size, values } from '../../helpers/kernel-check.ts';

const TOLERANCE = 1e-5;

async function assertSameOnBoth(compute: () => tf.Tensor): Promise<void> {
  const expected = await on('cpu', compute);
  const actual = await on('wasm', compute);
  const error = maxRelativeError(actual, expected);
  assert.ok(error <= TOLERANCE, `max relative error ${error}`);
}

before(async () => {
  await initBackend('wasm');
});

const SEGMENT_CASES: { x: number[]; ids: number[]; numSegments: number }[] = [
  { x: [6], ids: [0, 2, 2, 1, 0, 2], numSegments: 3 },
  { x: [5, 4], ids: [3, 3, 0, 1, 3], numSegments: 5 }, // segment 2 and 4 empty
  { x: [7, 3, 2], ids: [1, 0, 1, 1, 2, 0, 2], numSegments: 3 },
  { x: [4, 3], ids: [0, -1, 5, 1], numSegments: 2 }, // out-of-range ids are dropped
  { x: [200, 16], ids: Array.from({ length: 200 }, (_, i) => (i * 37) % 50), numSegments: 50 },
];

for (const c of SEGMENT_CASES) {
  test(`UnsortedSegmentSum x=[${dims(c.x)}] numSegments=${c.numSegments}`, async () => {
    await assertSameOnBoth(() =>
      tf.unsortedSegmentSum(tf.tensor(values(size(c.x), 1), c.x), tf.tensor1d(c.ids, 'int32'), c.numSegments));
  });
}

test('UnsortedSegmentSum on int32 values', async () => {
  await tf.setBackend('wasm');
  const out = tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4, 5], 'int32'), tf.tensor1d([1, 0, 1, 1, 0], 'int32'), 3);
  assert.equal(out.dtype, 'int32');
  assert.deepEqual(Array.from(await out.data()), [7, 8, 0]);
  out.dispose();
});

for (const [axis, xShape, indices] of [
  [0, [10, 4], [3, 1, 3, 9, 0, 3]],
  [1, [3, 8, 2], [7, 7, 0, 2]],
  [2, [2, 3, 5], [4, 0, 4]],
] as [number, number[], number[]][]) {
  test(`gradient of gather on axis ${axis} (repeated indices)`, async () => {
    await assertSameOnBoth(() => {
      const x = tf.tensor(values(size(xShape), 2), xShape);
      const idx = tf.tensor1d(indices, 'int32');
      const outShape = tf.gather(x, idx, axis).shape;
      const w = tf.tensor(values(size(outShape), 3), outShape);
      return tf.grad((xv: tf.Tensor) => tf.gather(xv, idx, axis).mul(w).sum())(x);
    });
  });
}

test('Embedding layer weight gradient', async () => {
  const grads = async (backend: string) => {
    await tf.setBackend(backend);
    const model = tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: 20, outputDim: 6, inputLength: 5, embeddingsInitializer: 'zeros' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, kernelInitializer: 'zeros' }),
      ],
    });
    model.layers[0]!.setWeights([tf.tensor2d(values(120, 4), [20, 6])]);
    model.layers[2]!.setWeights([tf.tensor2d(values(60, 5), [30, 2]), tf.zeros([2])]);
    const tokens = tf.tensor2d([[1, 4, 4, 19, 0], [4, 7, 1, 1, 2]], [2, 5], 'int32');
    const loss = () => (model.apply(tokens) as tf.Tensor).square().sum() as tf.Scalar;
    const before = tf.memory().numTensors;
    const { value, grads: g } = tf.variableGrads(loss);
    value.dispose();
    const embeddingName = Object.keys(g).find((name) => name.includes('embeddings'));
    assert.ok(embeddingName, `no embeddings gradient among ${Object.keys(g).join(',')}`);
    const embeddingGrad = await g[embeddingName]!.data();
    tf.dispose(Object.values(g));
    assert.equal(tf.memory().numTensors, before);
    tokens.dispose();
    model.dispose();
    return embeddingGrad;
  };
  const expected = await grads('cpu');
  assert.ok(maxRelativeError(await grads('wasm'), expected) <= TOLERANCE);
});
