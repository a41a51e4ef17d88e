/**
 * Jobs through BullMQ on a real redis-server, with the API and a worker in this process (two apps
 * on one Redis: one runs jobs, `--run-jobs no` on the other): any replica answers for any job and
 * streams its events; cancellation reaches the worker running the job; Redis stopped means 503
 * GRADLAB_STORE_UNAVAILABLE for new jobs, and the queue works again once Redis is back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { FastifyInstance } from 'fastify';
import { build } from '../helpers/build.ts';
import { pixelArray } from '../helpers/images.ts';
import { NO_REDIS, startRedis } from '../helpers/redis.ts';
import { parseEvents } from '../helpers/sse.ts';

const image = pixelArray(8, 8, (y, x) => ((y * 3 + x * 5) % 11) / 11);
const ATTACK = '/v1/models/tiny/attack';

/**
 * Builds apps that are closed before Redis stops: `t.after` hooks run in the order they were
 * registered, and this one is registered before startRedis's (a queue closing against a live
 * Redis closes at once; against a stopped one it can only give up).
 */
function appsClosedFirst(t: { after: (f: () => unknown) => void }) {
  const apps: FastifyInstance[] = [];
  t.after(() => Promise.all(apps.map((a) => a.close())));
  return async (argv: string[]) => {
    const { app } = await build(t as Parameters<typeof build>[0], { argv });
    apps.push(app);
    return { app };
  };
}

async function finished(app: FastifyInstance, location: string, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(app.server).get(location);
    assert.equal(res.status, 200, res.text);
    if (['succeeded', 'failed', 'cancelled'].includes(res.body.state)) return res.body;
    if (Date.now() > until) throw new Error(`job still ${res.body.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a job queued on one replica runs on the other\'s worker; both answer for it and stream its events', { skip: NO_REDIS, timeout: 120_000 }, async (t) => {
  const buildApp = appsClosedFirst(t);
  const redis = await startRedis(t);
  const { app: api } = await buildApp(['--redis-url', redis.url, '--run-jobs', 'no']);
  const { app: runner } = await buildApp(['--redis-url', redis.url, '--heavy-workers', '1']);
  const body = { image, method: 'pgd', epsilon: 0.3, steps: 300, seed: 1 };
  const accepted = await request(api.server).post(ATTACK).set('prefer', 'respond-async').send(body);
  assert.equal(accepted.status, 202, accepted.text);
  const location = accepted.headers.location!;
  const events = parseEvents((await request(api.server).get(`${location}/events`)).text);
  assert.equal(events.at(-1)!.event, 'result', JSON.stringify(events.slice(-2)));
  assert.equal(events.at(-1)!.data.iterations, 300);
  const fromApi = await finished(api, location);
  const fromRunner = await finished(runner, location);
  assert.equal(fromApi.state, 'succeeded');
  assert.deepEqual(fromApi, fromRunner, 'every replica reads the same job');
  assert.equal(fromApi.attempts, 1);
  const sync = await request(runner.server).post(ATTACK).send(body);
  assert.deepEqual({ ...fromApi.result, elapsedMs: 0 }, { ...sync.body, elapsedMs: 0 }, 'the job answers what the route answers');
  const metrics = await request(runner.server).get('/metrics');
  assert.match(metrics.text, /gradlab_jobs_finished_total\{kind="attack",state="succeeded"\} 1/);
  assert.match(metrics.text, /gradlab_jobs_wait_seconds_count\{kind="attack"\} 1/);
});

test('DELETE on any replica stops the job on the worker running it; a queued one is removed', { skip: NO_REDIS, timeout: 120_000 }, async (t) => {
  const buildApp = appsClosedFirst(t);
  const redis = await startRedis(t);
  const { app: api } = await buildApp(['--redis-url', redis.url, '--run-jobs', 'no']);
  await buildApp(['--redis-url', redis.url, '--heavy-workers', '1', '--max-steps', '100000', '--max-cost', '100000000']);
  const long = { image, method: 'pgd', epsilon: 0.3, steps: 50_000, seed: 1 };
  const first = await request(api.server).post(ATTACK).set('prefer', 'respond-async').send({ ...long, steps: 1000 });
  assert.equal(first.status, 202);
  const running = await request(api.server).post(ATTACK).set('prefer', 'respond-async').send(long);
  assert.equal(running.status, 400, 'the API replica holds jobs to its own cost limit');
  const { app: lenient } = await buildApp(['--redis-url', redis.url, '--run-jobs', 'no', '--max-steps', '100000', '--max-cost', '100000000']);
  const big = await request(lenient.server).post(ATTACK).set('prefer', 'respond-async').send(long);
  const queued = await request(lenient.server).post(ATTACK).set('prefer', 'respond-async').send(long);
  const until = Date.now() + 30_000;
  while ((await request(api.server).get(big.headers.location!)).body.state !== 'running' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const removed = await request(api.server).delete(queued.headers.location!);
  assert.equal(removed.body.state, 'cancelled');
  assert.equal((await request(lenient.server).get(queued.headers.location!)).body.state, 'cancelled');
  await request(api.server).delete(big.headers.location!);
  const stopped = await finished(api, big.headers.location!);
  assert.equal(stopped.state, 'cancelled', JSON.stringify(stopped));
  assert.equal(stopped.error.code, 'GRADLAB_CANCELLED');
  assert.equal((await finished(api, first.headers.location!)).state, 'succeeded');
});

test('Redis away: new jobs get 503 GRADLAB_STORE_UNAVAILABLE; back: jobs run again', { skip: NO_REDIS, timeout: 120_000 }, async (t) => {
  const buildApp = appsClosedFirst(t);
  const redis = await startRedis(t);
  const { app } = await buildApp(['--redis-url', redis.url, '--heavy-workers', '1']);
  const body = { image, method: 'fgsm', epsilon: 0.1 };
  await redis.stop();
  const refused = await request(app.server).post(ATTACK).set('prefer', 'respond-async').send(body);
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.body.error.code, 'GRADLAB_STORE_UNAVAILABLE');
  assert.ok(Number(refused.headers['retry-after']) > 0);
  await redis.restart();
  // Reconnection is retried every second at most; the window is wide because on a loaded machine
  // (CI with other suites' workers) one attempt could take the full command timeout (failed once at 20 s).
  const until = Date.now() + 60_000;
  let accepted;
  do {
    accepted = await request(app.server).post(ATTACK).set('prefer', 'respond-async').send(body);
    if (accepted.status !== 202) await new Promise((r) => setTimeout(r, 200));
  } while (accepted.status !== 202 && Date.now() < until);
  assert.equal(accepted.status, 202);
  assert.equal((await finished(app, accepted.headers.location!)).state, 'succeeded');
});
