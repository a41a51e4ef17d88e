/**
 * `POST /v1/models/:model/explain` with `Accept: text/event-stream` (routes/explain.ts through
 * src/http/sse.ts): progress in gradient evaluations up to the declared cost, then the JSON answer
 * as the `result` event; bad input is a plain 400; a client that leaves stops the explanation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { build } from '../helpers/build.ts';
import { pixelArray } from '../helpers/images.ts';
import { hangUpAfterFirstProgress, parseEvents } from '../helpers/sse.ts';

const url = '/v1/models/tiny/explain';
const image = pixelArray(8, 8, (y, x) => ((y * 3 + x * 5) % 11) / 11);
const other = pixelArray(8, 8, (y, x) => ((y + x) % 4) / 4);

/** Streams a request; checks the progress events count up to `total`; answers the `result` event's data. */
async function streamed(app: Awaited<ReturnType<typeof build>>['app'], body: object, total: number) {
  const res = await request(app.server).post(url).set('accept', 'text/event-stream').send(body);
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers['content-type'] ?? '', /text\/event-stream/);
  const events = parseEvents(res.text);
  const progress = events.filter((e) => e.event === 'progress').map((e) => e.data as { done: number; total: number });
  assert.ok(progress.length >= 1, res.text);
  for (const [k, p] of progress.entries()) {
    assert.deepEqual(Object.keys(p).sort(), ['done', 'total']);
    assert.equal(p.total, total);
    assert.ok(p.done > (progress[k - 1]?.done ?? 0) && p.done <= total, res.text);
  }
  assert.equal(progress.at(-1)!.done, total, 'the last progress event is the whole cost');
  assert.equal(events.at(-1)!.event, 'result');
  assert.equal(events.filter((e) => e.event === 'result').length, 1);
  return events.at(-1)!.data;
}

test('integrated gradients stream progress up to steps + 1 per image; the result is the JSON answer', async (t) => {
  const { app } = await build(t);
  for (const body of [
    { image, method: 'integrated-gradients', steps: 100, rule: 'uniform' },
    { image, method: 'integrated-gradients', steps: 64, baseline: 'white' },
  ]) {
    const result = await streamed(app, body, body.steps + 1);
    const json = await request(app.server).post(url).send(body);
    assert.equal(json.status, 200);
    assert.deepEqual(result, json.body);
    assert.ok(result.completeness.relativeError < 0.05);
  }
});

test('SmoothGrad streams progress per sample, for one image and a batch; the result is the JSON answer', async (t) => {
  const { app } = await build(t);
  const one = { image, method: 'smoothgrad', samples: 12, seed: 3 };
  assert.deepEqual(await streamed(app, one, 12), (await request(app.server).post(url).send(one)).body);
  const batch = { images: [image, other], method: 'smoothgrad', base: 'guided-gradcam', samples: 5, noise: 0.1 };
  const result = await streamed(app, batch, 2 * 2 * 5); // guided Grad-CAM: 2 gradients per image
  assert.equal(result.results.length, 2);
  assert.deepEqual(result, (await request(app.server).post(url).send(batch)).body);
});

test('bad input is a plain JSON 400 before any stream; Accept: image/png still answers the PNG', async (t) => {
  const { app } = await build(t, { argv: ['--max-steps', '50'] });
  const cases: [object, string][] = [
    [{ image, method: 'gradcam', layer: 'nope' }, 'layer'],
    [{ image, method: 'gradient', target: 'hexagon' }, 'target'],
    [{ image, method: 'smoothgrad', base: 'smoothgrad' }, 'base'],
    [{ image, method: 'integrated-gradients', steps: 51 }, 'steps'],
    [{ image: [[1, 2], [3]], method: 'gradient' }, 'image'],
    [{ image, method: 'integrated-gradients', baseline: [[0]] }, 'baseline'],
  ];
  for (const [body, field] of cases) {
    const res = await request(app.server).post(url).set('accept', 'text/event-stream').send(body);
    assert.equal(res.status, 400, `${field}: ${res.text}`);
    assert.match(res.headers['content-type'] ?? '', /application\/json/);
    assert.equal(res.body.error.field, field, res.text);
  }
  const png = await request(app.server).post(url).set('accept', 'image/png').send({ image, method: 'integrated-gradients', steps: 8 });
  assert.equal(png.headers['content-type'], 'image/png');
});

test('a client that disconnects stops the explanation in its worker: the heavy slot frees at once', async (t) => {
  // One worker, and a short queue wait: if the explanation went on, the next request would be refused.
  const { app } = await build(t, { argv: ['--max-steps', '1000000', '--heavy-queue-wait-ms', '4000'] });
  await hangUpAfterFirstProgress(app, url, { image, method: 'integrated-gradients', steps: 1_000_000, rule: 'uniform' });
  const started = performance.now();
  const next = await request(app.server).post(url).send({ image, method: 'gradient' });
  assert.equal(next.status, 200, next.text);
  assert.ok(performance.now() - started < 4000);
});
