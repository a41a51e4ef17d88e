/**
 * KServe v1 over HTTP: `:predict` with TF Serving's `{"b64": …}` instances, pixel arrays and
 * named instances answers /v1's probabilities for the same image; `:explain` answers gradlab's
 * maps; bad bodies are 4xx `{"error"}` naming the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import { build } from '../helpers/build.ts';
import { encodeGrey, pixelArray } from '../helpers/images.ts';

const pixels = pixelArray(8, 8, (y, x) => ((y * 8 + x) % 5) / 5);

test(':predict answers /v1 probabilities for b64, pixel and named instances', async (t) => {
  const { app } = await build(t);
  const png = (await encodeGrey(8, 8, 'png')).toString('base64');
  const v1 = await request(app.server).post('/v1/models/tiny/classify').send({ images: [png, pixels], topK: 3 });
  const expected = v1.body.results.map((r: { predictions: { index: number; probability: number }[] }) => {
    const v = [0, 0, 0];
    for (const p of r.predictions) v[p.index] = p.probability;
    return v;
  });
  for (const instances of [[{ b64: png }, pixels], [{ image_bytes: { b64: png } }, { image: pixels }], [png, pixels]]) {
    const res = await request(app.server).post('/v1/models/tiny:predict').send({ instances });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.predictions, expected);
  }
  const columnar = await request(app.server).post('/v1/models/tiny:predict').send({ inputs: { image: [{ b64: png }] } });
  assert.deepEqual(columnar.body.predictions, [expected[0]]);
  // curl -d sends a form content type: the body is JSON all the same.
  const form = await request(app.server).post('/v1/models/tiny:predict').set('content-type', 'application/x-www-form-urlencoded').send(JSON.stringify({ instances: [pixels] }));
  assert.equal(form.status, 200, form.text);
  assert.deepEqual(form.body.predictions, [expected[1]]);
});

test(':explain answers gradlab explanation maps', async (t) => {
  const { app } = await build(t);
  const before = tf.memory().numTensors;
  const res = await request(app.server).post('/v1/models/tiny:explain').send({ instances: [pixels], parameters: { method: 'gradient', target: 1 } });
  assert.equal(res.status, 200, res.text);
  const [e] = res.body.explanations;
  assert.equal(e.method, 'gradient');
  assert.equal(e.target.index, 1);
  assert.deepEqual(e.map.shape, [8, 8, 1]);
  assert.equal(tf.memory().numTensors, before);
});

test('bad bodies are 4xx {"error"} naming the field', async (t) => {
  const { app } = await build(t);
  const cases: [string, unknown, number, RegExp][] = [
    ['/v1/models/tiny:predict', {}, 400, /instances/],
    ['/v1/models/tiny:predict', 'not json', 400, /not valid JSON/],
    ['/v1/models/tiny:predict', { instances: [] }, 400, /instances.*non-empty/],
    ['/v1/models/tiny:predict', { instances: [{ a: 1, b: 2 }] }, 400, /instances\[0\]/],
    ['/v1/models/tiny:predict', { instances: [pixels], extra: 1 }, 400, /extra/],
    ['/v1/models/tiny:predict', { instances: Array(65).fill(pixels) }, 413, /limit of 64/],
    ['/v1/models/tiny:predict', { instances: [{ b64: 'aGVsbG8=' }] }, 415, /instances\[0\]/],
    ['/v1/models/nope:predict', { instances: [pixels] }, 404, /nope/],
    ['/v1/models/tiny:explain', { instances: [pixels], parameters: { method: 'magic' } }, 400, /method/],
  ];
  for (const [url, body, status, pattern] of cases) {
    const res = await request(app.server).post(url).set('content-type', 'application/json').send(typeof body === 'string' ? body : JSON.stringify(body));
    assert.equal(res.status, status, `${url} ${JSON.stringify(body).slice(0, 80)}: ${res.text}`);
    assert.match(res.body.error, pattern);
  }
});
