/**
 * A conv layer as one op for input gradients (src/model/conv-for-gradient.ts): for conv and
 * depthwise filters, strides 1 and 2, 'same', 'valid' and explicit padding, with and without
 * bias, linear / plain ReLU / guided ReLU, its value and its input gradient on wasm equal the
 * unfused ops' on the cpu backend (conv, bias add, tfjs' relu or the guided ReLU's definition), it computes no weight
 * gradient, and it leaks nothing. Dilated convolutions are left to the unfused path.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { fusedConvForGradient, type ConvGeometry } from '../../src/model/conv-for-gradient.ts';
import type { ReluKind } from '../../src/model/relu-for-gradient.ts';
import { referenceRelu } from '../helpers/relu-reference.ts';
import { maxRelativeError, size, values } from '../helpers/kernel-check.ts';

const TOLERANCE = 1e-5;

before(async () => {
  await initBackend('wasm');
});

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  geometry: ConvGeometry;
  bias: boolean;
  relu: ReluKind | 'none';
}

function unfused(c: Case, x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D | undefined): tf.Tensor {
  const { depthwise, strides, padding } = c.geometry;
  let z: tf.Tensor = depthwise ? tf.depthwiseConv2d(x, filter, strides, padding) : tf.conv2d(x, filter, strides, padding);
  if (bias) z = tf.add(z, bias);
  return referenceRelu(c.relu, z);
}

/** The op's value and the gradient of Σ value · w with respect to x, on `backend`. */
async function run(backend: string, c: Case, fused: boolean): Promise<{ value: Float32Array; gradient: Float32Array; kernels: string[] }> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(values(size(c.x), 1), c.x);
  const filter = tf.tensor4d(values(size(c.filter), 2), c.filter);
  const outChannels = c.geometry.depthwise ? c.filter[2] * c.filter[3] : c.filter[3];
  const bias = c.bias ? tf.tensor1d(values(outChannels, 3)) : undefined;
  const apply = (input: tf.Tensor) => (fused ? fusedConvForGradient(input as tf.Tensor4D, filter, bias, c.geometry, c.relu)! : unfused(c, input as tf.Tensor4D, filter, bias));
  const value = tf.tidy(() => apply(x));
  const weights = tf.tensor(values(value.size, 4), value.shape);
  const profile = await tf.profile(() => tf.grad((input: tf.Tensor) => tf.sum(tf.mul(apply(input), weights)))(x));
  const result = { value: (await value.data()) as Float32Array, gradient: (await (profile.result as tf.Tensor).data()) as Float32Array, kernels: profile.kernels.map((k) => k.name) };
  tf.dispose([x, filter, bias, value, weights, profile.result as tf.Tensor]);
  assert.equal(tf.memory().numTensors, before, `${backend}: leaked tensors`);
  return result;
}

const CASES: Case[] = [];
for (const depthwise of [false, true]) {
  for (const [strides, padding] of [[1, 'same'], [2, 'valid'], [2, 'same']] as const) {
    for (const relu of ['none', 'plain', 'guided'] as const) {
      CASES.push({
        x: [2, 9, 8, 3],
        filter: depthwise ? [3, 3, 3, 2] : [3, 3, 3, 5],
        geometry: { depthwise, strides: [strides, strides], padding, dilation: 1 },
        bias: relu !== 'guided' || strides === 1,
        relu,
      });
    }
  }
}

// Explicit, uneven padding: a ZeroPadding2D folded into a 'valid' conv (conv-chain.ts).
for (const depthwise of [false, true]) {
  CASES.push({
    x: [2, 9, 8, 3],
    filter: depthwise ? [3, 3, 3, 2] : [3, 3, 3, 5],
    geometry: { depthwise, strides: [2, 2], padding: [[0, 0], [1, 2], [2, 1], [0, 0]], dilation: 1 },
    bias: true,
    relu: 'plain',
  });
}

for (const c of CASES) {
  const { depthwise, strides } = c.geometry;
  const padding = Array.isArray(c.geometry.padding) ? `explicit ${JSON.stringify(c.geometry.padding)}` : c.geometry.padding;
  test(`${depthwise ? 'depthwise' : 'conv'} stride ${strides[0]} ${padding}${c.bias ? ' bias' : ''} relu=${c.relu}: value and input gradient equal the unfused ops'`, async () => {
    const expected = await run('cpu', c, false);
    const actual = await run('wasm', c, true);
    assert.ok(maxRelativeError(actual.value, expected.value) <= TOLERANCE, `value: ${maxRelativeError(actual.value, expected.value)}`);
    assert.ok(maxRelativeError(actual.gradient, expected.gradient) <= TOLERANCE, `gradient: ${maxRelativeError(actual.gradient, expected.gradient)}`);
    assert.ok(!actual.kernels.some((k) => k.includes('BackpropFilter')), `no weight gradient: ${actual.kernels.join()}`);
    assert.ok(actual.kernels.includes(depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D'));
  });
}

test('a dilated convolution is left to the unfused path', () => {
  const x = tf.zeros([1, 8, 8, 2]) as tf.Tensor4D;
  const filter = tf.zeros([3, 3, 2, 4]) as tf.Tensor4D;
  assert.equal(fusedConvForGradient(x, filter, undefined, { depthwise: false, strides: [1, 1], padding: 'same', dilation: 2 }, 'plain'), undefined);
  tf.dispose([x, filter]);
});
