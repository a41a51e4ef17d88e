import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { build } from '../helpers/build.ts';
import { pixelArray } from '../helpers/images.ts';
import { routeLabel } from '../../src/http/app.ts';

test('metrics count requests by route, model and status, and report inference, batches and tfjs memory', async (t) => {
  const { app } = await build(t);
  const image = pixelArray(8, 8, () => 0.2);
  await request(app.server).post('/v1/models/tiny/classify').send({ images: [image, image, image] });
  await request(app.server).post('/v1/models/tiny/classify').send({ image: [[2]] });
  await request(app.server).get('/v1/models/nope');
  const res = await request(app.server).get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'] ?? '', /text\/plain/);
  const text = res.text;
  assert.match(text, /gradlab_http_requests_total\{method="POST",route="\/v1\/models\/:model\/classify",model="tiny",status="200"\} 1/);
  assert.match(text, /gradlab_http_requests_total\{method="POST",route="\/v1\/models\/:model\/classify",model="tiny",status="400"\} 1/);
  assert.match(text, /gradlab_http_requests_total\{method="GET",route="\/v1\/models\/:model",model="",status="404"\} 1/);
  assert.match(text, /gradlab_http_request_duration_seconds_bucket\{le="[\d.+Inf]+",method="POST",route="\/v1\/models\/:model\/classify",model="tiny"\}/);
  assert.match(text, /gradlab_inference_seconds_count\{model="tiny"\} 1/);
  assert.match(text, /gradlab_batch_size_sum\{model="tiny"\} 3/);
  assert.match(text, /gradlab_images_classified_total\{model="tiny"\} 3/);
  assert.match(text, /gradlab_tfjs_tensors \d+/);
  assert.match(text, /gradlab_tfjs_bytes \d+/);
  assert.match(text, /process_resident_memory_bytes \d+/);
});

test('route labels are the declared paths without parameter regexes (KServe :predict reads as written)', async (t) => {
  assert.equal(routeLabel('/v1/models/:model(^[^:/]+)::predict'), '/v1/models/:model:predict');
  assert.equal(routeLabel('/v1/models/:model/classify'), '/v1/models/:model/classify');
  assert.equal(routeLabel(undefined), 'unmatched');
  const { app } = await build(t);
  await request(app.server).post('/v1/models/tiny:predict').send({ instances: [pixelArray(8, 8, () => 0.2)] });
  const text = (await request(app.server).get('/metrics')).text;
  assert.match(text, /gradlab_http_requests_total\{method="POST",route="\/v1\/models\/:model:predict",model="tiny",status="200"\} 1/);
});
