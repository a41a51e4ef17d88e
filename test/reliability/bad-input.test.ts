/**
 * Issue #13, items 8 and 9: bad input is a 4xx naming what was wrong, never a 500, and leaves no
 * tensors behind: a sequence nested 10,000 deep, multipart with 100 fields before the file or
 * with no boundary, a docs path climbing out of its folder, a one-token explanation on trained
 * RNNs (a 500 leaking 55–63 tensors), and numbers too large for the models' 32-bit arithmetic
 * (answered with null outputs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs';
import { build } from '../helpers/build.ts';
import { CLOSE, filePart, MULTIPART_TYPE, pngDeclaring, textPart } from '../helpers/multipart.ts';

type App = Awaited<ReturnType<typeof build>>['app'];

const post = (app: App, url: string, payload: string | object, contentType = 'application/json') =>
  app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType } });

test('a sequence nested 10,000 deep is a 400', async (t) => {
  const { app } = await build(t, { sequenceModels: ['rnn-sum', 'rnn-parity'] });
  const deep = '['.repeat(10_000) + '1' + ']'.repeat(10_000);
  for (const [model, body] of [['rnn-sum', `{"sequence": ${deep}}`], ['rnn-sum', `{"sequence": [${deep}]}`], ['rnn-parity', `{"sequence": [${deep}]}`]] as const) {
    const res = await post(app, `/v1/models/${model}/score`, body);
    assert.equal(res.statusCode, 400, `${model}: ${res.body.slice(0, 200)}`);
    assert.ok(res.body.length < 500, 'the message does not echo the whole value');
  }
});

test('multipart: 100 fields before the file is a 413, no boundary is a 400, an oversized field is a 413', async (t) => {
  const { app } = await build(t, { argv: ['--max-field-bytes', '4096'] });
  const hundred = Array.from({ length: 100 }, (_, i) => textPart(`f${i}`, 'v')).join('');
  const withFile = Buffer.concat([Buffer.from(hundred), filePart('image', pngDeclaring(8, 8)), Buffer.from(CLOSE)]);
  const many = await post(app, '/v1/models/tiny/classify', withFile, MULTIPART_TYPE);
  assert.equal(many.statusCode, 413, many.body);
  assert.match(many.json().error.message, /more than 64 fields/);
  const noBoundary = await post(app, '/v1/models/tiny/classify', withFile, 'multipart/form-data');
  assert.equal(noBoundary.statusCode, 400, noBoundary.body);
  assert.match(noBoundary.json().error.message, /boundary/);
  const big = await post(app, '/v1/models/tiny/classify', textPart('topK', 'x'.repeat(5000)) + CLOSE, MULTIPART_TYPE);
  assert.equal(big.statusCode, 413, big.body);
  assert.equal(big.json().error.field, 'topK');
  const cut = await post(app, '/v1/models/tiny/classify', `--gradlab-test-boundary\r\ncontent-disposition: form-data; name="image"; filename="a.png"\r\n\r\nabc`, MULTIPART_TYPE);
  assert.ok(cut.statusCode >= 400 && cut.statusCode < 500, `${cut.statusCode} ${cut.body}`);
});

test('docs paths that leave the static folder answer as unknown paths (real HTTP, no URL normalising client)', async (t) => {
  const { app } = await build(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      }).on('error', reject);
    });
  for (const path of ['/docs/static/%2e%2e/%2e%2e/package.json', '/docs/static/../../package.json', '/docs/static/%2e%2e/index.html', '/docs/static/no-such-file.js']) {
    const res = await get(path);
    assert.equal(res.status, 404, `${path}: ${res.body}`);
    assert.equal(JSON.parse(res.body).error.code, 'GRADLAB_NOT_FOUND');
  }
  assert.equal((await get('/docs/static/index.css')).status, 200, 'the page itself is still served');
});

test('a one-token explanation on trained RNNs answers 200 and leaves no tensors', async (t) => {
  const { app } = await build(t, { sequenceModels: ['spam-rnn', 'rnn-parity-trained'] });
  for (const [model, sequence] of [['spam-rnn', 'free'], ['rnn-parity-trained', '1'], ['rnn-parity-trained', [0]]] as const) {
    const before = tf.memory().numTensors;
    const res = await post(app, `/v1/models/${model}/explain`, { method: 'gradient', sequence });
    assert.equal(res.statusCode, 200, `${model}: ${res.body}`);
    const tokens = res.json().tokens as { attribution: number; gradientNorm: number }[];
    assert.equal(tokens.length, 1);
    assert.ok(Number.isFinite(tokens[0]!.attribution) && tokens[0]!.gradientNorm > 0, `${model}: a real gradient`);
    assert.equal(tf.memory().numTensors, before, `${model}: no tensors left behind`);
  }
  // A bad target on the same path is a 400 that leaves nothing either.
  const before = tf.memory().numTensors;
  const bad = await post(app, '/v1/models/spam-rnn/explain', { method: 'gradient', sequence: 'free', target: 'nope' });
  assert.equal(bad.statusCode, 400);
  assert.equal(tf.memory().numTensors, before);
});

test('numbers beyond 32-bit floats are a 400, not null outputs', async (t) => {
  const { app } = await build(t, { sequenceModels: ['rnn-sum'] });
  const huge = await post(app, '/v1/models/rnn-sum/score', { sequence: [1e308, 1] });
  assert.equal(huge.statusCode, 400, huge.body);
  assert.equal(huge.json().error.field, 'sequence[0]');
  const overflow = await post(app, '/v1/models/rnn-sum/score', { sequence: [3e38, 3e38] });
  assert.equal(overflow.statusCode, 400, overflow.body);
  assert.match(overflow.json().error.message, /overflows/);
  const fine = await post(app, '/v1/models/rnn-sum/score', { sequence: [1e30, 2] });
  assert.equal(fine.statusCode, 200);
  assert.ok(!fine.body.includes('null'));
});
