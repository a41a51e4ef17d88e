/**
 * The unfused forward used while a gradient is recorded (src/model/gradient-forward.ts): on a table
 * of Sequential and functional (residual) models with conv/depthwise/dense layers of every
 * activation, batch norm, ReLU6, padding and pooling, it gives `predict`'s values, its input
 * gradient (through ImageModel.logits, on wasm) matches the cpu backend's gradient of plain
 * `predict`, it runs convolutions fused and never computes weight gradients or tfjs' FusedBatchNorm
 * gradient (nor, with the native addon, a ReLU's two-kernel backward pass), and it leaks
 * nothing; conv -> batch norm pairs run folded (refolded when a weight changes, released with the
 * model). Models it cannot follow (shared layers) keep using `predict`.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../src/backend/index.ts';
import { hasReluBackpropKernel } from '../../src/backend/relu-backprop.ts';
import { GradientForward } from '../../src/model/gradient-forward.ts';
import { ImageModel } from '../../src/model/image-model.ts';
import { manifestFor } from '../helpers/tiny-models.ts';
import { maxRelativeError, values } from '../helpers/kernel-check.ts';

const TOLERANCE = 1e-5;
type Shape3 = [number, number, number];

type SymbolicTensor = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: SymbolicTensor | SymbolicTensor[]) => layer.apply(x) as SymbolicTensor;

/** Conv(linear, no bias) → BN → ReLU, depthwise → BN → ReLU6, strided conv with padding, residual add. */
function residualNet(): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 3] });
  let x = apply(tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false }), input);
  x = apply(tf.layers.batchNormalization({ epsilon: 1e-3 }), x);
  x = apply(tf.layers.activation({ activation: 'relu' }), x);
  const shortcut = x;
  let y = apply(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }), x);
  y = apply(tf.layers.batchNormalization({}), y);
  y = apply(tf.layers.reLU({ maxValue: 6 }), y);
  y = apply(tf.layers.conv2d({ filters: 8, kernelSize: 1, activation: 'linear' }), y);
  x = apply(tf.layers.add(), [y, shortcut]);
  x = apply(tf.layers.zeroPadding2d({ padding: 1 }), x);
  x = apply(tf.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu6' }), x);
  x = apply(tf.layers.maxPooling2d({ poolSize: 2 }), x);
  x = apply(tf.layers.globalAveragePooling2d({}), x);
  x = apply(tf.layers.dense({ units: 5, activation: 'linear' }), x);
  return tf.model({ inputs: input, outputs: x });
}

/** Sequential: conv relu, pool, conv linear, BN, ReLU layer, flatten, dense relu, dropout, dense softmax. */
function sequentialNet(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [10, 10, 2], filters: 6, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 4, kernelSize: 2, padding: 'same' }),
      tf.layers.batchNormalization({}),
      tf.layers.reLU(),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'relu' }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 4, activation: 'softmax' }),
    ],
  });
}

const MODELS: { name: string; build: () => tf.LayersModel; shape: Shape3; output: 'logits' | 'probabilities' }[] = [
  { name: 'residual functional model', build: residualNet, shape: [12, 12, 3], output: 'logits' },
  { name: 'sequential model', build: sequentialNet, shape: [10, 10, 2], output: 'probabilities' },
];

/** The model with seeded weights (batch-norm variances positive). */
function withWeights(build: () => tf.LayersModel): tf.LayersModel {
  const net = build();
  const names = net.weights.map((w) => w.name);
  net.setWeights(net.getWeights().map((w, i) => {
    const v = values(w.size, 50 + i);
    return tf.tensor(names[i]!.includes('variance') ? v.map((x) => 0.5 + Math.abs(x)) : v, w.shape);
  }));
  return net;
}

before(async () => {
  await initBackend('wasm');
});

for (const spec of MODELS) {
  test(`${spec.name}: the unfused forward gives predict's values`, async () => {
    await tf.setBackend('wasm');
    const net = withWeights(spec.build);
    const runner = GradientForward.forModel(net);
    assert.ok(runner, 'the model can be followed');
    const x = tf.tensor4d(values(3 * spec.shape.reduce((a, b) => a * b, 1), 7), [3, ...spec.shape]);
    const before = tf.memory().numTensors;
    const [expected, actual] = tf.tidy(() => [net.predict(x) as tf.Tensor, runner.run(x)]);
    assert.ok(maxRelativeError(await actual.data(), await expected.data()) <= TOLERANCE);
    tf.dispose([expected, actual]);
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    net.dispose();
  });

  test(`${spec.name}: input gradient through ImageModel.logits matches the cpu backend's predict`, async () => {
    const gradient = async (backend: string, unfused: boolean) => {
      await tf.setBackend(backend);
      const net = withWeights(spec.build);
      const model = new ImageModel({ ...manifestFor('t', spec.shape, ['a', 'b', 'c', 'd', 'e'].slice(0, net.outputs[0]!.shape[1]!)), output: spec.output }, net, 'memory');
      const x = tf.tensor4d(values(2 * spec.shape.reduce((a, b) => a * b, 1), 8), [2, ...spec.shape]);
      const logits = (v: tf.Tensor) => (unfused ? model.logits(v as tf.Tensor4D) : model.logitsFromOutput(net.predict(v) as tf.Tensor));
      const loss = (v: tf.Tensor) => tf.sum(tf.mul(logits(v), tf.tensor1d(values(net.outputs[0]!.shape[1]!, 9))));
      const before = tf.memory().numTensors;
      const profile = await tf.profile(() => tf.grad(loss)(x));
      const kernels = profile.kernels.map((k) => k.name);
      tf.dispose(profile.result);
      const g = tf.grad(loss)(x);
      const data = await g.data();
      g.dispose();
      assert.equal(tf.memory().numTensors, before, `${backend}: leaked tensors`);
      x.dispose();
      model.dispose();
      return { data, kernels };
    };
    const expected = await gradient('cpu', false);
    const actual = await gradient('wasm', true);
    assert.ok(maxRelativeError(actual.data, expected.data) <= TOLERANCE, `max relative error ${maxRelativeError(actual.data, expected.data)}`);
    // Convolutions and dense layers run fused forward (conv-for-gradient.ts, dense-for-gradient.ts)
    // with an input-only gradient; tfjs' own fused ops would compute weight gradients.
    for (const wasteful of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'FusedBatchNorm', 'Conv2D', 'DepthwiseConv2dNative']) {
      assert.ok(!actual.kernels.includes(wasteful), `the recorded gradient ran ${wasteful}`);
    }
    assert.ok(actual.kernels.includes('FusedConv2D') || actual.kernels.includes('FusedDepthwiseConv2D'), 'convolutions run fused');
    // Each dense layer: one fused product forward and one product backward (its input's gradient;
    // a weight gradient would be a second).
    const count = (name: string) => actual.kernels.filter((k) => k === name).length;
    const probe = spec.build();
    const dense = probe.layers.filter((l) => l.getClassName() === 'Dense').length;
    probe.dispose();
    assert.equal(count('_FusedMatMul'), dense, 'dense layers run fused forward');
    assert.equal(count('BatchMatMul'), dense, 'dense layers compute their input\'s gradient only');
    // With the native addon, every ReLU's backward pass is one kernel: the only dy · step(x) left
    // are ReLU6's (tfjs' relu6 gradient), one per Relu6.
    if (hasReluBackpropKernel()) assert.ok(count('Step') <= count('Relu6'), `a ReLU ran its two-kernel backward pass: ${actual.kernels.join()}`);
  });
}

test('batch norm without beta: the unfused gradient works where tfjs\' own fails', async () => {
  // tfjs 4.22's FusedBatchNorm gradient fails ("Cannot read properties of undefined (reading 'id')")
  // when the layer has no offset; the reference is the same model with β = 0, on the cpu backend.
  const build = (center: boolean) => tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, useBias: false }),
      tf.layers.batchNormalization({ center }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 2 }),
    ],
  });
  // The same weights by role in both models (their weight order differs), β = 0.
  const ROLES = ['conv', 'gamma', 'moving_mean', 'moving_variance', 'dense_Dense', 'bias'];
  const valueFor = (name: string, n: number): Float32Array => {
    if (name.includes('beta')) return new Float32Array(n);
    const role = ROLES.findIndex((r) => name.includes(r) && (r !== 'dense_Dense' || name.endsWith('kernel')));
    const v = values(n, 70 + role);
    return name.includes('variance') ? v.map((x) => 1 + Math.abs(x)) : v;
  };
  const grad = async (backend: string, center: boolean) => {
    await tf.setBackend(backend);
    const net = build(center);
    net.setWeights(net.weights.map((w) => {
      const shape = w.shape as number[];
      return tf.tensor(valueFor(w.name, shape.reduce((p, q) => p * q, 1)), shape);
    }));
    const x = tf.tensor4d(values(2 * 72, 3), [2, 6, 6, 2]);
    const forward = center ? (v: tf.Tensor) => net.predict(v) as tf.Tensor : (v: tf.Tensor) => GradientForward.forModel(net)!.run(v);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(forward(v), tf.tensor1d([1, -2]))))(x);
    const data = await g.data();
    tf.dispose([g, x]);
    net.dispose();
    return data;
  };
  const expected = await grad('cpu', true);
  const actual = await grad('wasm', false);
  assert.ok(maxRelativeError(actual, expected) <= TOLERANCE, `max relative error ${maxRelativeError(actual, expected)}`);
});

test('a model with a shared layer keeps using predict', async () => {
  await tf.setBackend('wasm');
  const input = tf.input({ shape: [4] });
  const shared = tf.layers.dense({ units: 4, activation: 'relu' });
  const out = apply(tf.layers.dense({ units: 2 }), apply(shared, apply(shared, input)));
  const net = tf.model({ inputs: input, outputs: out });
  assert.equal(GradientForward.forModel(net), undefined);
  net.dispose();
});

test('conv -> batch norm runs as one conv with folded weights, refolded when a weight changes', async () => {
  await tf.setBackend('wasm');
  const net = withWeights(residualNet);
  const runner = GradientForward.forModel(net)!;
  const x = tf.tensor4d(values(2 * 12 * 12 * 3, 11), [2, 12, 12, 3]);
  // Per call, nothing of the batch norms is computed any more: no rsqrt of the variances, and
  // one multiply per ReLU-free path fewer.
  const profile = await tf.profile(() => runner.run(x));
  tf.dispose(profile.result);
  assert.ok(!profile.kernels.some((k) => k.name === 'Rsqrt'), 'the batch norms were folded');
  // The zero padding before the strided conv is the conv's own padding, and the ReLU after
  // conv → batch norm is the fused conv's: no PadV2, and only the ReLU after the residual add runs alone.
  assert.ok(!profile.kernels.some((k) => k.name === 'PadV2'), 'the zero padding was folded');
  assert.equal(profile.kernels.filter((k) => k.name === 'Relu').length, 0, 'the ReLU after the batch norm was fused');
  // Changing a batch-norm variable (as training or setWeights does) refolds on the next call.
  const bn = net.layers.find((l) => l.getClassName() === 'BatchNormalization')!;
  bn.setWeights(bn.getWeights().map((w, i) => tf.add(w, 0.25 * (i + 1))));
  const [expected, actual] = tf.tidy(() => [net.predict(x) as tf.Tensor, runner.run(x)]);
  assert.ok(maxRelativeError(await actual.data(), await expected.data()) <= TOLERANCE);
  tf.dispose([expected, actual, x]);
  runner.dispose();
  net.dispose();
});

test('an ImageModel holds its folded weights from construction and releases them on dispose', async () => {
  await tf.setBackend('wasm');
  const net = withWeights(residualNet);
  const variables = net.weights.length;
  const withNet = tf.memory().numTensors;
  const model = new ImageModel({ ...manifestFor('t', [12, 12, 3], ['a', 'b', 'c', 'd', 'e']), output: 'logits' }, net, 'memory');
  assert.equal(tf.memory().numTensors, withNet + 4, 'two folds, a kernel and a bias each');
  model.dispose();
  assert.equal(tf.memory().numTensors, withNet - variables, 'the folds and the network\'s variables are released');
});

test('reading or replacing a layer inside a conv chain runs that chain layer by layer, with the same values', async () => {
  await tf.setBackend('wasm');
  const net = withWeights(residualNet);
  const runner = GradientForward.forModel(net)!;
  const x = tf.tensor4d(values(2 * 12 * 12 * 3, 12), [2, 12, 12, 3]);
  const before = tf.memory().numTensors;
  const names = net.layers.map((l) => l.name);
  const bnName = names.find((n) => n.startsWith('batch_normalization'))!;
  const padName = names.find((n) => n.startsWith('zero_padding2d'))!;
  tf.tidy(() => {
    // The batch norm's output exists only when its chain runs unfolded: read it, and compare with
    // a sub-model of the same layers.
    const captured = runner.forward(x, { capture: bnName }).captured!;
    const reference = tf.model({ inputs: net.inputs, outputs: net.getLayer(bnName).output }).predict(x) as tf.Tensor;
    assert.ok(maxRelativeError(captured.dataSync(), reference.dataSync()) <= TOLERANCE, 'captured batch-norm output');
    // Replacing the padded tensor by itself gives the model's output (the conv then pads nothing itself).
    const padded = runner.forward(x, { capture: padName }).captured!;
    assert.deepEqual(padded.shape, [2, 14, 14, 8]);
    const output = runner.forward(x, { substitute: { name: padName, value: padded } }).output!;
    assert.ok(maxRelativeError(output.dataSync(), (net.predict(x) as tf.Tensor).dataSync()) <= TOLERANCE, 'output through a replaced padding');
  });
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  runner.dispose();
  net.dispose();
});

test('ImageModel\'s plain forward pass runs the gradient forward: predict\'s values, batch norms folded, no padding copies', async () => {
  await tf.setBackend('wasm');
  const net = withWeights(residualNet);
  const model = new ImageModel({ ...manifestFor('t', [12, 12, 3], ['a', 'b', 'c', 'd', 'e']), output: 'logits' }, net, 'memory');
  const images = [values(12 * 12 * 3, 13), values(12 * 12 * 3, 14)];
  const before = tf.memory().numTensors;
  const profile = await tf.profile(() => tf.tidy(() => model.logits(model.batchTensor(images))));
  const logits = await (profile.result as tf.Tensor).data();
  tf.dispose(profile.result as tf.Tensor);
  const kernels = profile.kernels.map((k) => k.name);
  for (const skipped of ['FusedBatchNorm', 'PadV2', 'Rsqrt']) assert.ok(!kernels.includes(skipped), `the plain forward ran ${skipped}`);
  const expected = tf.tidy(() => (net.predict(model.batchTensor(images)) as tf.Tensor).dataSync());
  assert.ok(maxRelativeError(logits, expected) <= TOLERANCE);
  const probabilities = model.predictProbabilities(images);
  assert.ok(Math.abs(probabilities[0]!.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});
