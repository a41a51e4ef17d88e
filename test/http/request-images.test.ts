/**
 * Messages a newcomer can act on (src/http/request-images.ts, src/http/error-response.ts): an unknown
 * method lists the valid ones, a sequence sent to an image route names the route that takes it, the
 * reverse names the image routes, and every 413 states the limit it hit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.ts';
import { encodeGrey } from '../helpers/images.ts';

const png = async () => Buffer.from(await encodeGrey(8, 8, 'png')).toString('base64');

test('an unknown method or norm lists the valid values and echoes what was sent', async (t) => {
  const { app } = await build(t);
  const image = await png();
  const explain = await app.inject({ method: 'POST', url: '/v1/models/tiny/explain', payload: { image, method: 'magic' } });
  assert.equal(explain.statusCode, 400);
  assert.deepEqual(explain.json().error, {
    code: 'GRADLAB_BAD_PARAMETER',
    field: 'method',
    message: 'method: must be one of gradient, guided-backprop, gradcam, guided-gradcam, integrated-gradients, smoothgrad (got "magic")',
  });
  const attack = await app.inject({ method: 'POST', url: '/v1/models/tiny/attack', payload: { image, method: 'pgd', epsilon: 0.1, norm: 'l1' } });
  assert.equal(attack.statusCode, 400);
  assert.equal(attack.json().error.message, 'norm: must be one of linf, l2 (got "l1")');
  const unknown = await app.inject({ method: 'POST', url: '/v1/models/tiny/classify', payload: { image, topk: 3 } });
  assert.equal(unknown.json().error.message, 'topk: is not a known field');
});

test('a sequence sent to an image route names /score; an image sent to a sequence model names the image routes', async (t) => {
  const { app } = await build(t, { sequenceModels: ['rnn-parity'] });
  const toClassify = await app.inject({ method: 'POST', url: '/v1/models/tiny/classify', payload: { sequence: '0101' } });
  assert.equal(toClassify.statusCode, 400);
  assert.equal(toClassify.json().error.field, 'sequence');
  assert.match(toClassify.json().error.message, /\/score route/);
  const toScore = await app.inject({ method: 'POST', url: '/v1/models/rnn-parity/score', payload: { image: await png() } });
  assert.equal(toScore.statusCode, 400);
  assert.match(toScore.json().error.message, /\/classify/);
});

test('every 413 states the limit it hit', async (t) => {
  const { app } = await build(t, { argv: ['--max-body-bytes', '2048', '--max-image-bytes', '1024', '--max-batch-size', '2'] });
  const body = await app.inject({ method: 'POST', url: '/v1/models/tiny/classify', payload: { image: 'x'.repeat(4096) } });
  assert.equal(body.statusCode, 413);
  assert.equal(body.json().error.message, 'the request body is larger than the limit of 2048 bytes');
  const part = (name: string, bytes: number) =>
    `--b\r\nContent-Disposition: form-data; name="${name}"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n${'y'.repeat(bytes)}\r\n`;
  const file = await app.inject({
    method: 'POST',
    url: '/v1/models/tiny/classify',
    payload: `${part('image', 1500)}--b--\r\n`,
    headers: { 'content-type': 'multipart/form-data; boundary=b' },
  });
  assert.equal(file.statusCode, 413);
  assert.equal(file.json().error.message, 'an uploaded image is larger than the limit of 1024 bytes');
  const files = await app.inject({
    method: 'POST',
    url: '/v1/models/tiny/classify',
    payload: `${part('image', 10)}${part('image', 10)}${part('image', 10)}--b--\r\n`,
    headers: { 'content-type': 'multipart/form-data; boundary=b' },
  });
  assert.equal(files.statusCode, 413);
  assert.equal(files.json().error.message, 'more than 2 images in one request');
  const json = await app.inject({ method: 'POST', url: '/v1/models/tiny/classify', payload: { images: [1, 2, 3] } });
  assert.equal(json.statusCode, 413);
  assert.match(json.json().error.message, /more than the limit of 2/);
});
