/**
 * `POST /v1/models/:model/visualize` with `Accept: text/event-stream` (routes/visualize.ts through
 * src/http/sse.ts): a progress event per step (throttled), the JSON answer as the `result` event,
 * bad input as a plain 400, and a client that leaves stops the ascent, in a worker or in-process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import { build } from '../helpers/build.ts';
import { hangUpAfterFirstProgress, parseEvents } from '../helpers/sse.ts';

const url = '/v1/models/tiny/visualize';

test('progress events count the steps up to steps, with the objective; the result is the JSON answer', async (t) => {
  const { app } = await build(t);
  const body = { target: 'square', steps: 300, seed: 2, snapshotEvery: 100 };
  const res = await request(app.server).post(url).set('accept', 'text/event-stream').send(body);
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers['content-type'] ?? '', /text\/event-stream/);
  const events = parseEvents(res.text);
  const progress = events.filter((e) => e.event === 'progress').map((e) => e.data as { step: number; steps: number; objective: number });
  assert.ok(progress.length >= 1);
  for (const [k, p] of progress.entries()) {
    assert.deepEqual(Object.keys(p).sort(), ['objective', 'step', 'steps']);
    assert.equal(p.steps, 300);
    assert.ok(p.step > (progress[k - 1]?.step ?? 0) && Number.isFinite(p.objective));
  }
  assert.equal(progress.at(-1)!.step, 300);
  assert.deepEqual(events.map((e) => e.event).filter((e) => e !== 'progress'), ['result']);
  const json = await request(app.server).post(url).send(body);
  assert.deepEqual(events.at(-1)!.data, json.body);
  assert.equal(json.body.snapshots.length, 2);
});

test('bad input is a plain JSON 400 before any stream', async (t) => {
  const { app } = await build(t, { argv: ['--max-steps', '50'] });
  const cases: [object, string][] = [
    [{ steps: 5 }, 'target'],
    [{ target: 'hexagon' }, 'target'],
    [{ layer: 'nope', channel: 0 }, 'layer'],
    [{ layer: 'conv1', channel: 999 }, 'channel'],
    [{ target: 1, channel: 0 }, 'channel'],
    [{ target: 1, steps: 51 }, 'steps'],
  ];
  for (const [body, field] of cases) {
    const res = await request(app.server).post(url).set('accept', 'text/event-stream').send(body);
    assert.equal(res.status, 400, `${field}: ${res.text}`);
    assert.match(res.headers['content-type'] ?? '', /application\/json/);
    assert.equal(res.body.error.field, field, res.text);
  }
});

for (const workers of ['1', '0']) {
  test(`a client that disconnects stops the ascent (--heavy-workers ${workers}): the slot frees${workers === '0' ? ', no tensor leaks' : ''}`, async (t) => {
    // A short queue wait: if the ascent went on, the next request would be refused.
    const { app } = await build(t, { argv: ['--max-steps', '1000000', '--heavy-workers', workers, '--heavy-queue-wait-ms', '4000'] });
    await request(app.server).post(url).send({ target: 1, steps: 2 });
    const before = tf.memory().numTensors;
    await hangUpAfterFirstProgress(app, url, { target: 1, steps: 1_000_000 });
    const started = performance.now();
    const next = await request(app.server).post(url).send({ target: 1, steps: 2 });
    assert.equal(next.status, 200, next.text);
    assert.ok(performance.now() - started < 4000);
    assert.equal(tf.memory().numTensors, before, 'in this thread (in-process mode): every tensor freed');
  });
}
