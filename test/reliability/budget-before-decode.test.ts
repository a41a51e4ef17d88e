/**
 * Issue #13, item 4: in black-box mode the key's budget is settled before any image is decoded,
 * and pixel limits are read from image headers before decoding. Before, a key with 14 queries
 * left could send 16 PNGs declaring 1×16,000,000 pixels: 20.9 s of decoding, then 429.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { build } from '../helpers/build.ts';
import { fixtureImage, tempDataDir } from '../helpers/blackbox.ts';
import { pngDeclaring } from '../helpers/multipart.ts';

const CLASSIFY = '/v1/models/tiny/classify';
const bomb = () => pngDeclaring(1, 16_000_000).toString('base64');

async function blackbox(t: Parameters<typeof build>[0], keys: string, argv: string[] = []) {
  return build(t, { argv: ['--mode', 'blackbox', '--data-dir', await tempDataDir(t), ...argv], env: { GRADLAB_API_KEYS: keys } });
}

test('16 images with 14 queries left: 429 before any decoding, nothing charged', async (t) => {
  const { app } = await blackbox(t, 'alice:14');
  const started = performance.now();
  const res = await request(app.server).post(CLASSIFY).set('x-api-key', 'alice').send({ images: Array.from({ length: 16 }, bomb) });
  const ms = performance.now() - started;
  assert.equal(res.status, 429);
  assert.equal(res.body.error.code, 'GRADLAB_BUDGET_EXHAUSTED');
  assert.equal(res.headers['x-budget-remaining'], '14');
  assert.ok(ms < 2000, `answered in ${ms.toFixed(0)} ms`);
  // Undecodable images prove the order: had they been decoded first, the answer would be a 400.
  const garbage = await request(app.server).post(CLASSIFY).set('x-api-key', 'alice').send({ images: Array.from({ length: 15 }, () => 'bm90IGFuIGltYWdl') });
  assert.equal(garbage.status, 429);
});

test('images that do not decode get their queries back', async (t) => {
  const { app } = await blackbox(t, 'alice:5');
  const bad = await request(app.server).post(CLASSIFY).set('x-api-key', 'alice').send({ images: [fixtureImage(), 'bm90IGFuIGltYWdl', bomb()] });
  assert.ok(bad.status === 400 || bad.status === 415, String(bad.status));
  assert.equal(bad.headers['x-budget-remaining'], '5');
  const listing = await request(app.server).get('/v1/models').set('x-api-key', 'alice');
  assert.equal(listing.headers['x-budget-remaining'], '5');
  const ok = await request(app.server).post(CLASSIFY).set('x-api-key', 'alice').send({ images: [fixtureImage(), fixtureImage(1)] });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['x-budget-remaining'], '3');
});

test('pixel limits are read from the headers: per image and per request, refused at once', async (t) => {
  const { app } = await build(t, { argv: ['--max-image-pixels', '1000000', '--max-request-pixels', '3000000'] });
  const started = performance.now();
  const one = await request(app.server).post(CLASSIFY).send({ image: pngDeclaring(1, 2_000_000).toString('base64') });
  assert.equal(one.status, 413);
  assert.equal(one.body.error.field, 'image');
  assert.match(one.body.error.message, /more pixels than the limit of 1000000/);
  const many = await request(app.server).post(CLASSIFY).send({ images: Array.from({ length: 4 }, () => pngDeclaring(1000, 1000).toString('base64')) });
  assert.equal(many.status, 413);
  assert.equal(many.body.error.field, 'images');
  assert.match(many.body.error.message, /declare 4000000 pixels together, more than the limit of 3000000/);
  assert.ok(performance.now() - started < 2000);
});
