/**
 * The shipped trained sequence models still do what their manifests say, loaded from models/ on
 * wasm, without leaking tensors: rnn-parity-trained on fresh strings of its training length,
 * char-lm on a held-out Moby Dick excerpt (better than the bigram baseline), spam-rnn on held-out
 * mails. Each is skipped while its folder is missing (not trained yet).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { seededRandom } from '../../src/datasets/seeded.ts';
import { loadMobyDick, loadSpamAssassin } from '../../src/datasets/text-corpora.ts';
import { initBackend } from '../../src/backend/index.ts';
import { loadSequenceModelFromDir } from '../../src/sequence/loader.ts';
import { charLmBitsPerChar, parityAccuracy, spamMetrics } from '../../scripts/lib/sequence-data.ts';
import { TEST_BACKEND } from '../helpers/build.ts';

const missing = (name: string) => (existsSync(`models/${name}/manifest.json`) ? false : `models/${name} not trained yet`);

async function load(t: import('node:test').TestContext, name: string) {
  await initBackend(TEST_BACKEND);
  const model = await loadSequenceModelFromDir(`models/${name}`);
  t.after(() => model.dispose());
  return model;
}

test('rnn-parity-trained: >= 99% on fresh strings of length 20', { skip: missing('rnn-parity-trained') }, async (t) => {
  const model = await load(t, 'rnn-parity-trained');
  const before = tf.memory().numTensors;
  const acc = parityAccuracy(model, 20, 300, seededRandom('shipped-parity'));
  assert.equal(tf.memory().numTensors, before);
  assert.ok(acc >= 0.99, `accuracy ${acc}`);
});

test('char-lm: held-out bits per character below the bigram baseline (3.3)', { skip: missing('char-lm') }, async (t) => {
  const model = await load(t, 'char-lm');
  const text = loadMobyDick().heldOut.slice(0, 4096);
  const before = tf.memory().numTensors;
  const { bitsPerChar } = charLmBitsPerChar(model, text, 256);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(bitsPerChar < 3.3, `bits per character ${bitsPerChar}`);
});

test('spam-rnn: >= 93% accuracy on 400 held-out mails', { skip: missing('spam-rnn') }, async (t) => {
  const model = await load(t, 'spam-rnn');
  const mails = loadSpamAssassin(1).test.slice(0, 400);
  const before = tf.memory().numTensors;
  const m = spamMetrics(model, mails);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(m.accuracy >= 0.93, `accuracy ${m.accuracy}`);
});
