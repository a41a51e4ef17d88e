/**
 * How gradlab's wasm gradient kernels are put in place (idempotent, stock kernels kept reachable),
 * and that they make real work possible on wasm: one training step of a tiny conv net matches the
 * cpu backend, and the input gradient of a conv -> batch-norm -> relu model runs.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../../src/backend/index.ts';
import {
  GRADLAB_WASM_KERNEL_NAMES, registerWasmGradientKernels, stockWasmKernel,
} from '../../../src/backend/kernels/index.ts';
import { maxRelativeError, values } from '../../helpers/kernel-check.ts';

const TOLERANCE = 1e-5;

before(async () => {
  await initBackend('wasm');
});

test('registration is idempotent and lists the kernels in place', () => {
  const first = registerWasmGradientKernels();
  const funcs = first.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc);
  const second = registerWasmGradientKernels();
  assert.deepEqual(second, first);
  assert.deepEqual(first.sort(), [...GRADLAB_WASM_KERNEL_NAMES].sort());
  assert.deepEqual(second.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc), funcs);
  for (const name of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropInput',
    'DepthwiseConv2dNativeBackpropFilter', 'UnsortedSegmentSum']) {
    assert.ok(first.includes(name), `${name} is registered`);
  }
});

test('the replaced stock Conv2DBackpropInput stays reachable; added kernels have no stock one', () => {
  const stock = stockWasmKernel('Conv2DBackpropInput');
  assert.ok(stock);
  assert.notEqual(stock, tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc);
  assert.equal(stockWasmKernel('Conv2DBackpropFilter'), undefined);
  assert.equal(stockWasmKernel('UnsortedSegmentSum'), undefined);
});

/** A tiny conv net with fixed weights: conv 3x3 stride 1 'same' -> relu -> flatten -> dense. */
function tinyConvNet(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' }),
      tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'valid' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(values(w.size, 100 + i), w.shape)));
  return model;
}

async function trainOneStep(backend: string): Promise<{ weights: Float32Array[]; losses: number[] }> {
  await tf.setBackend(backend);
  const model = tinyConvNet();
  const xs = tf.tensor4d(values(4 * 8 * 8 * 2, 7), [4, 8, 8, 2]);
  const ys = tf.oneHot(tf.tensor1d([0, 2, 1, 2], 'int32'), 3);
  const optimizer = tf.train.sgd(0.5);
  const loss = () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs) as tf.Tensor) as tf.Scalar;
  const losses: number[] = [];
  const tensorCounts: number[] = [];
  for (let step = 0; step < 3; step++) {
    const value = optimizer.minimize(loss, true);
    losses.push((await value!.data())[0]!);
    value!.dispose();
    tensorCounts.push(tf.memory().numTensors);
  }
  // The first step may create optimizer state; after it, a step must not grow the tensor count.
  assert.equal(tensorCounts[2], tensorCounts[1], `${backend}: a training step leaked tensors`);
  const weights = await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
  tf.dispose([xs, ys]);
  optimizer.dispose();
  model.dispose();
  return { weights, losses };
}

test('training a tiny conv net on wasm matches the cpu backend step for step', async () => {
  const expected = await trainOneStep('cpu');
  const actual = await trainOneStep('wasm');
  assert.ok(actual.losses[2]! < actual.losses[0]!, `loss went down: ${actual.losses.join(',')}`);
  assert.ok(maxRelativeError(actual.losses, expected.losses) <= TOLERANCE);
  actual.weights.forEach((w, i) => {
    assert.ok(maxRelativeError(w, expected.weights[i]!) <= 1e-4, `weight ${i}: ${maxRelativeError(w, expected.weights[i]!)}`);
  });
});

test('input gradient of a conv -> batch-norm -> relu model runs on wasm', async () => {
  const inputGradient = async (backend: string) => {
    await tf.setBackend(backend);
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [10, 10, 3], filters: 6, kernelSize: 3, padding: 'same', useBias: false }),
        tf.layers.batchNormalization(),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same' }),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 4 }),
      ],
    });
    const names = model.weights.map((v) => v.name); // same order as getWeights()
    model.setWeights(model.getWeights().map((w, i) =>
      (names[i]!.includes('variance') ? tf.onesLike(w) : tf.tensor(values(w.size, 200 + i), w.shape))));
    const x = tf.tensor4d(values(2 * 10 * 10 * 3, 9), [2, 10, 10, 3]);
    const before = tf.memory().numTensors;
    const g = tf.grad((xv: tf.Tensor) => (model.predict(xv) as tf.Tensor).sum())(x);
    const data = await g.data();
    g.dispose();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    model.dispose();
    return data;
  };
  const expected = await inputGradient('cpu');
  assert.ok(maxRelativeError(await inputGradient('wasm'), expected) <= TOLERANCE);
});
