/**
 * routes/lab.ts without a browser: the HTML shell and its security headers, the built assets
 * (ETag, 304, gzip, unknown names), the held-out gallery endpoint (limits, unknown and sequence
 * models, a model without samples), and what black-box mode serves of it (the student's page only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { build } from '../helpers/build.ts';
import { tempDataDir, twoMnistModels } from '../helpers/blackbox.ts';

async function models(t: Parameters<typeof twoMnistModels>[0]): Promise<string> {
  const dir = await twoMnistModels(t);
  await rm(path.join(dir, 'mnist-labels', 'samples.json'));
  await cp('models/rnn-parity', path.join(dir, 'rnn-parity'), { recursive: true });
  return dir;
}

test('white-box: the page, its assets and the gallery', async (t) => {
  const { app } = await build(t, { modelsDir: await models(t) });

  const page = await app.inject('/');
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /^text\/html/);
  assert.match(page.headers['content-security-policy'] as string, /default-src 'self'.*connect-src 'self'/);
  const script = /src="(\/lab\/lab\.js\?v=[^"]+)"/.exec(page.body)?.[1];
  assert.ok(script, page.body);
  assert.match(page.body, /href="\/lab\/lab\.css\?v=/);

  const js = await app.inject(script);
  assert.equal(js.statusCode, 200);
  assert.match(js.headers['content-type'] as string, /^text\/javascript/);
  assert.match(js.headers['cache-control'] as string, /immutable/);
  const etag = js.headers.etag as string;
  assert.equal((await app.inject({ url: '/lab/lab.js', headers: { 'if-none-match': etag } })).statusCode, 304);
  const gz = await app.inject({ url: '/lab/lab.js', headers: { 'accept-encoding': 'gzip, br' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(gz.rawPayload).toString(), js.body);
  assert.ok(gz.rawPayload.length < js.rawPayload.length / 2);
  const missing = await app.inject('/lab/secret.ts');
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.field, 'asset');

  const samples = await app.inject('/v1/models/mnist/samples');
  assert.equal(samples.statusCode, 200);
  const body = samples.json();
  assert.equal(body.samples.length, 20);
  assert.match(body.source, /held-out test split/);
  for (const s of body.samples) {
    assert.equal(s.label, String(s.index));
    assert.ok(Buffer.from(s.png, 'base64').subarray(1, 4).toString() === 'PNG');
  }
  assert.equal((await app.inject('/v1/models/mnist/samples?limit=3')).json().samples.length, 3);
  for (const limit of ['0', '101', 'many']) {
    const bad = await app.inject(`/v1/models/mnist/samples?limit=${limit}`);
    assert.equal(bad.statusCode, 400, limit);
    assert.match(bad.json().error.message, /limit/);
  }
  assert.equal((await app.inject('/v1/models/nope/samples')).json().error.code, 'GRADLAB_UNKNOWN_MODEL');
  const sequence = await app.inject('/v1/models/rnn-parity/samples');
  assert.equal(sequence.statusCode, 400);
  assert.equal(sequence.json().error.field, 'model');
  const none = (await app.inject('/v1/models/mnist-labels/samples')).json();
  assert.deepEqual(none.samples, []);
  assert.match(none.source, /no samples\.json/);
});

test("black-box: the student's page only, no lab script, no gallery", async (t) => {
  const dataDir = await tempDataDir(t);
  const { app } = await build(t, { modelsDir: await models(t), argv: ['--mode', 'blackbox', '--data-dir', dataDir], env: { GRADLAB_API_KEYS: 'alice:10' } });
  const page = await app.inject('/');
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /src="\/lab\/student\.js\?v=/);
  assert.doesNotMatch(page.body, /lab\.js/);
  assert.equal((await app.inject('/lab/student.js')).statusCode, 200);
  assert.equal((await app.inject('/lab/lab.js')).statusCode, 404);
  const unknownPath = await app.inject({ url: '/v1/no-such-thing', headers: { 'x-api-key': 'alice' } });
  const samples = await app.inject({ url: '/v1/models/mnist/samples', headers: { 'x-api-key': 'alice' } });
  assert.equal(samples.statusCode, 404);
  assert.deepEqual(samples.json().error.code, unknownPath.json().error.code);
});
