import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { misclassification, subsetCriterion, targetedMisclassification } from '../../src/attacks/criteria.ts';

await initBackend(process.env.GRADLAB_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm');

// softmax([0, ln 3]) = [0.25, 0.75]; softmax([ln 4, 0]) = [0.8, 0.2].
const logits = () => tf.tensor2d([[0, Math.log(3)], [Math.log(4), 0]]);
const lossOf = (loss: (l: tf.Tensor2D) => tf.Tensor1D) => {
  const t = tf.tidy(() => loss(logits()));
  const values = Array.from(t.dataSync());
  t.dispose();
  return values;
};

test('misclassification: any other class; the loss is the cross-entropy of the true label', () => {
  const c = misclassification([1, 1]);
  assert.equal(c.targeted, false);
  assert.deepEqual([c.isAdversarial(0, 0), c.isAdversarial(1, 0), c.isAdversarial(1, 1)], [true, false, false]);
  const [a, b] = lossOf(c.loss);
  assert.ok(Math.abs(a! + Math.log(0.75)) < 1e-5 && Math.abs(b! + Math.log(0.2)) < 1e-5, `${a}, ${b}`);
});

test('targeted: only the target class; the loss is its log-probability', () => {
  const c = targetedMisclassification([0, 0]);
  const before = tf.memory().numTensors;
  assert.equal(c.targeted, true);
  assert.deepEqual([c.isAdversarial(0, 0), c.isAdversarial(1, 0)], [true, false]);
  const [a, b] = lossOf(c.loss);
  assert.ok(Math.abs(a! - Math.log(0.25)) < 1e-5 && Math.abs(b! - Math.log(0.8)) < 1e-5, `${a}, ${b}`);
  assert.equal(tf.memory().numTensors, before);
});

test('subsetCriterion keeps the kind and the classes of the chosen images', () => {
  const sub = subsetCriterion(misclassification([4, 5, 6]), [2, 0]);
  assert.deepEqual([sub.targeted, sub.classes], [false, [6, 4]]);
  assert.equal(sub.isAdversarial(6, 0), false);
  const targeted = subsetCriterion(targetedMisclassification([1, 2, 3]), [1]);
  assert.deepEqual([targeted.targeted, targeted.classes], [true, [2]]);
});
