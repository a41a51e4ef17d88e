import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { build } from '../helpers/build.ts';
import { pixelArray } from '../helpers/images.ts';

const url = '/v1/models/tiny/attack';
const image = pixelArray(8, 8, (y, x) => ((y * 3 + x * 5) % 11) / 11);
const other = pixelArray(8, 8, (y, x) => ((y + x) % 4) / 4);

test('autoattack answers its stages, each image\'s brokenBy and the masking warnings (batch and single image)', async (t) => {
  const { app } = await build(t);
  const batch = await request(app.server).post(url).send({ images: [image, other], method: 'autoattack', epsilon: 0.3, version: 'cheap', steps: 5, seed: 1 });
  assert.equal(batch.status, 200, batch.text);
  assert.deepEqual(batch.body.stages.map((s: { attack: string }) => s.attack), ['apgd-ce', 'apgd-t', 'fab-t', 'square']);
  assert.equal(batch.body.stages.at(-1).robustAccuracy, batch.body.robustAccuracy);
  for (const r of batch.body.results) assert.ok(r.brokenBy === null || typeof r.brokenBy === 'string');
  assert.ok(Array.isArray(batch.body.warnings));
  const single = await request(app.server).post(url).send({ image, method: 'autoattack', epsilon: 0.3, version: 'cheap', steps: 5 });
  assert.equal(single.status, 200, single.text);
  assert.equal(single.body.stages.length, 4);
  assert.ok('brokenBy' in single.body);
  const bad = await request(app.server).post(url).send({ image, method: 'autoattack', epsilon: 0.3, version: 'fast' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /version/);
});
