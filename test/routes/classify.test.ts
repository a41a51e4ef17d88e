import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import { build } from '../helpers/build.ts';
import { encodeGrey, pixelArray } from '../helpers/images.ts';

const url = '/v1/models/tiny/classify';
const pixels = pixelArray(8, 8, (y, x) => ((y * 8 + x) % 5) / 5);

function assertPredictions(predictions: { label: string; index: number; probability: number }[], k: number) {
  assert.equal(predictions.length, k);
  for (let i = 1; i < predictions.length; i++) assert.ok(predictions[i - 1]!.probability >= predictions[i]!.probability);
  for (const p of predictions) assert.ok(['circle', 'square', 'triangle'][p.index] === p.label && p.probability >= 0 && p.probability <= 1);
}

test('every input form gives the same answer for the same image', async (t) => {
  const { app } = await build(t);
  const png = await encodeGrey(8, 8, 'png');
  const forms = [
    () => request(app.server).post(url).attach('image', png, { filename: 'x.png', contentType: 'image/png' }),
    () => request(app.server).post(url).send({ image: png.toString('base64') }),
    () => request(app.server).post(url).send({ image: `data:image/png;base64,${png.toString('base64')}` }),
    () => request(app.server).post(url).send({ image: pixelArray(8, 8, (y, x) => Math.round((255 * (y * 8 + x)) / 63) / 255) }),
  ];
  const answers: { index: number; probability: number }[][] = [];
  for (const send of forms) {
    const res = await send();
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.model, 'tiny');
    assertPredictions(res.body.predictions, 3);
    answers.push(res.body.predictions);
  }
  for (const a of answers.slice(1)) {
    a.forEach((p, i) => {
      assert.equal(p.index, answers[0]![i]!.index);
      assert.ok(Math.abs(p.probability - answers[0]![i]!.probability) < 1e-5);
    });
  }
});

test('topK limits and sorts the answer; a batch answers results in order', async (t) => {
  const { app } = await build(t);
  const one = await request(app.server).post(url).send({ image: pixels, topK: 2 });
  assert.equal(one.status, 200);
  assertPredictions(one.body.predictions, 2);
  const other = pixelArray(8, 8, () => 1);
  const batch = await request(app.server).post(url).send({ images: [pixels, other, pixels], topK: 1 });
  assert.equal(batch.status, 200);
  assert.equal(batch.body.results.length, 3);
  assert.deepEqual(batch.body.results[0], batch.body.results[2]);
  assert.equal(batch.body.results[0].predictions[0].index, one.body.predictions[0].index);
  const png = await encodeGrey(8, 8, 'png');
  const multi = await request(app.server)
    .post(url)
    .field('topK', '3')
    .attach('image', png, { filename: 'a.png', contentType: 'image/png' })
    .attach('image', await encodeGrey(8, 8, 'webp'), { filename: 'b.webp', contentType: 'image/webp' });
  assert.equal(multi.status, 200, multi.text);
  assert.equal(multi.body.results.length, 2);
  assertPredictions(multi.body.results[1].predictions, 3);
});

test('bad input answers 4xx naming the field, never 500', async (t) => {
  const { app } = await build(t, { argv: ['--max-batch-size', '3', '--max-image-bytes', '2048'] });
  const png = await encodeGrey(8, 8, 'png');
  const cases: [() => request.Test, number, string, string | undefined][] = [
    [() => request(app.server).post(url).send({}), 400, 'GRADLAB_BAD_IMAGE', 'image'],
    [() => request(app.server).post(url).send({ image: 'bm90IGFuIGltYWdl' }), 415, 'GRADLAB_UNSUPPORTED_MEDIA_TYPE', 'image'],
    [() => request(app.server).post(url).send({ image: '%%%' }), 400, 'GRADLAB_BAD_IMAGE', 'image'],
    [() => request(app.server).post(url).send({ image: pixels.slice(1) }), 400, 'GRADLAB_BAD_PIXELS', 'image'],
    [() => request(app.server).post(url).send({ images: [pixels, pixels.map((r) => r.map(() => 7))] }), 400, 'GRADLAB_BAD_PIXELS', 'images[1]'],
    [() => request(app.server).post(url).send({ image: pixels, topK: 'many' }), 400, 'GRADLAB_BAD_PARAMETER', 'topK'],
    [() => request(app.server).post(url).send({ image: pixels, topK: 1.5 }), 400, 'GRADLAB_BAD_PARAMETER', 'topK'],
    [() => request(app.server).post(url).send({ image: pixels, colour: 'red' }), 400, 'GRADLAB_BAD_PARAMETER', 'colour'],
    [() => request(app.server).post(url).send({ image: pixels, images: [pixels] }), 400, 'GRADLAB_BAD_PARAMETER', 'images'],
    [() => request(app.server).post(url).send({ images: [] }), 400, 'GRADLAB_BAD_PARAMETER', 'images'],
    [() => request(app.server).post(url).send({ images: [pixels, pixels, pixels, pixels] }), 413, 'GRADLAB_TOO_LARGE', 'images'],
    [() => request(app.server).post(url).send({ image: Buffer.alloc(4000).toString('base64') }), 413, 'GRADLAB_TOO_LARGE', 'image'],
    [() => request(app.server).post(url).set('content-type', 'application/json').send('{"image": [1,'), 400, 'GRADLAB_BAD_REQUEST', undefined],
    [() => request(app.server).post(url).set('content-type', 'text/plain').send('hello'), 415, 'GRADLAB_UNSUPPORTED_MEDIA_TYPE', undefined],
    [() => request(app.server).post(url).send([1, 2]), 400, 'GRADLAB_BAD_REQUEST', undefined],
    [() => request(app.server).post('/v1/models/nope/classify').send({ image: pixels }), 404, 'GRADLAB_UNKNOWN_MODEL', 'model'],
    [() => request(app.server).post(url).field('topK', '2'), 400, 'GRADLAB_BAD_IMAGE', 'image'],
    [() => request(app.server).post(url).attach('picture', png, 'a.png'), 400, 'GRADLAB_BAD_PARAMETER', 'picture'],
    [() => request(app.server).post(url).attach('image', Buffer.alloc(3000, 1), 'big.png'), 413, 'GRADLAB_TOO_LARGE', undefined],
    [() => request(app.server).post(url).attach('image', Buffer.from('GIF89a....'), 'a.gif'), 415, 'GRADLAB_UNSUPPORTED_MEDIA_TYPE', 'image'],
    [() => request(app.server).post(url).field('topK', '0').attach('image', png, 'a.png'), 400, 'GRADLAB_BAD_PARAMETER', 'topK'],
    [
      () => {
        let r = request(app.server).post(url);
        for (let i = 0; i < 4; i++) r = r.attach('image', png, `${i}.png`);
        return r;
      },
      413,
      'GRADLAB_TOO_LARGE',
      undefined,
    ],
  ];
  for (const [send, status, code, field] of cases) {
    const res = await send();
    assert.equal(res.status, status, `${code} ${field}: ${res.text}`);
    assert.equal(res.body.error.code, code, res.text);
    if (field) assert.equal(res.body.error.field, field, res.text);
    assert.equal(typeof res.body.error.message, 'string');
    assert.ok(!/at .*\.ts:\d+/.test(res.text), 'no stack trace');
  }
  const after = await request(app.server).post(url).send({ image: pixels });
  assert.equal(after.status, 200, 'the server still answers after every bad request');
});

test('classify leaves no tensor behind', async (t) => {
  const { app } = await build(t);
  await request(app.server).post(url).send({ image: pixels });
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) {
    await request(app.server).post(url).send({ images: [pixels, pixels] });
    await request(app.server).post(url).send({ image: pixels.slice(2) });
  }
  assert.equal(tf.memory().numTensors, before);
});

test('concurrent requests are answered correctly through the dynamic batcher', async (t) => {
  const { app } = await build(t, { argv: ['--batch-max-wait-ms', '20'] });
  const images = Array.from({ length: 12 }, (_, i) => pixelArray(8, 8, (y, x) => ((x + y + i) % 9) / 9));
  const alone: { index: number; probability: number }[][] = [];
  for (const image of images) alone.push((await request(app.server).post(url).send({ image })).body.predictions);
  const together = await Promise.all(images.map((image) => request(app.server).post(url).send({ image })));
  together.forEach((res, i) => {
    assert.equal(res.status, 200);
    assert.equal(res.body.predictions[0].index, alone[i]![0]!.index);
    assert.ok(Math.abs(res.body.predictions[0].probability - alone[i]![0]!.probability) < 1e-5);
  });
  const metrics = await request(app.server).get('/metrics');
  const sizes = metrics.text.match(/gradlab_batch_size_sum\{model="tiny"\} (\d+)/);
  const counts = metrics.text.match(/gradlab_batch_size_count\{model="tiny"\} (\d+)/);
  assert.ok(sizes && counts);
  assert.equal(Number(sizes[1]), 24);
  assert.ok(Number(counts[1]) < 24, `concurrent requests shared forward passes (${counts[1]} passes for 24 images)`);
});
