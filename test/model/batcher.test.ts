import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { DynamicBatcher, type BatchObservation } from '../../src/model/batcher.ts';
import { loadModelFromDir } from '../../src/model/loader.ts';
import { writeFixtureModel } from '../helpers/fixture-model.ts';

await initBackend('wasm');

async function fixture(t: import('node:test').TestContext) {
  const f = await writeFixtureModel('tiny');
  t.after(f.cleanup);
  const model = await loadModelFromDir(f.dir);
  t.after(() => model.dispose());
  return model;
}

const image = (seed: number) => new Float32Array(64).map((_, i) => ((i * 31 + seed * 17) % 97) / 97);

test('concurrent requests merge into one forward pass and get their own results', async (t) => {
  const model = await fixture(t);
  const seen: BatchObservation[] = [];
  const batcher = new DynamicBatcher(model, { enabled: true, maxBatchSize: 32, maxWaitMs: 20 }, (o) => seen.push(o));
  const before = tf.memory().numTensors;
  const requests = [[image(1)], [image(2), image(3)], [image(4)]];
  const results = await Promise.all(requests.map((r) => batcher.predict(r)));
  assert.equal(seen.length, 1, 'one forward pass');
  assert.equal(seen[0]!.size, 4);
  assert.equal(seen[0]!.requests, 3);
  const alone = requests.map((r) => model.predictProbabilities(r));
  results.forEach((r, i) => r.forEach((p, j) => p.forEach((v, k) => assert.ok(Math.abs(v - alone[i]![j]![k]!) < 1e-6))));
  assert.equal(tf.memory().numTensors, before);
});

test('a full batch runs at once without waiting for the timer', async (t) => {
  const model = await fixture(t);
  const seen: BatchObservation[] = [];
  const batcher = new DynamicBatcher(model, { enabled: true, maxBatchSize: 2, maxWaitMs: 60_000 }, (o) => seen.push(o));
  const started = Date.now();
  await Promise.all([batcher.predict([image(1)]), batcher.predict([image(2)])]);
  assert.ok(Date.now() - started < 30_000);
  assert.deepEqual(seen.map((s) => s.size), [2]);
});

test('requests larger than the batch size are split; batching off runs each request alone', async (t) => {
  const model = await fixture(t);
  const seen: number[] = [];
  const batcher = new DynamicBatcher(model, { enabled: true, maxBatchSize: 4, maxWaitMs: 1 }, (o) => seen.push(o.size));
  const out = await batcher.predict(Array.from({ length: 10 }, (_, i) => image(i)));
  assert.equal(out.length, 10);
  assert.deepEqual(seen.sort(), [2, 4, 4]);
  const off: number[] = [];
  const plain = new DynamicBatcher(model, { enabled: false, maxBatchSize: 4, maxWaitMs: 1 }, (o) => off.push(o.requests));
  await Promise.all([plain.predict([image(1)]), plain.predict([image(2)])]);
  assert.deepEqual(off, [1, 1]);
});
