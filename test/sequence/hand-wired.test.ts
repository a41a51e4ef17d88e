/**
 * The lecture's hand-wired RNNs are exact: parity on every bit string up to length 14 and on
 * random strings up to the configured maximum length, with the AND/OR/XOR truth table at every
 * step; sum and comparison on random inputs. No call leaves a tensor behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadConfig } from '../../src/config.ts';
import { seededRandom, randomInt } from '../../src/datasets/seeded.ts';
import { initBackend } from '../../src/backend/index.ts';
import type { EncodedSequence } from '../../src/sequence/input.ts';
import { loadSequenceModelFromDir } from '../../src/sequence/loader.ts';
import { scoreSequence } from '../../src/sequence/score.ts';
import type { SequenceModel } from '../../src/sequence/sequence-model.ts';
import { TEST_BACKEND } from '../helpers/build.ts';

const MAX = loadConfig([], {}).limits.maxSequenceLength;

async function load(t: import('node:test').TestContext, name: string): Promise<SequenceModel> {
  await initBackend(TEST_BACKEND);
  const model = await loadSequenceModelFromDir(`models/${name}`);
  t.after(() => model.dispose());
  return model;
}

/** Runs `fn` and asserts that it left no tensor behind. */
function noLeak<T>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const out = fn();
  assert.equal(tf.memory().numTensors, before, 'leaked tensors');
  return out;
}

test('rnn-parity: every bit string up to length 14, every step, with the AND/OR hidden units', async (t) => {
  const model = await load(t, 'rnn-parity');
  for (let len = 1; len <= 14; len++) {
    const count = 2 ** len;
    const batch: EncodedSequence[] = [];
    for (let k = 0; k < count; k++) {
      const bits = Float32Array.from({ length: len }, (_, i) => (k >> i) & 1);
      batch.push({ values: bits, length: len, width: 1, display: [] });
    }
    const runs = noLeak(() => model.run(batch));
    runs.forEach((u, k) => {
      let parity = 0;
      for (let step = 0; step < len; step++) {
        const x = (k >> step) & 1;
        const [h1, h2] = [u.hidden[2 * step], u.hidden[2 * step + 1]];
        assert.equal(h1, parity & x, `len ${len} string ${k} step ${step}: h1 = AND(y(t-1), x(t))`);
        assert.equal(h2, parity | x, `len ${len} string ${k} step ${step}: h2 = OR(y(t-1), x(t))`);
        parity ^= x;
        assert.equal(u.outputs[step], parity, `len ${len} string ${k} step ${step}: y = parity`);
      }
    });
  }
});

test('rnn-parity: random strings up to the configured maximum length, through scoreSequence', async (t) => {
  const model = await load(t, 'rnn-parity');
  const random = seededRandom('parity-long');
  for (const len of [MAX, MAX - 1, 1 + randomInt(random, MAX), 1 + randomInt(random, MAX)]) {
    const bits = Array.from({ length: len }, () => randomInt(random, 2));
    const result = noLeak(() => scoreSequence(model, bits, { maxLength: MAX }));
    let parity = 0;
    const expected = bits.map((b) => (parity ^= b));
    assert.deepEqual(result.outputs, expected);
    assert.deepEqual(result.prediction, { label: parity ? 'odd' : 'even', index: parity, probability: 1 });
  }
});

test("rnn-parity: the trace is the lecture's unrolled truth table", async (t) => {
  const model = await load(t, 'rnn-parity');
  // The lecture's example: input 0 1 0 1 1 0 1 0 1 1 has parity bits 0 1 1 0 1 1 0 0 1 0.
  const r = noLeak(() => scoreSequence(model, '0101101011', { trace: true, maxLength: MAX }));
  assert.deepEqual(r.outputs, [0, 1, 1, 0, 1, 1, 0, 0, 1, 0]);
  assert.deepEqual(r.hiddenUnits, ['h1 (AND)', 'h2 (OR)']);
  assert.equal(r.steps!.length, 10);
  assert.deepEqual(r.steps![0], { t: 1, input: 0, hidden: [0, 0], output: 0 });
  assert.deepEqual(r.steps![3], { t: 4, input: 1, hidden: [1, 1], output: 0 });
  // Every row of the table: (y(t-1), x(t)) -> h1, h2, y(t).
  const table = new Map<string, number[]>();
  let prev = 0;
  for (const s of r.steps!) {
    table.set(`${prev}${String(s.input)}`, [...s.hidden, s.output as number]);
    prev = s.output as number;
  }
  assert.deepEqual(Object.fromEntries(table), { '00': [0, 0, 0], '01': [0, 1, 1], '10': [0, 1, 1], '11': [1, 1, 0] });
});

test('rnn-sum: the output after each step is the sum so far (exact on integers, float32 on floats)', async (t) => {
  const model = await load(t, 'rnn-sum');
  const random = seededRandom('sum');
  for (let trial = 0; trial < 20; trial++) {
    const len = 1 + randomInt(random, 300);
    const ints = Array.from({ length: len }, () => randomInt(random, 2001) - 1000);
    const r = noLeak(() => scoreSequence(model, ints, { maxLength: MAX }));
    let sum = 0;
    assert.deepEqual(r.outputs, ints.map((x) => (sum += x)));
    assert.equal(r.prediction, sum);
    // Real numbers: the network adds in float32, one rounding per step, exactly like Math.fround.
    const reals = Array.from({ length: len }, () => Math.fround((random() - 0.5) * 100));
    const rr = noLeak(() => scoreSequence(model, reals, { maxLength: MAX }));
    let f = 0;
    assert.deepEqual(rr.outputs, reals.map((x) => (f = Math.fround(f + x))));
  }
});

test('rnn-compare: says whether the first total is larger, at every step', async (t) => {
  const model = await load(t, 'rnn-compare');
  const random = seededRandom('compare');
  const sawBoth = [false, false];
  for (let trial = 0; trial < 30; trial++) {
    const len = 1 + randomInt(random, 200);
    const pairs = Array.from({ length: len }, () => [randomInt(random, 21) - 10, randomInt(random, 21) - 10]);
    const r = noLeak(() => scoreSequence(model, pairs, { trace: true, maxLength: MAX }));
    let diff = 0;
    const expected = pairs.map(([a, b]) => ((diff += a! - b!) > 0 ? 1 : 0));
    assert.deepEqual(r.outputs, expected);
    const last = expected[expected.length - 1]!;
    sawBoth[last] = true;
    assert.equal((r.prediction as { label: string }).label, last ? 'first total larger' : 'first total not larger');
    assert.deepEqual(r.steps!.map((s) => s.hidden[0]), pairs.map((_, i) => pairs.slice(0, i + 1).reduce((s, [x, y]) => s + x! - y!, 0)));
  }
  assert.deepEqual(sawBoth, [true, true]);
  // Ties are "not larger".
  assert.deepEqual(scoreSequence(model, [[2, 2]], { maxLength: MAX }).outputs, [0]);
});
