/** `GET /docs` and `GET /openapi.yaml`: a page that works on any plain-http address, calling the server that served it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { parse } from 'yaml';
import { build } from '../helpers/build.ts';

test('the docs page keeps its content security policy but never upgrades its own requests to https', async (t) => {
  const { app } = await build(t);
  const page = await request(app.server).get('/docs').set('host', '10.1.2.3:8080');
  assert.equal(page.status, 200);
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /upgrade-insecure-requests/);
  assert.doesNotMatch(csp, /;\s*;|;\s*$/);
});

test('openapi.yaml names no fixed host: "Try it out" calls the server that served the page', async (t) => {
  const { app } = await build(t);
  const res = await request(app.server).get('/openapi.yaml');
  const doc = parse(res.text) as { servers: { url: string }[] };
  assert.deepEqual(doc.servers.map((s) => s.url), ['/']);
  const json = await request(app.server).get('/docs/json');
  assert.deepEqual((json.body as { servers: { url: string }[] }).servers.map((s) => s.url), ['/']);
});
