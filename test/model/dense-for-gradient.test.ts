/**
 * A dense layer as one op for input gradients (src/model/dense-for-gradient.ts): with and without
 * bias, linear / plain ReLU / guided ReLU, at batch 1 and 5, its value and its input gradient on
 * wasm equal the unfused ops' on the cpu backend (matMul, bias add, tfjs' relu or the guided
 * ReLU's definition); it runs one fused product forward and one product backward (no weight or
 * bias gradient), gives the same value with nothing recorded, and leaks nothing.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { denseForGradient } from '../../src/model/dense-for-gradient.ts';
import type { ReluKind } from '../../src/model/relu-for-gradient.ts';
import { referenceRelu } from '../helpers/relu-reference.ts';
import { maxRelativeError, values } from '../helpers/kernel-check.ts';

const TOLERANCE = 1e-5;

before(async () => {
  await initBackend('wasm');
});

interface Case {
  rows: number;
  features: number;
  units: number;
  bias: boolean;
  relu: ReluKind | 'none';
}

function unfused(c: Case, x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D | undefined): tf.Tensor {
  let z: tf.Tensor = tf.matMul(x, kernel);
  if (bias) z = tf.add(z, bias);
  return referenceRelu(c.relu, z);
}

async function run(backend: string, c: Case, fused: boolean) {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const x = tf.tensor2d(values(c.rows * c.features, 1), [c.rows, c.features]);
  const kernel = tf.tensor2d(values(c.features * c.units, 2), [c.features, c.units]);
  const bias = c.bias ? tf.tensor1d(values(c.units, 3)) : undefined;
  const apply = (input: tf.Tensor) => (fused ? denseForGradient(input as tf.Tensor2D, kernel, bias, c.relu)! : unfused(c, input as tf.Tensor2D, kernel, bias));
  const value = tf.tidy(() => apply(x));
  const weights = tf.tensor(values(value.size, 4), value.shape);
  const profile = await tf.profile(() => tf.grad((input: tf.Tensor) => tf.sum(tf.mul(apply(input), weights)))(x));
  const result = { value: (await value.data()) as Float32Array, gradient: (await (profile.result as tf.Tensor).data()) as Float32Array, kernels: profile.kernels.map((k) => k.name) };
  tf.dispose([x, kernel, bias, value, weights, profile.result as tf.Tensor]);
  assert.equal(tf.memory().numTensors, before, `${backend}: leaked tensors`);
  return result;
}

const CASES: Case[] = [];
for (const rows of [1, 5]) {
  for (const relu of ['none', 'plain', 'guided'] as const) {
    for (const bias of [true, false]) CASES.push({ rows, features: 37, units: 11, bias, relu });
  }
}

for (const c of CASES) {
  test(`dense batch ${c.rows}${c.bias ? ' bias' : ''} relu=${c.relu}: value and input gradient equal the unfused ops'`, async () => {
    const expected = await run('cpu', c, false);
    const actual = await run('wasm', c, true);
    assert.ok(maxRelativeError(actual.value, expected.value) <= TOLERANCE, `value: ${maxRelativeError(actual.value, expected.value)}`);
    assert.ok(maxRelativeError(actual.gradient, expected.gradient) <= TOLERANCE, `gradient: ${maxRelativeError(actual.gradient, expected.gradient)}`);
    const count = (name: string) => actual.kernels.filter((k) => k === name).length;
    assert.equal(count('_FusedMatMul'), 1, `one fused product forward: ${actual.kernels.join()}`);
    assert.equal(count('BatchMatMul'), 1, `one product backward, no weight gradient: ${actual.kernels.join()}`);
  });
}

test('with nothing recorded the dense op is the fused product alone, with the same value', async () => {
  await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const x = tf.tensor2d(values(3 * 8, 5), [3, 8]);
    const kernel = tf.tensor2d(values(8 * 4, 6), [8, 4]);
    const bias = tf.tensor1d(values(4, 7));
    const value = denseForGradient(x, kernel, bias, 'plain')!;
    assert.deepEqual(Array.from(value.dataSync()), Array.from(tf.relu(tf.add(tf.matMul(x, kernel), bias)).dataSync()));
    assert.equal(denseForGradient(tf.cast(x, 'int32') as tf.Tensor2D, kernel, bias, 'none'), undefined, 'non-float input is left to the unfused path');
  });
  assert.equal(tf.memory().numTensors, before);
});
