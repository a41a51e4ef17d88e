import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { buildApp } from '../../src/http/app.ts';
import { loadConfig } from '../../src/config.ts';
import { initBackend } from '../../src/backend/index.ts';
import { createModelRegistry } from '../../src/http/model-registry.ts';
import { loadModelFromDir } from '../../src/model/loader.ts';
import { build } from '../helpers/build.ts';
import { writeFixtureModel } from '../helpers/fixture-model.ts';

test('healthz is always ok; readyz is 503 while loading, then 200 with the backend', async (t) => {
  const backend = await initBackend('wasm');
  const fixture = await writeFixtureModel('tiny');
  t.after(fixture.cleanup);
  const config = loadConfig(['--models-dir', fixture.modelsDir], {});
  const registry = createModelRegistry({ batching: config.batching });
  const app = await buildApp({ config, registry, backend, logger: false });
  t.after(() => app.close());
  await app.ready();
  assert.deepEqual((await request(app.server).get('/healthz')).body, { status: 'ok' });
  const loading = await request(app.server).get('/readyz');
  assert.equal(loading.status, 503);
  assert.equal(loading.body.status, 'loading');
  const early = await request(app.server).post('/v1/models/tiny/classify').send({ image: [[0]] });
  assert.equal(early.status, 503);
  assert.equal(early.body.error.code, 'GRADLAB_NOT_READY');
  registry.add(await loadModelFromDir(fixture.dir));
  registry.markReady();
  const ready = await request(app.server).get('/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(ready.body, { status: 'ready', backend: 'wasm', threads: backend.threads, nativeKernels: backend.native?.kernels ?? [], models: ['tiny'] });
  assert.ok(backend.threads! >= 1);
});

test('readyz reports a loading failure', async (t) => {
  const backend = await initBackend('wasm');
  const config = loadConfig([], {});
  const registry = createModelRegistry({ modelsDir: '/nonexistent/gradlab-models', batching: config.batching });
  const app = await buildApp({ config, registry, backend, logger: false });
  t.after(() => app.close());
  await assert.rejects(registry.loadAll(), /cannot be read/);
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().status, 'failed');
  assert.match(res.json().failure, /nonexistent/);
});

test('responses carry a request id, taken from x-request-id when given', async (t) => {
  const { app } = await build(t);
  const given = await request(app.server).get('/healthz').set('x-request-id', 'abc-123');
  assert.equal(given.headers['x-request-id'], 'abc-123');
  const made = await request(app.server).get('/healthz');
  assert.match(made.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
});
