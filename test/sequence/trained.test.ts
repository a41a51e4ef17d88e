/**
 * Trained (tf.LayersModel) sequence models on tiny random networks: per-step outputs and traces,
 * language-model scores, and per-token gradient attribution checked against finite differences.
 * No call leaves a tensor behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { GradlabError } from '../../src/errors.ts';
import { initBackend } from '../../src/backend/index.ts';
import { parseSequenceManifest } from '../../src/sequence/manifest.ts';
import { explainSequence } from '../../src/sequence/explain.ts';
import { makeVocabulary } from '../../src/sequence/input.ts';
import { scoreSequence } from '../../src/sequence/score.ts';
import { TrainedRnn } from '../../src/sequence/trained-rnn.ts';
import { TEST_BACKEND } from '../helpers/build.ts';

function noLeak<T>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const out = fn();
  assert.equal(tf.memory().numTensors, before, 'leaked tensors');
  return out;
}

function gruNet(first: tf.layers.Layer | undefined, inputShape: (number | null)[], classes: number): tf.Sequential {
  const net = tf.sequential();
  if (first) net.add(first);
  net.add(tf.layers.gru({
    units: 5, returnSequences: true, recurrentActivation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    recurrentInitializer: tf.initializers.glorotUniform({ seed: 2 }), ...(first ? {} : { inputShape }),
  }));
  net.add(tf.layers.dense({ units: classes, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  return net;
}

function bitsClassifier(): TrainedRnn {
  const manifest = parseSequenceManifest({
    name: 'bits', kind: 'sequence', task: 'classifier', format: 'layers', input: { type: 'bits' }, labels: ['even', 'odd'],
  }, 'bits.json');
  return new TrainedRnn(manifest, gruNet(undefined, [null, 1], 2), 'test');
}

test('trained classifier: per-step probabilities, prediction and trace', async (t) => {
  await initBackend(TEST_BACKEND);
  const model = bitsClassifier();
  t.after(() => model.dispose());
  const r = noLeak(() => scoreSequence(model, '10110', { trace: true, maxLength: 100 }));
  assert.equal(r.outputs.length, 5);
  for (const o of r.outputs as number[][]) assert.ok(Math.abs(o[0]! + o[1]! - 1) < 1e-5);
  const last = (r.outputs as number[][])[4]!;
  const p = r.prediction as { label: string; index: number; probability: number };
  assert.equal(p.index, last[1]! > last[0]! ? 1 : 0);
  assert.ok(Math.abs(p.probability - Math.max(...last)) < 1e-6);
  assert.equal(r.steps!.length, 5);
  assert.equal(r.steps![0]!.hidden.length, 5);
  assert.deepEqual(r.hiddenUnits, ['h1', 'h2', 'h3', 'h4', 'h5']);
});

test('gradient attribution matches finite differences and names bad targets', async (t) => {
  await initBackend(TEST_BACKEND);
  const model = bitsClassifier();
  t.after(() => model.dispose());
  const bits = [1, 0, 1, 1, 0, 1];
  const e = noLeak(() => explainSequence(model, bits, { target: 'odd', maxLength: 100 }));
  assert.equal(e.target.label, 'odd');
  assert.equal(e.tokens.length, bits.length);
  // log p(odd) at the last step, as a function of the input values.
  const score = (xs: number[]) => tf.tidy(() => {
    const out = model.net.predict(tf.tensor3d(xs, [1, xs.length, 1])) as tf.Tensor;
    return tf.logSoftmax(out.slice([0, xs.length - 1, 0], [1, 1, 2]).reshape([2])).dataSync()[1]!;
  });
  const h = 1e-2;
  bits.forEach((b, i) => {
    const up = [...bits];
    up[i] = b + h;
    const down = [...bits];
    down[i] = b - h;
    const numeric = (score(up) - score(down)) / (2 * h);
    assert.ok(Math.abs(e.tokens[i]!.gradientNorm - Math.abs(numeric)) < 2e-3, `step ${i}: ${e.tokens[i]!.gradientNorm} vs ${numeric}`);
    // gradient × input: zero where the bit is 0.
    assert.ok(Math.abs(e.tokens[i]!.attribution - numeric * b) < 2e-3);
  });
  assert.throws(() => explainSequence(model, bits, { target: 'maybe', maxLength: 100 }),
    (err: unknown) => err instanceof GradlabError && err.field === 'target' && err.statusCode === 400);
});

test('word classifier with an Embedding: attribution per word, unknown words map to <unk>', async (t) => {
  await initBackend(TEST_BACKEND);
  const vocab = ['<unk>', 'free', 'money', 'meeting', 'today', '!'];
  const manifest = parseSequenceManifest({
    name: 'words', kind: 'sequence', task: 'classifier', format: 'layers', labels: ['ham', 'spam'],
    input: { type: 'words', encoding: 'ids', vocabulary: vocab, unknown: '<unk>', lowercase: true },
  }, 'words.json');
  const net = gruNet(tf.layers.embedding({ inputDim: vocab.length, outputDim: 4, inputShape: [null], embeddingsInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 4 }) }), [null], 2);
  const model = new TrainedRnn(manifest, net, 'test', makeVocabulary(vocab));
  t.after(() => model.dispose());
  const e = noLeak(() => explainSequence(model, 'FREE money today, Zebra!', { maxLength: 100 }));
  assert.deepEqual(e.tokens.map((x) => x.token), ['free', 'money', 'today', 'zebra', '!']);
  assert.ok(e.tokens.every((x) => Number.isFinite(x.attribution) && x.gradientNorm > 0));
  assert.equal(e.prediction.index, e.target.index);
  const s = noLeak(() => scoreSequence(model, 'free money', { maxLength: 100 }));
  assert.equal(s.length, 2);
});

test('language model: per-token log-probabilities, bits per token and perplexity agree', async (t) => {
  await initBackend(TEST_BACKEND);
  const vocab = ['\n', ' ', 'a', 'b', 'c'];
  const manifest = parseSequenceManifest({
    name: 'lm', kind: 'sequence', task: 'language-model', format: 'layers',
    input: { type: 'characters', encoding: 'one-hot', vocabulary: vocab, context: '\n' },
  }, 'lm.json');
  const model = new TrainedRnn(manifest, gruNet(undefined, [null, vocab.length], vocab.length), 'test', makeVocabulary(vocab));
  t.after(() => model.dispose());
  const r = noLeak(() => scoreSequence(model, 'abc ab', { trace: true, maxLength: 100 }));
  assert.equal(r.tokens!.length, 6);
  assert.deepEqual(r.tokens!.map((x) => x.token), [...'abc ab']);
  const sum = r.tokens!.reduce((s, x) => s + x.logProb, 0);
  assert.ok(Math.abs(sum - r.logProb!) < 1e-9);
  assert.ok(Math.abs(r.bitsPerToken! - -sum / 6 / Math.LN2) < 1e-9);
  assert.ok(Math.abs(r.perplexity! - 2 ** r.bitsPerToken!) < 1e-6);
  assert.ok(r.tokens!.every((x) => x.logProb < 0));
  // The trace starts with the context token; outputs are next-token predictions.
  assert.equal(r.steps!.length, 7);
  assert.equal(r.steps![0]!.input, '\n');
  assert.ok(vocab.includes((r.prediction as { token: string }).token));
  assert.throws(() => scoreSequence(model, 'abz', { maxLength: 100 }),
    (err: unknown) => err instanceof GradlabError && err.field === 'sequence[2]' && /"z" is not in the model's vocabulary/.test(err.message));
  assert.throws(() => explainSequence(model, 'ab', { maxLength: 100 }),
    (err: unknown) => err instanceof GradlabError && err.code === 'GRADLAB_UNSUPPORTED_OPERATION');
});
