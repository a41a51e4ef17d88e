import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import { initBackend } from '../../src/model/backend.ts';
import { build } from '../helpers/build.ts';
import { pixelArray } from '../helpers/images.ts';

test('auto skips the native packages that are not installed, says why, and lands on wasm', async () => {
  const info = await initBackend('auto');
  assert.equal(info.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(info.skipped.length, 2);
  assert.match(info.skipped[0]!, /^@tensorflow\/tfjs-node-gpu: /);
  assert.match(info.skipped[1]!, /^@tensorflow\/tfjs-node: /);
});

test('an explicit tensorflow backend that cannot load fails with the reason', async () => {
  await assert.rejects(initBackend('tensorflow'), /backend 'tensorflow' is unavailable: @tensorflow\/tfjs-node-gpu: .*@tensorflow\/tfjs-node: /);
});

test('classify gives the same answer on the wasm and cpu backends', async (t) => {
  const images = [pixelArray(8, 8, (y, x) => ((x * y) % 7) / 7), pixelArray(8, 8, (y) => y / 7)];
  const answers: Record<string, { index: number; probability: number }[][]> = {};
  for (const backend of ['wasm', 'cpu'] as const) {
    await t.test(backend, async (st) => {
      const { app } = await build(st, { backend });
      assert.equal(tf.getBackend(), backend);
      const before = tf.memory().numTensors;
      const res = await request(app.server).post('/v1/models/tiny/classify').send({ images });
      assert.equal(res.status, 200);
      assert.equal(tf.memory().numTensors, before);
      answers[backend] = res.body.results.map((r: { predictions: unknown }) => r.predictions);
      const models = await request(app.server).get('/v1/models');
      assert.equal(models.body.backend, backend);
    });
  }
  answers.wasm!.forEach((preds, i) =>
    preds.forEach((p, j) => {
      assert.equal(p.index, answers.cpu![i]![j]!.index);
      assert.ok(Math.abs(p.probability - answers.cpu![i]![j]!.probability) < 1e-5);
    }),
  );
});
