/**
 * One-hot class masks built on the host (src/model/class-mask.ts): the same values as tfjs'
 * `oneHot`, as float32, a zero row for an index outside the classes, and the class scores picked
 * with it unchanged to the bit (the product is with exact ones and zeros).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { classMask } from '../../src/model/class-mask.ts';

before(async () => {
  await initBackend('wasm');
});

test('classMask equals tf.oneHot as float32, picks the same scores, and leaks nothing', () => {
  const before = tf.memory().numTensors;
  const classes = [3, 0, 9, 9, 5, 1];
  tf.tidy(() => {
    const mask = classMask(classes, 10);
    assert.equal(mask.dtype, 'float32');
    assert.deepEqual(mask.shape, [6, 10]);
    assert.deepEqual(mask.arraySync(), tf.oneHot(tf.tensor1d(classes, 'int32'), 10).arraySync());
    const logits = tf.randomNormal([6, 10], 0, 5, 'float32', 7);
    const picked = tf.sum(tf.mul(tf.logSoftmax(logits), mask), 1).dataSync();
    const reference = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(classes, 'int32'), 10)), 1).dataSync();
    assert.deepEqual(Array.from(picked), Array.from(reference));
  });
  assert.equal(tf.memory().numTensors, before);
});

test('classMask gives a zero row for a class outside [0, depth), as tf.oneHot does', () => {
  tf.tidy(() => {
    const rows = classMask([-1, 4, 2.5, 1], 4).arraySync();
    assert.deepEqual(rows, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]]);
    assert.deepEqual(tf.oneHot(tf.tensor1d([-1, 4], 'int32'), 4).arraySync(), [[0, 0, 0, 0], [0, 0, 0, 0]]);
  });
});
