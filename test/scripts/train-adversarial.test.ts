/**
 * The adversarial-training pieces of `npm run train`: PGD and TRADES examples stay inside the
 * ε-ball and [0, 1] and raise the loss they maximise; the KL term equals the textbook sum; one
 * TRADES step trains and leaks no tensor. A tiny seeded network stands in for the real one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { seededRandom } from '../../src/datasets/seeded.ts';
import { klFrom, pgdExamples, tradesExamples } from '../../scripts/train-adversarial.ts';
import { tradesTrainStep } from '../../scripts/train-model.ts';

function tinyNetwork(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 1 }) }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return model;
}

function digits(n: number): Float32Array {
  const random = seededRandom('train-adversarial-test');
  return Float32Array.from({ length: n * 28 * 28 }, () => (random() < 0.2 ? random() : 0));
}

const kl = (model: tf.LayersModel, clean: Float32Array, other: Float32Array, n: number): number =>
  tf.tidy(() => {
    const p = tf.softmax(model.predict(tf.tensor4d(clean, [n, 28, 28, 1])) as tf.Tensor2D);
    return klFrom(p as tf.Tensor2D, model.predict(tf.tensor4d(other, [n, 28, 28, 1])) as tf.Tensor2D).dataSync()[0]!;
  });

function assertInBall(adversarial: Float32Array, clean: Float32Array, epsilon: number): void {
  for (let i = 0; i < clean.length; i++) {
    assert.ok(adversarial[i]! >= 0 && adversarial[i]! <= 1, `pixel ${i} out of [0, 1]: ${adversarial[i]}`);
    assert.ok(Math.abs(adversarial[i]! - clean[i]!) <= epsilon + 1e-6, `pixel ${i} moved ${adversarial[i]! - clean[i]!}`);
  }
}

test('klFrom is the batch mean of Σ p·(log p − log q)', async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  const p = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]];
  const logits = [[1, 0, -1], [0.5, 0.5, 0]];
  const expected = p.map((row, r) => {
    const z = logits[r]!.map(Math.exp);
    const sum = z.reduce((a, b) => a + b, 0);
    return row.reduce((acc, pi, i) => acc + pi * (Math.log(pi) - Math.log(z[i]! / sum)), 0);
  }).reduce((a, b) => a + b, 0) / 2;
  const got = tf.tidy(() => klFrom(tf.tensor2d(p), tf.tensor2d(logits)).dataSync()[0]!);
  assert.ok(Math.abs(got - expected) < 1e-5, `${got} vs ${expected}`);
  assert.equal(tf.memory().numTensors, before);
});

test('TRADES examples stay in the ε-ball and [0, 1] and raise the KL from the clean prediction; PGD ones too', async () => {
  await initBackend('wasm');
  const model = tinyNetwork();
  const before = tf.memory().numTensors;
  const n = 4;
  const clean = digits(n);
  const labels = Int32Array.from([0, 1, 2, 3]);
  const epsilon = 0.1;
  const start = tradesExamples(model, clean, epsilon, 0, seededRandom('a'));
  const trades = tradesExamples(model, clean, epsilon, 10, seededRandom('a'));
  assertInBall(trades, clean, epsilon);
  assert.ok(kl(model, clean, trades, n) > 10 * kl(model, clean, start, n), 'ten KL steps raise the KL far above the 0.001-noise start');
  // Same seed, same examples: a resumed run draws the same.
  assert.deepEqual(tradesExamples(model, clean, epsilon, 10, seededRandom('a')), trades);
  const pgd = pgdExamples(model, clean, labels, 10, epsilon, 10, seededRandom('b'));
  assertInBall(pgd, clean, epsilon);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('a TRADES step lowers the TRADES loss on its batch and leaks no tensor', async () => {
  await initBackend('wasm');
  const model = tinyNetwork();
  const optimizer = tf.train.adam(0.01);
  const n = 8;
  const clean = digits(n);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  const adversarial = tradesExamples(model, clean, 0.1, 5, seededRandom('c'));
  tradesTrainStep(model, optimizer, clean, adversarial, labels, 10, 6);
  const before = tf.memory().numTensors;
  const first = tradesTrainStep(model, optimizer, clean, adversarial, labels, 10, 6);
  let last = first;
  for (let i = 0; i < 10; i++) last = tradesTrainStep(model, optimizer, clean, adversarial, labels, 10, 6);
  assert.ok(last.loss < first.loss, `loss ${first.loss} → ${last.loss}`);
  assert.ok(last.correct >= 0 && last.correct <= n);
  assert.equal(tf.memory().numTensors, before);
  optimizer.dispose();
  model.dispose();
});
