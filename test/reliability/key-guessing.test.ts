/**
 * Issue #13, items 5 and 9: failed API keys are throttled per client address (20,000 wrong keys
 * used to answer 401 at 5,956/s), and rate-limit windows, like budgets and the throttle, survive
 * a restart (the limiter used to forget its window). Behind a reverse proxy (--trust-proxy) the
 * throttle is per client as X-Forwarded-For names it; without it, the header is ignored, so a
 * guesser cannot escape the throttle by inventing addresses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { build } from '../helpers/build.ts';
import { tempDataDir } from '../helpers/blackbox.ts';

async function blackbox(t: Parameters<typeof build>[0], dataDir: string, argv: string[] = []) {
  return build(t, { argv: ['--mode', 'blackbox', '--data-dir', dataDir, ...argv], env: { GRADLAB_API_KEYS: 'alice:100' } });
}

test('wrong keys: 401 up to the limit, then 429 with Retry-After for every key attempt, across a restart', async (t) => {
  const dataDir = await tempDataDir(t);
  const first = await blackbox(t, dataDir, ['--key-guess-limit', '5/minute']);
  const guess = (app: typeof first.app, key: string) => request(app.server).get('/v1/models').set('x-api-key', key);
  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) statuses.push((await guess(first.app, `guess-${i}`)).status);
  assert.deepEqual(statuses, [...Array(5).fill(401), ...Array(15).fill(429)]);
  const throttled = await guess(first.app, 'guess-x');
  assert.equal(throttled.body.error.code, 'GRADLAB_RATE_LIMITED');
  assert.match(throttled.body.error.message, /too many failed API key attempts/);
  const retry = Number(throttled.headers['retry-after']);
  assert.ok(retry > 0 && retry <= 60, `Retry-After ${retry}`);
  assert.equal((await guess(first.app, 'alice')).status, 429, 'the right key is no way around the throttle');
  // No key at all is not a guess; health is never throttled.
  assert.equal((await request(first.app.server).get('/v1/models')).status, 401);
  assert.equal((await request(first.app.server).get('/healthz')).status, 200);
  await first.app.close();
  const second = await blackbox(t, dataDir, ['--key-guess-limit', '5/minute']);
  assert.equal((await guess(second.app, 'alice')).status, 429, 'the throttle survives a restart');
});

test('a rate-limit window survives a restart', async (t) => {
  const dataDir = await tempDataDir(t);
  const first = await blackbox(t, dataDir, ['--rate-limit', '3/minute']);
  for (let i = 0; i < 3; i++) assert.equal((await request(first.app.server).get('/v1/models').set('x-api-key', 'alice')).status, 200);
  await first.app.close();
  const second = await blackbox(t, dataDir, ['--rate-limit', '3/minute']);
  const limited = await request(second.app.server).get('/v1/models').set('x-api-key', 'alice');
  assert.equal(limited.status, 429);
  assert.equal(limited.body.error.code, 'GRADLAB_RATE_LIMITED');
  assert.ok(Number(limited.headers['retry-after']) > 0);
});

test('X-Forwarded-For counts only from a trusted proxy: each client its own throttle behind one; ignored otherwise', async (t) => {
  const guess = (app: Awaited<ReturnType<typeof blackbox>>['app'], key: string, client: string) =>
    request(app.server).get('/v1/models').set('x-api-key', key).set('x-forwarded-for', client);
  const proxied = await blackbox(t, await tempDataDir(t), ['--key-guess-limit', '3/minute', '--trust-proxy', '1']);
  for (let i = 0; i < 3; i++) assert.equal((await guess(proxied.app, `guess-${i}`, '203.0.113.7')).status, 401);
  assert.equal((await guess(proxied.app, 'guess-3', '203.0.113.7')).status, 429, 'the guesser is throttled');
  assert.equal((await guess(proxied.app, 'alice', '198.51.100.2')).status, 200, 'another client behind the same proxy is not');
  const direct = await blackbox(t, await tempDataDir(t), ['--key-guess-limit', '3/minute']);
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await guess(direct.app, `guess-${i}`, `203.0.113.${i}`)).status);
  assert.deepEqual(statuses, [401, 401, 401, 429, 429], 'invented X-Forwarded-For addresses do not reset the throttle');
});
