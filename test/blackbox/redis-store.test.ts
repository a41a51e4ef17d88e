/**
 * The Redis budget store against a real redis-server: one budget charged exactly by many
 * "replicas" (separate connections) at once, refunds, counting windows, the shared query log, and
 * failing closed while Redis is away, then recovering by itself once it is back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore } from '../../src/blackbox/redis-store.ts';
import { NO_REDIS, startRedis } from '../helpers/redis.ts';

async function stores(url: string, n: number): Promise<RedisStore[]> {
  const out = Array.from({ length: n }, () => new RedisStore(url));
  await Promise.all(out.map((s) => s.ready()));
  return out;
}

test('64 concurrent callers on 8 connections charge one budget of 20 exactly', { skip: NO_REDIS, timeout: 30_000 }, async (t) => {
  const redis = await startRedis(t);
  const replicas = await stores(redis.url, 8);
  t.after(() => Promise.all(replicas.map((s) => s.close())));
  const results = await Promise.all(Array.from({ length: 64 }, (_, i) => replicas[i % 8]!.charge('key-a', 1, 20)));
  assert.equal(results.filter((r) => r.granted).length, 20);
  assert.equal(await replicas[0]!.used('key-a'), 20);
  assert.ok(results.filter((r) => !r.granted).every((r) => r.remaining === 0 && r.used === 20));
  // All-or-nothing: 3 left of 10 and a batch of 5 is refused whole.
  await replicas[1]!.charge('key-b', 7, 10);
  const batch = await replicas[2]!.charge('key-b', 5, 10);
  assert.deepEqual(batch, { granted: false, used: 7, remaining: 3 });
  await replicas[3]!.refund('key-b', 4);
  assert.equal(await replicas[4]!.used('key-b'), 3);
  await replicas[3]!.refund('key-b', 100);
  assert.equal(await replicas[4]!.used('key-b'), 0, 'a refund never goes below 0');
  await assert.rejects(replicas[0]!.charge('key-b', 0, 10), RangeError);
  assert.deepEqual(await replicas[0]!.allUsed(), new Map([['key-a', 20], ['key-b', 0]]));
});

test('counting windows are shared, restart when they end and expire from Redis', { skip: NO_REDIS, timeout: 30_000 }, async (t) => {
  const redis = await startRedis(t);
  const [a, b] = await stores(redis.url, 2);
  t.after(() => Promise.all([a!.close(), b!.close()]));
  const now = Date.now();
  assert.deepEqual(await a!.hit('rate:k', 1000, now), { count: 1, resetAt: now + 1000 });
  const hits = await Promise.all(Array.from({ length: 9 }, (_, i) => (i % 2 ? a! : b!).hit('rate:k', 1000, now + 10)));
  assert.deepEqual(hits.map((h) => h.count).sort((x, y) => x - y), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(await b!.peek('rate:k', now + 500), { count: 10, resetAt: now + 1000 });
  assert.deepEqual(await b!.peek('rate:k', now + 1000), { count: 0, resetAt: now + 1000 });
  assert.deepEqual(await a!.hit('rate:k', 1000, now + 1500), { count: 1, resetAt: now + 2500 });
  assert.ok((await a!.redis.pttl('gradlab:window:rate:k')) > 0, 'the window expires with itself');
});

test('the query log is one stream for every replica, pixels included', { skip: NO_REDIS, timeout: 30_000 }, async (t) => {
  const redis = await startRedis(t);
  const [a, b] = await stores(redis.url, 2);
  t.after(() => Promise.all([a!.close(), b!.close()]));
  a!.record({ time: 1000, keyId: 'id-1', keyName: 'alice', model: 'mnist', count: 1, labels: ['7'] });
  b!.record({ time: 2000, keyId: 'id-2', keyName: 'bob', model: 'mnist', count: 2, labels: ['1', '2'], shape: [1, 2, 1], pixels: new Uint8Array([0, 255, 7, 9]) });
  await a!.redis.ping();
  await b!.redis.ping();
  const all = await a!.entries();
  assert.equal(all.length, 2);
  assert.deepEqual(all.map((e) => e.keyName).sort(), ['alice', 'bob']);
  const bobs = await a!.entries({ key: 'bob' });
  assert.deepEqual([...bobs[0]!.pixels!], [0, 255, 7, 9]);
  assert.deepEqual(await b!.loggedKeys(), [{ keyId: 'id-1', keyName: 'alice' }, { keyId: 'id-2', keyName: 'bob' }]);
});

test('Redis away: every call fails at once with 503 GRADLAB_STORE_UNAVAILABLE; back: it recovers by itself', { skip: NO_REDIS, timeout: 30_000 }, async (t) => {
  const redis = await startRedis(t);
  const [store] = await stores(redis.url, 1);
  t.after(() => store!.close());
  await store!.charge('k', 1, 10);
  await redis.stop();
  const started = Date.now();
  for (const call of [() => store!.charge('k', 1, 10), () => store!.used('k'), () => store!.hit('guess:1', 1000), () => store!.peek('guess:1')]) {
    await assert.rejects(call(), (err: { code?: string; statusCode?: number; retryAfterS?: number }) => err.code === 'GRADLAB_STORE_UNAVAILABLE' && err.statusCode === 503 && err.retryAfterS! > 0);
  }
  assert.ok(Date.now() - started < 10_000, 'refusals do not wait for Redis to come back');
  await redis.restart();
  await store!.ready(10_000);
  // Persistence is off: the restarted Redis is empty, and charging works again.
  assert.deepEqual(await store!.charge('k', 1, 10), { granted: true, used: 1, remaining: 9 });
});
