/**
 * Jobs on the in-process queue (no Redis): `Prefer: respond-async` on attack, explain and visualize
 * answers 202 with Location; the job ends with the very answer the synchronous route gives;
 * events stream state and progress then the result; DELETE cancels a running job and a queued
 * one; unknown ids are 404; bad input and over-costly requests are refused before queueing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import type { FastifyInstance } from 'fastify';
import { build } from '../helpers/build.ts';
import { pixelArray } from '../helpers/images.ts';
import { parseEvents } from '../helpers/sse.ts';

const image = pixelArray(8, 8, (y, x) => ((y * 3 + x * 5) % 11) / 11);
const ASYNC = { prefer: 'respond-async' };

interface JobBody { id: string; state: string; attempts: number; result?: Record<string, unknown>; error?: { code: string }; progress?: unknown; links: { self: string; events: string } }

async function waitFinished(app: FastifyInstance, location: string, timeoutMs = 30_000): Promise<JobBody> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(app.server).get(location);
    assert.equal(res.status, 200, res.text);
    const body = res.body as JobBody;
    if (['succeeded', 'failed', 'cancelled'].includes(body.state)) return body;
    assert.equal(res.headers['retry-after'], '1');
    if (Date.now() > until) throw new Error(`job still ${body.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('attack, explain and visualize as jobs: 202 + Location, then exactly the synchronous answer', { timeout: 120_000 }, async (t) => {
  const { app } = await build(t, { argv: ['--heavy-workers', '0'] });
  const cases: { url: string; body: object; drop: string[] }[] = [
    { url: '/v1/models/tiny/attack', body: { image, method: 'pgd', epsilon: 0.3, steps: 5, seed: 1 }, drop: ['elapsedMs'] },
    { url: '/v1/models/tiny/explain', body: { images: [image, image], method: 'integrated-gradients', steps: 8 }, drop: [] as string[] },
    { url: '/v1/models/tiny/visualize', body: { target: 'square', steps: 5, seed: 3 }, drop: [] },
  ];
  const before = tf.memory().numTensors;
  for (const { url, body, drop } of cases) {
    const accepted = await request(app.server).post(url).set(ASYNC).send(body);
    assert.equal(accepted.status, 202, accepted.text);
    assert.equal(accepted.headers['preference-applied'], 'respond-async');
    const location = accepted.headers.location!;
    assert.match(location, /^\/v1\/jobs\/[0-9a-f-]{36}$/);
    assert.equal((accepted.body as JobBody).state, 'queued');
    assert.equal((accepted.body as JobBody).links.self, location);
    const done = await waitFinished(app, location);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.attempts, 1);
    const sync = await request(app.server).post(url).send(body);
    assert.equal(sync.status, 200);
    const strip = (o: unknown) => JSON.parse(JSON.stringify(o, (k, v: unknown) => (drop.includes(k) ? undefined : v))) as unknown;
    assert.deepEqual(strip(done.result), strip(sync.body), `${url}: the job's answer is the route's answer`);
  }
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind by jobs');
});

test('events: state, progress, then the result; a finished job streams its end at once', { timeout: 60_000 }, async (t) => {
  const { app } = await build(t, { argv: ['--heavy-workers', '0'] });
  const accepted = await request(app.server).post('/v1/models/tiny/attack').set(ASYNC).send({ image, method: 'pgd', epsilon: 0.3, steps: 200, seed: 1 });
  const events = parseEvents((await request(app.server).get(`${accepted.headers.location}/events`)).text);
  const names = events.map((e) => e.event);
  assert.equal(names[0], 'state');
  assert.ok(names.includes('progress'), names.join(','));
  assert.deepEqual(names.slice(-2), ['state', 'result']);
  assert.equal(events.at(-2)!.data.state, 'succeeded');
  assert.equal(events.at(-1)!.data.iterations, 200);
  const again = parseEvents((await request(app.server).get(`${accepted.headers.location}/events`)).text);
  assert.deepEqual(again.map((e) => e.event), ['state', 'result']);
});

test('DELETE cancels a running job and a queued one; unknown ids are 404, bad ids 400', { timeout: 60_000 }, async (t) => {
  const { app } = await build(t, { argv: ['--heavy-workers', '1', '--max-steps', '100000', '--max-cost', '100000000'] });
  const long = { image, method: 'pgd', epsilon: 0.3, steps: 50_000, seed: 1 };
  const running = await request(app.server).post('/v1/models/tiny/attack').set(ASYNC).send(long);
  const queued = await request(app.server).post('/v1/models/tiny/attack').set(ASYNC).send(long);
  const until = Date.now() + 20_000;
  while ((await request(app.server).get(running.headers.location!)).body.state !== 'running' && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  const cancelQueued = await request(app.server).delete(queued.headers.location!);
  assert.equal(cancelQueued.status, 200);
  assert.equal(cancelQueued.body.state, 'cancelled');
  assert.equal((await request(app.server).delete(running.headers.location!)).status, 200);
  const stopped = await waitFinished(app, running.headers.location!, 20_000);
  assert.equal(stopped.state, 'cancelled');
  assert.equal(stopped.error!.code, 'GRADLAB_CANCELLED');
  const gone = await request(app.server).get('/v1/jobs/00000000-0000-0000-0000-000000000000');
  assert.equal(gone.status, 404);
  assert.equal(gone.body.error.code, 'GRADLAB_NOT_FOUND');
  assert.equal((await request(app.server).delete('/v1/jobs/nope')).status, 404);
  assert.equal((await request(app.server).get('/v1/jobs/bad%20id')).status, 400);
});

test('bad input and over-costly work are refused before anything is queued', { timeout: 60_000 }, async (t) => {
  const { app } = await build(t, { argv: ['--max-cost', '100'] });
  const costly = await request(app.server).post('/v1/models/tiny/attack').set(ASYNC).send({ image, method: 'pgd', epsilon: 0.3, steps: 500 });
  assert.equal(costly.status, 400);
  assert.equal(costly.body.error.code, 'GRADLAB_TOO_COSTLY');
  const badImage = await request(app.server).post('/v1/models/tiny/explain').set(ASYNC).send({ image: [[1, 2]], method: 'gradient' });
  assert.equal(badImage.status, 400);
  const badMethod = await request(app.server).post('/v1/models/tiny/visualize').set(ASYNC).send({ target: 'no-such-class', steps: 5 });
  assert.equal(badMethod.status, 400, badMethod.text);
  const metrics = await request(app.server).get('/metrics');
  assert.match(metrics.text, /gradlab_jobs_queue_depth\{state="queued"\} 0/);
});
