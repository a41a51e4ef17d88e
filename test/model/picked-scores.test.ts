/**
 * Each image's class score as one op (src/model/picked-scores.ts): its values and its gradient with
 * respect to the logits equal tfjs' own ops (logSoftmax and a one-hot product) on the cpu and wasm
 * backends, for ordinary, large (saturated) and tied logits, as logit or log-probability; a class
 * outside the classes scores 0 with no gradient; nothing leaks, recorded or not.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { pickedScores, type PickedScore } from '../../src/model/picked-scores.ts';
import { values } from '../helpers/kernel-check.ts';

before(async () => {
  await initBackend('wasm');
});

function reference(logits: tf.Tensor2D, classes: number[], kind: PickedScore): tf.Tensor1D {
  const table = kind === 'logprob' ? tf.logSoftmax(logits) : logits;
  return tf.sum(tf.mul(table, tf.oneHot(tf.tensor1d(classes, 'int32'), logits.shape[1])), 1) as tf.Tensor1D;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const ROWS = [
  values(10, 1).map((v) => v * 3),
  values(10, 2).map((v, i) => (i === 4 ? 60 : v)), // saturated: p(4) rounds to 1 in float32
  new Float32Array(10).fill(0.5), // ties
  values(10, 3).map((v) => v * 20),
];
const CLASSES = [7, 4, 0, 9];

for (const backend of ['cpu', 'wasm']) {
  for (const kind of ['logprob', 'logit'] as const) {
    test(`${backend} ${kind}: values and gradients equal tfjs' logSoftmax and one-hot product`, async () => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const logits = tf.tensor2d(ROWS.flatMap((r) => Array.from(r)), [ROWS.length, 10]);
      const weights = tf.tensor1d([1, -2, 0.5, 3]);
      const [ours, theirs] = [pickedScores, reference].map((op) => {
        const { value, grad } = tf.valueAndGrad((z: tf.Tensor) => tf.sum(tf.mul(op(z as tf.Tensor2D, CLASSES, kind), weights)) as tf.Scalar)(logits);
        const scores = tf.tidy(() => op(logits, CLASSES, kind).dataSync());
        const out = { scores, total: value.dataSync()[0]!, grad: grad.dataSync() };
        tf.dispose([value, grad]);
        return out;
      });
      assert.ok(maxAbsDiff(ours!.scores, theirs!.scores) <= 1e-5, `scores ${Array.from(ours!.scores).join()} vs ${Array.from(theirs!.scores).join()}`);
      assert.ok(Math.abs(ours!.total - theirs!.total) <= 1e-5);
      assert.ok(maxAbsDiff(ours!.grad, theirs!.grad) <= 1e-6, `gradient differs by ${maxAbsDiff(ours!.grad, theirs!.grad)}`);
      if (kind === 'logprob') {
        // The saturated row: log p = 0 exactly and no gradient on its own logit, as in tfjs.
        assert.equal(ours!.scores[1], theirs!.scores[1]);
        assert.equal(ours!.grad[1 * 10 + 4], theirs!.grad[1 * 10 + 4]);
      }
      tf.dispose([logits, weights]);
      assert.equal(tf.memory().numTensors, before);
    });
  }
}

test('a class outside the classes scores 0 with no gradient; row and class counts must agree', async () => {
  await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  const logits = tf.tensor2d(values(2 * 5, 4), [2, 5]);
  for (const kind of ['logprob', 'logit'] as const) {
    const grad = tf.grad((z: tf.Tensor) => tf.sum(pickedScores(z as tf.Tensor2D, [5, 1], kind)))(logits);
    const rows = grad.arraySync() as number[][];
    assert.deepEqual(rows[0], [0, 0, 0, 0, 0]);
    assert.ok(rows[1]!.some((v) => v !== 0));
    assert.equal(tf.tidy(() => pickedScores(logits, [5, 1], kind).dataSync()[0]), 0);
    grad.dispose();
  }
  assert.throws(() => pickedScores(logits, [1], 'logit'), /1 classes for 2 rows/);
  logits.dispose();
  assert.equal(tf.memory().numTensors, before);
});
