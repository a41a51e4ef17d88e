import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { build } from '../helpers/build.ts';

test('GET /v1/models lists every model with kind, labels, input, provenance and backend', async (t) => {
  const { app } = await build(t);
  const res = await request(app.server).get('/v1/models');
  assert.equal(res.status, 200);
  assert.equal(res.body.backend, 'wasm');
  assert.equal(res.body.models.length, 1);
  const m = res.body.models[0];
  assert.equal(m.name, 'tiny');
  assert.equal(m.kind, 'image-classifier');
  assert.deepEqual(m.labels, ['circle', 'square', 'triangle']);
  assert.deepEqual(m.input, { shape: [8, 8, 1], range: [0, 1], layout: 'NHWC' });
  assert.equal(m.provenance.trainedBy, 'test/helpers/fixture-model.ts');
  assert.equal(m.backend, 'wasm');
  assert.deepEqual(m.layers.map((l: { name: string }) => l.name), ['conv1', 'pool1', 'flatten', 'logits']);
  assert.equal(m.layers[0].activation, 'relu');
  assert.equal(m.parameters, 4 * 9 + 4 + 64 * 3 + 3);
  // What Grad-CAM's `layer` may name: the layers with a spatial output; by default the last convolution.
  assert.deepEqual(m.gradcamLayers, ['conv1', 'pool1']);
  assert.equal(m.defaultGradcamLayer, 'conv1');
  assert.equal(m.nodeByNode, undefined);
});

test('GET /v1/models/:model answers one model, 404 for an unknown one', async (t) => {
  const { app } = await build(t);
  const ok = await request(app.server).get('/v1/models/tiny');
  assert.equal(ok.status, 200);
  assert.equal(ok.body.name, 'tiny');
  const missing = await request(app.server).get('/v1/models/nope');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, { error: { code: 'GRADLAB_UNKNOWN_MODEL', message: "no model named 'nope' is loaded", field: 'model' } });
});

test('black-box mode shows only name, kind, labels and input shape', async (t) => {
  const { app } = await build(t, { argv: ['--mode', 'blackbox', '--allow-no-keys', 'yes'] });
  const res = await request(app.server).get('/v1/models');
  assert.equal(res.status, 200);
  assert.equal(res.body.backend, undefined);
  assert.deepEqual(res.body.models[0], { name: 'tiny', kind: 'image-classifier', labels: ['circle', 'square', 'triangle'], input: { shape: [8, 8, 1] } });
  assert.equal((await request(app.server).get('/docs')).status, 404);
});

test('unknown routes answer a JSON 404', async (t) => {
  const { app } = await build(t);
  const res = await request(app.server).get('/v2/nothing');
  assert.equal(res.status, 404);
  assert.equal(res.body.error.code, 'GRADLAB_NOT_FOUND');
});
