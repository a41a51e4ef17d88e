/**
 * Black-box mode over HTTP: white-box routes are indistinguishable from unknown paths, keys are
 * required (401), budgets are exact under concurrency and across two apps sharing a data dir,
 * survive a restart, exhausted budgets and rate limits answer 429 (the latter with Retry-After),
 * every keyed answer carries the remaining budget, answers are shaped, and queries are logged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { buildApp } from '../../src/http/app.ts';
import { loadConfig } from '../../src/config.ts';
import { initBackend } from '../../src/backend/index.ts';
import { createModelRegistry } from '../../src/http/model-registry.ts';
import { SqliteStore } from '../../src/blackbox/sqlite-store.ts';
import { keyId } from '../../src/blackbox/keys.ts';
import { build, TEST_BACKEND } from '../helpers/build.ts';
import { writeFixtureModel } from '../helpers/fixture-model.ts';
import { fixtureImage, tempDataDir } from '../helpers/blackbox.ts';

const CLASSIFY = '/v1/models/tiny/classify';

async function blackbox(t: Parameters<typeof build>[0], keys: string, argv: string[] = [], dataDir?: string) {
  const dir = dataDir ?? (await tempDataDir(t));
  const built = await build(t, { argv: ['--mode', 'blackbox', '--data-dir', dir, ...argv], env: { GRADLAB_API_KEYS: keys } });
  return { ...built, dataDir: dir };
}

/** Every route a white-box app serves, `METHOD /path` with `:model` as `tiny`. */
async function whiteboxRoutes(): Promise<{ method: string; url: string }[]> {
  const backend = await initBackend(TEST_BACKEND);
  const config = loadConfig([], {});
  const routes: { method: string; url: string }[] = [];
  const app = await buildApp({
    config,
    registry: createModelRegistry({ batching: config.batching }),
    backend,
    logger: false,
    onRoute: ({ method, url }) => {
      for (const m of [method].flat()) if (m !== 'HEAD') routes.push({ method: m, url: url.replace(':model', 'tiny').replace('(^[^:/]+)::', ':').replace(':version', '1') });
    },
  });
  await app.ready();
  await app.close();
  return routes;
}

/** Status, body with the path taken out, and header names (values that differ by nature aside). */
function fingerprint(res: request.Response, path: string) {
  const headers = Object.keys(res.headers).filter((h) => !['date', 'x-request-id', 'content-length'].includes(h)).sort();
  return { status: res.status, body: JSON.stringify(res.body).replace(path, '<path>'), headers };
}

test('every white-box-only route answers exactly as an unknown path, with or without a key', async (t) => {
  const { app } = await blackbox(t, 'alice:100');
  // The lab page (`/`, `/lab/:asset`) is served in both modes: the student's view in this one (test/routes/lab.test.ts).
  const blackboxServed = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /v1/models', 'GET /v1/models/tiny', 'POST /v1/models/tiny/classify', 'POST /v1/models/tiny:predict', 'GET /', 'GET /lab/:asset']);
  // The Open Inference Protocol's routes are all served (test/http/blackbox-protocols.test.ts).
  const served = (method: string, url: string) => blackboxServed.has(`${method} ${url}`) || url === '/v2' || url.startsWith('/v2/');
  const hidden = (await whiteboxRoutes()).filter((r) => !served(r.method, r.url));
  const urls = hidden.map((r) => `${r.method} ${r.url}`);
  for (const expected of ['POST /v1/models/tiny/explain', 'POST /v1/models/tiny:explain', 'POST /v1/models/tiny/attack', 'POST /v1/models/tiny/visualize', 'POST /v1/models/tiny/score', 'GET /docs', 'GET /openapi.yaml']) {
    assert.ok(urls.includes(expected), `${expected} is a white-box route`);
  }
  for (const { method, url } of hidden) {
    const unknown = `${url.replace(/\/[^/]*$/, '')}/no-such-thing`;
    for (const key of [undefined, 'alice', 'mallory']) {
      const send = (path: string) => {
        let r = method === 'GET' ? request(app.server).get(path) : request(app.server).post(path).send({ image: fixtureImage() });
        if (key) r = r.set('x-api-key', key);
        return r;
      };
      const [hiddenRes, unknownRes] = [await send(url), await send(unknown)];
      assert.equal(hiddenRes.status, 404, `${method} ${url}`);
      assert.deepEqual(fingerprint(hiddenRes, url), fingerprint(unknownRes, unknown), `${method} ${url} with key ${key}`);
    }
  }
  // Nothing was charged by any of it.
  const res = await request(app.server).get('/v1/models').set('x-api-key', 'alice');
  assert.equal(res.headers['x-budget-remaining'], '100');
});

test('API routes need a valid key (401); health does not (metrics need the metrics key: test/reliability/blackbox-leaks)', async (t) => {
  const { app } = await blackbox(t, 'alice:10,bob:5');
  const none = await request(app.server).post(CLASSIFY).send({ image: fixtureImage() });
  assert.equal(none.status, 401);
  assert.equal(none.body.error.code, 'GRADLAB_UNAUTHORIZED');
  assert.match(none.headers['www-authenticate']!, /^Bearer/);
  assert.equal(none.headers['x-budget-remaining'], undefined);
  const wrong = await request(app.server).get('/v1/models').set('x-api-key', 'mallory');
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error.message, 'the API key is not valid');
  assert.equal((await request(app.server).get('/v1/models/tiny').set('authorization', 'Bearer nope')).status, 401);
  const bearer = await request(app.server).post(CLASSIFY).set('authorization', 'Bearer bob').send({ image: fixtureImage() });
  assert.equal(bearer.status, 200);
  assert.equal(bearer.headers['x-budget-remaining'], '4');
  assert.equal(bearer.headers['x-budget-limit'], '5');
  for (const path of ['/healthz', '/readyz']) assert.equal((await request(app.server).get(path)).status, 200, path);
});

test('each image is one query; every keyed answer carries the remaining budget; a spent budget is a 429', async (t) => {
  const { app } = await blackbox(t, 'alice:5');
  const ask = (body: object) => request(app.server).post(CLASSIFY).set('x-api-key', 'alice').send(body);
  const listing = await request(app.server).get('/v1/models').set('x-api-key', 'alice');
  assert.equal(listing.headers['x-budget-remaining'], '5', 'listing models is free');
  const batch = await ask({ images: [fixtureImage(1), fixtureImage(2), fixtureImage(3)] });
  assert.equal(batch.status, 200);
  assert.equal(batch.headers['x-budget-remaining'], '2');
  const tooMany = await ask({ images: [fixtureImage(1), fixtureImage(2), fixtureImage(3)] });
  assert.equal(tooMany.status, 429);
  assert.equal(tooMany.body.error.code, 'GRADLAB_BUDGET_EXHAUSTED');
  assert.match(tooMany.body.error.message, /needs 3 queries .* only 2/);
  assert.equal(tooMany.headers['x-budget-remaining'], '2', 'a refused batch costs nothing');
  assert.equal(tooMany.headers['retry-after'], undefined, 'a budget does not come back with time');
  const bad = await ask({ image: 'not an image' });
  assert.ok(bad.status === 400 || bad.status === 415, String(bad.status));
  assert.equal(bad.headers['x-budget-remaining'], '2', 'an image that does not decode costs nothing');
  assert.equal((await ask({ images: [fixtureImage(1), fixtureImage(2)] })).status, 200);
  const spent = await ask({ image: fixtureImage() });
  assert.equal(spent.status, 429);
  assert.equal(spent.body.error.code, 'GRADLAB_BUDGET_EXHAUSTED');
  assert.equal(spent.headers['x-budget-remaining'], '0');
  const stillListed = await request(app.server).get('/v1/models').set('x-api-key', 'alice');
  assert.equal(stillListed.status, 200);
  assert.equal(stillListed.headers['x-budget-remaining'], '0');
});

async function listen(app: Awaited<ReturnType<typeof build>>['app']): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** 64 clients, each sending `perClient` one-image requests as fast as answers come; statuses in order. */
async function hammer(urls: string[], perClient: number, clients = 64): Promise<number[]> {
  const body = JSON.stringify({ image: fixtureImage() });
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; i < perClient; i++) {
        const res = await fetch(`${urls[c % urls.length]}${CLASSIFY}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'alice' }, body });
        await res.arrayBuffer();
        statuses.push(res.status);
      }
    }),
  );
  return statuses;
}

test('64 concurrent clients cannot overspend a budget by one query', async (t) => {
  const { app, dataDir } = await blackbox(t, 'alice:100', ['--rate-limit', '100000/minute']);
  const url = await listen(app);
  const statuses = await hammer([url], 3);
  assert.equal(statuses.filter((s) => s === 200).length, 100);
  assert.equal(statuses.filter((s) => s === 429).length, 64 * 3 - 100);
  const store = new SqliteStore(dataDir);
  t.after(() => store.close());
  assert.equal(await store.used(keyId('alice')), 100);
});

test('two apps sharing a data dir (replicas on one volume) share one exact budget', async (t) => {
  const dataDir = await tempDataDir(t);
  const a = await blackbox(t, 'alice:90', ['--rate-limit', '100000/minute'], dataDir);
  const b = await blackbox(t, 'alice:90', ['--rate-limit', '100000/minute'], dataDir);
  const statuses = await hammer([await listen(a.app), await listen(b.app)], 2);
  assert.equal(statuses.filter((s) => s === 200).length, 90);
  assert.equal(statuses.filter((s) => s === 429).length, 128 - 90);
});

test('counts survive a restart', async (t) => {
  const dataDir = await tempDataDir(t);
  const first = await blackbox(t, 'alice:4', [], dataDir);
  assert.equal((await request(first.app.server).post(CLASSIFY).set('x-api-key', 'alice').send({ images: [fixtureImage(), fixtureImage(1), fixtureImage(2)] })).status, 200);
  await first.app.close();
  const second = await blackbox(t, 'alice:4', [], dataDir);
  const listing = await request(second.app.server).get('/v1/models').set('x-api-key', 'alice');
  assert.equal(listing.headers['x-budget-remaining'], '1');
  assert.equal((await request(second.app.server).post(CLASSIFY).set('x-api-key', 'alice').send({ image: fixtureImage() })).status, 200);
  assert.equal((await request(second.app.server).post(CLASSIFY).set('x-api-key', 'alice').send({ image: fixtureImage() })).status, 429);
  // A larger budget after the restart gives the difference, not a fresh start.
  await second.app.close();
  const third = await blackbox(t, 'alice:6', [], dataDir);
  assert.equal((await request(third.app.server).get('/v1/models').set('x-api-key', 'alice')).headers['x-budget-remaining'], '2');
});

test('rate limits are per key: 429 GRADLAB_RATE_LIMITED with Retry-After', async (t) => {
  const { app } = await blackbox(t, 'alice:100,bob:100:2/minute', ['--rate-limit', '3/minute']);
  const get = (key: string) => request(app.server).get('/v1/models').set('x-api-key', key);
  for (let i = 0; i < 3; i++) assert.equal((await get('alice')).status, 200);
  const limited = await get('alice');
  assert.equal(limited.status, 429);
  assert.equal(limited.body.error.code, 'GRADLAB_RATE_LIMITED');
  assert.ok(Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 60);
  assert.equal(limited.headers['x-ratelimit-limit'], '3');
  assert.equal(limited.headers['x-budget-remaining'], '100');
  // bob has his own, smaller window; health is never limited.
  assert.equal((await get('bob')).status, 200);
  assert.equal((await get('bob')).status, 200);
  assert.equal((await get('bob')).status, 429);
  for (let i = 0; i < 5; i++) assert.equal((await request(app.server).get('/healthz')).status, 200);
  // A rate-limited classify costs no budget.
  const c = await request(app.server).post(CLASSIFY).set('x-api-key', 'alice').send({ image: fixtureImage() });
  assert.equal(c.status, 429);
  assert.equal(c.headers['x-budget-remaining'], '100');
});

test('output shaping: probabilities, top-k with rounding, label only, per model', async (t) => {
  const ask = async (argv: string[], body: object = { image: fixtureImage() }) => {
    const { app } = await blackbox(t, 'alice:100', argv);
    const res = await request(app.server).post(CLASSIFY).set('x-api-key', 'alice').send(body);
    assert.equal(res.status, 200);
    return res.body;
  };
  const all = (await ask([])).predictions;
  assert.equal(all.length, 3, 'probabilities: every class by default');
  assert.ok(all.every((p: { probability: number }) => typeof p.probability === 'number'));
  assert.equal((await ask([], { image: fixtureImage(), topK: 1 })).predictions.length, 1, 'the client may ask for fewer');
  const rounded = (await ask(['--output', 'probabilities:2'])).predictions;
  assert.deepEqual(rounded.map((p: { probability: number }) => p.probability), all.map((p: { probability: number }) => Math.round(p.probability * 100) / 100));
  const top2 = (await ask(['--output', 'topk:2:3'], { image: fixtureImage(), topK: 3 })).predictions;
  assert.equal(top2.length, 2, 'topK cannot exceed k');
  assert.deepEqual(top2.map((p: { label: string }) => p.label), all.slice(0, 2).map((p: { label: string }) => p.label));
  for (const p of top2) assert.equal(p.probability, Math.round(p.probability * 1000) / 1000);
  const label = await ask(['--output', 'topk:2', '--model-output', 'tiny=label'], { images: [fixtureImage(), fixtureImage(3)] });
  for (const r of label.results) {
    assert.equal(r.predictions.length, 1);
    assert.deepEqual(Object.keys(r.predictions[0]).sort(), ['index', 'label']);
  }
  assert.equal(label.results[0].predictions[0].label, all[0].label);
});

test('the query log keeps time, key, count and labels; pixels only when asked', async (t) => {
  const labelsOnly = await blackbox(t, 'alice:100');
  await request(labelsOnly.app.server).post(CLASSIFY).set('x-api-key', 'alice').send({ images: [fixtureImage(), fixtureImage(3)] });
  await request(labelsOnly.app.server).post(CLASSIFY).set('x-api-key', 'alice').send({ image: fixtureImage(5) });
  const withImages = await blackbox(t, 'alice:100', ['--query-log', 'images']);
  await request(withImages.app.server).post(CLASSIFY).set('x-api-key', 'alice').send({ image: fixtureImage() });
  await labelsOnly.app.close();
  await withImages.app.close();

  const store = new SqliteStore(labelsOnly.dataDir);
  t.after(() => store.close());
  const entries = store.entries();
  assert.deepEqual(entries.map((e) => e.count), [2, 1]);
  assert.equal(entries[0]!.keyId, keyId('alice'));
  assert.equal(entries[0]!.labels.length, 2);
  assert.ok(entries.every((e) => e.pixels === undefined && e.model === 'tiny'));
  const imagesStore = new SqliteStore(withImages.dataDir);
  t.after(() => imagesStore.close());
  const [logged] = imagesStore.entries();
  assert.deepEqual(logged!.shape, [8, 8, 1]);
  assert.equal(logged!.pixels!.length, 64);
  assert.equal(logged!.pixels![1], Math.round((1 / 7) * 255));
});

test('black-box mode without keys stays open (a lab on localhost) but still shapes answers', async (t) => {
  const fixture = await writeFixtureModel('tiny');
  t.after(fixture.cleanup);
  const { app } = await build(t, { modelsDir: fixture.modelsDir, argv: ['--mode', 'blackbox', '--allow-no-keys', 'yes', '--output', 'label'] });
  const res = await request(app.server).post(CLASSIFY).send({ image: fixtureImage() });
  assert.equal(res.status, 200);
  assert.deepEqual(Object.keys(res.body.predictions[0]).sort(), ['index', 'label']);
  assert.equal(res.headers['x-budget-remaining'], undefined);
});

test('openapi.yaml documents every black-box header and the 401/429 answers', async (t) => {
  const { parse } = await import('yaml');
  const { readFileSync } = await import('node:fs');
  const { OPENAPI_PATH } = await import('../../routes/docs.ts');
  const doc = parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
    paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown>; $ref?: string }> }>>;
    components: { headers: Record<string, unknown>; responses: Record<string, { headers?: Record<string, unknown> }> };
  };
  const { app } = await blackbox(t, 'alice:10', ['--rate-limit', '1/minute']);
  const ok = await request(app.server).post(CLASSIFY).set('x-api-key', 'alice').send({ image: fixtureImage() });
  const limited = await request(app.server).post(CLASSIFY).set('x-api-key', 'alice').send({ image: fixtureImage() });
  const denied = await request(app.server).post(CLASSIFY).send({ image: fixtureImage() });
  const standard = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'x-request-id']);
  const documented = (headers: Record<string, unknown> | undefined) => new Set(Object.keys(headers ?? {}).map((h) => h.toLowerCase()));
  const op = doc.paths['/v1/models/{model}/classify']!.post!;
  assert.equal(op.responses['401']!.$ref, '#/components/responses/Unauthorized');
  assert.equal(op.responses['429']!.$ref, '#/components/responses/TooManyRequests');
  const cases: [request.Response, Set<string>][] = [
    [ok, documented(op.responses['200']!.headers)],
    [limited, documented(doc.components.responses.TooManyRequests!.headers)],
    [denied, documented(doc.components.responses.Unauthorized!.headers)],
  ];
  for (const [res, names] of cases) {
    for (const header of Object.keys(res.headers)) if (!standard.has(header)) assert.ok(names.has(header), `${res.status}: ${header} is documented`);
  }
});
