import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { visualize } from '../../src/explain/visualize.ts';
import { GradlabError } from '../../src/errors.ts';
import { Deadline } from '../../src/deadline.ts';
import { convFixture } from '../helpers/tiny-models.ts';

await initBackend('wasm');

test('class visualisation raises the class score and makes the net confident', async () => {
  const model = convFixture();
  const before = tf.memory().numTensors;
  const short = await visualize(model, { target: 'triangle', steps: 1, seed: 1 });
  const long = await visualize(model, { target: 'triangle', steps: 60, seed: 1, learningRate: 0.05 });
  assert.ok(long.finalObjective > short.finalObjective, `${long.finalObjective} > ${short.finalObjective}`);
  assert.equal(long.predictions[0]!.label, 'triangle');
  assert.ok(long.image.every((v) => v >= 0 && v <= 1), 'clipped to the value range');
  assert.deepEqual(long.objective, { kind: 'class', target: { index: 2, label: 'triangle' }, score: 'logit' });
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('seeded: the same request gives the same image; regularisers and snapshots work without leaks', async () => {
  const model = convFixture();
  const request = { target: 1, steps: 12, seed: 5, l2Decay: 0.05, blurEvery: 3, blurSigma: 0.8, jitter: 1, snapshotEvery: 4 };
  const before = tf.memory().numTensors;
  const a = await visualize(model, request);
  const b = await visualize(model, request);
  assert.deepEqual(a.image, b.image);
  assert.deepEqual(a.snapshots.map((s) => s.step), [4, 8]);
  const c = await visualize(model, { ...request, seed: 6 });
  assert.notDeepEqual(a.image, c.image);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('unit visualisation raises a channel activation, overall or at a position', async () => {
  const model = convFixture();
  const short = await visualize(model, { layer: 'conv1', channel: 3, steps: 1 });
  const long = await visualize(model, { layer: 'conv1', channel: 3, steps: 30 });
  assert.ok(long.finalObjective > short.finalObjective);
  const at = await visualize(model, { layer: 'conv1', channel: 0, position: [3, 4], steps: 5 });
  assert.deepEqual(at.objective, { kind: 'unit', layer: 'conv1', channel: 0, position: [3, 4] });
  const dense = await visualize(model, { layer: 'logits', channel: 1, steps: 5 });
  assert.equal(dense.objective.kind, 'unit');
  model.dispose();
});

test('bad objectives are 400s naming the field; the deadline stops long runs', async () => {
  const model = convFixture();
  const cases: [Parameters<typeof visualize>[1], string][] = [
    [{}, 'target'],
    [{ target: 9 }, 'target'],
    [{ target: 0, layer: 'conv1', channel: 0 }, 'target'],
    [{ layer: 'nope', channel: 0 }, 'layer'],
    [{ layer: 'conv1' }, 'channel'],
    [{ layer: 'conv1', channel: 4 }, 'channel'],
    [{ layer: 'conv1', channel: 0, position: [8, 0] }, 'position'],
    [{ layer: 'logits', channel: 0, position: [0, 0] }, 'position'],
    [{ target: 0, channel: 1 }, 'channel'],
  ];
  for (const [request, field] of cases) {
    await assert.rejects(visualize(model, request), (e) => e instanceof GradlabError && e.statusCode === 400 && e.field === field);
  }
  const before = tf.memory().numTensors;
  await assert.rejects(visualize(model, { target: 0, steps: 1_000_000 }, { deadline: new Deadline(50) }), (e) => e instanceof GradlabError && e.code === 'GRADLAB_TIMEOUT');
  assert.equal(tf.memory().numTensors, before, 'a stopped run frees its tensors');
  model.dispose();
});

test('progress: one event per step with the objective; the image does not change; no leaks', async () => {
  const model = convFixture();
  const request = { target: 'square', steps: 15, seed: 2, jitter: 1 };
  const before = tf.memory().numTensors;
  const events: { step: number; steps: number; objective: number }[] = [];
  const withProgress = await visualize(model, request, { onProgress: (e) => events.push(e) });
  const plain = await visualize(model, request);
  assert.deepEqual(withProgress.image, plain.image);
  assert.deepEqual(events.map((e) => e.step), Array.from({ length: 15 }, (_, k) => k + 1));
  assert.ok(events.every((e) => e.steps === 15 && Number.isFinite(e.objective)));
  assert.ok(events.at(-1)!.objective > events[0]!.objective, 'the ascent raises the objective');
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});
