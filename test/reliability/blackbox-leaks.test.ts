/**
 * Issue #13, item 6: black-box mode reveals nothing of the service's inside to anyone without
 * the right key: readiness says ready or not, `/metrics` needs the metrics key (and otherwise
 * answers as a path that is not served), a model that is not public answers exactly as an
 * unknown name, and error answers say what was wrong with the request in gradlab's words, not
 * the image decoder's or Fastify's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { build } from '../helpers/build.ts';
import { fixtureImage, tempDataDir } from '../helpers/blackbox.ts';
import { pngDeclaring } from '../helpers/multipart.ts';

const METRICS_KEY = 'metrics-secret-0123456789';

async function blackbox(t: Parameters<typeof build>[0], argv: string[] = []) {
  return build(t, {
    sequenceModels: ['rnn-parity', 'spam-rnn'],
    argv: ['--mode', 'blackbox', '--data-dir', await tempDataDir(t), '--metrics-key', METRICS_KEY, ...argv],
    env: { GRADLAB_API_KEYS: 'alice:100' },
  });
}

/** Status, body with the name taken out, and header names (values that differ by nature aside). */
function fingerprint(res: request.Response, name: string) {
  const headers = Object.keys(res.headers).filter((h) => !['date', 'x-request-id', 'content-length'].includes(h)).sort();
  return { status: res.status, body: JSON.stringify(res.body).replaceAll(name, '<name>'), headers };
}

test('readyz says ready and nothing else', async (t) => {
  const { app } = await blackbox(t);
  const res = await request(app.server).get('/readyz');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { status: 'ready' });
});

test('metrics: only with the metrics key; otherwise exactly as an unknown path', async (t) => {
  const { app } = await blackbox(t);
  const unknown = await request(app.server).get('/no-such-path');
  for (const auth of [undefined, 'Bearer alice', 'Bearer wrong-metrics-key-000000']) {
    let r = request(app.server).get('/metrics');
    if (auth) r = r.set('authorization', auth);
    const res = await r;
    assert.equal(res.status, 404, String(auth));
    assert.deepEqual(fingerprint(res, '/metrics'), fingerprint(unknown, '/no-such-path'), String(auth));
  }
  const keyed = await request(app.server).get('/metrics').set('authorization', `Bearer ${METRICS_KEY}`);
  assert.equal(keyed.status, 200);
  assert.match(keyed.text, /gradlab_http_requests_total/);
  const { app: withoutKey } = await build(t, { argv: ['--mode', 'blackbox', '--data-dir', await tempDataDir(t)], env: { GRADLAB_API_KEYS: 'alice:100' } });
  assert.equal((await request(withoutKey.server).get('/metrics').set('authorization', `Bearer ${METRICS_KEY}`)).status, 404, 'no metrics key: not served');
});

test('a model that is not public answers exactly as an unknown name', async (t) => {
  const { app } = await blackbox(t);
  const ask = (method: 'get' | 'post', name: string) => {
    const r = method === 'get' ? request(app.server).get(`/v1/models/${name}`) : request(app.server).post(`/v1/models/${name}/classify`).send({ image: fixtureImage() });
    return r.set('x-api-key', 'alice');
  };
  for (const method of ['get', 'post'] as const) {
    for (const hidden of ['rnn-parity', 'spam-rnn']) {
      const [h, u] = [await ask(method, hidden), await ask(method, 'made-up-model')];
      assert.equal(h.status, 404, `${method} ${hidden}`);
      assert.deepEqual(fingerprint(h, hidden), fingerprint(u, 'made-up-model'), `${method} ${hidden}`);
    }
  }
  const listing = await request(app.server).get('/v1/models').set('x-api-key', 'alice');
  assert.deepEqual(listing.body.models.map((m: { name: string }) => m.name), ['tiny']);
});

test("error answers carry no library's words in black-box mode (white-box keeps them)", async (t) => {
  const { app } = await blackbox(t);
  const broken = pngDeclaring(8, 8).toString('base64');
  const classify = (server: typeof app.server, key?: string) => {
    const r = request(server).post('/v1/models/tiny/classify').send({ image: broken });
    return key ? r.set('x-api-key', key) : r;
  };
  const res = await classify(app.server, 'alice');
  assert.equal(res.status, 400);
  assert.equal(res.body.error.message, 'image: could not decode the image/png image');
  const raw = await request(app.server).get('/v1/models/%E0%A4%A').set('x-api-key', 'alice');
  assert.equal(raw.status, 400);
  assert.deepEqual(raw.body, { error: { code: 'GRADLAB_BAD_REQUEST', message: 'the URL is not valid' } });
  const nul = await request(app.server).post('/v1/models/tiny/classify').set('x-api-key', 'alice').set('content-type', 'application/json').send('{"image": ');
  for (const answer of [res, raw, nul]) {
    assert.doesNotMatch(JSON.stringify(answer.body), /FST_|pngload|vips|busboy|fastify|Error:/i, JSON.stringify(answer.body));
  }
  const { app: white } = await build(t);
  const detailed = await classify(white.server);
  assert.match(detailed.body.error.message, /^image: could not decode the image\/png image \(.+\)$/, 'white-box answers keep the decoder\'s words');
});
