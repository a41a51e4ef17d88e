/**
 * Black-box mode with `--redis-url`: two apps (replicas) share one budget through Redis exactly,
 * answer 503 GRADLAB_STORE_UNAVAILABLE with Retry-After while Redis is away (nothing served
 * unmetered, not even a key check), and recover by themselves once it is back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.ts';
import { fixtureImage, tempDataDir } from '../helpers/blackbox.ts';
import { NO_REDIS, startRedis } from '../helpers/redis.ts';
import { RedisStore } from '../../src/blackbox/redis-store.ts';
import { keyId } from '../../src/blackbox/keys.ts';

const CLASSIFY = '/v1/models/tiny/classify';

async function replica(t: Parameters<typeof build>[0], redisUrl: string) {
  const { app } = await build(t, { argv: ['--mode', 'blackbox', '--data-dir', await tempDataDir(t), '--redis-url', redisUrl, '--rate-limit', '1000/minute'], env: { GRADLAB_API_KEYS: 'alice:10,bob:1000' } });
  return app;
}

const classify = (app: Awaited<ReturnType<typeof replica>>, key = 'alice') =>
  app.inject({ method: 'POST', url: CLASSIFY, headers: { 'x-api-key': key }, payload: { image: fixtureImage() } });

test('two replicas on one Redis: 64 concurrent requests on a budget of 10 get exactly 10 answers', { skip: NO_REDIS, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t);
  const apps = [await replica(t, redis.url), await replica(t, redis.url)];
  const answers = await Promise.all(Array.from({ length: 64 }, (_, i) => classify(apps[i % 2]!)));
  const statuses = answers.map((a) => a.statusCode);
  assert.equal(statuses.filter((s) => s === 200).length, 10, `statuses: ${statuses.join(',')}`);
  assert.ok(answers.filter((a) => a.statusCode !== 200).every((a) => a.statusCode === 429 && a.json<{ error: { code: string } }>().error.code === 'GRADLAB_BUDGET_EXHAUSTED'));
  const store = new RedisStore(redis.url);
  t.after(() => store.close());
  await store.ready();
  assert.equal(await store.used(keyId('alice')), 10);
  const log = await store.entries({ key: keyId('alice') });
  assert.equal(log.length, 10, 'every answered query is in the shared log');
});

test('Redis stopped: 503 GRADLAB_STORE_UNAVAILABLE with Retry-After; restarted: answers again', { skip: NO_REDIS, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t);
  const app = await replica(t, redis.url);
  assert.equal((await classify(app, 'bob')).statusCode, 200);
  await redis.stop();
  for (const key of ['bob', 'not-a-key']) {
    const refused = await classify(app, key);
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'GRADLAB_STORE_UNAVAILABLE');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.doesNotMatch(refused.body, /ECONNREFUSED|Stream isn't writeable|ioredis/, 'black-box answers keep the library\'s words to the log');
  }
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the process itself is alive');
  await redis.restart();
  const until = Date.now() + 15_000;
  let status = 0;
  while (Date.now() < until && status !== 200) {
    status = (await classify(app, 'bob')).statusCode;
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(status, 200, 'recovered without a restart of gradlab');
});
