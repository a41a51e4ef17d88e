/**
 * OIP v2 health, server metadata, model metadata, readiness and the model configuration extension
 * (Triton's field names: max_batch_size, input format FORMAT_NHWC), with and without `/versions/1`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { build } from '../../helpers/build.ts';

test('health and server metadata', async (t) => {
  const { app } = await build(t);
  assert.deepEqual((await request(app.server).get('/v2/health/live')).body, { live: true });
  const ready = await request(app.server).get('/v2/health/ready');
  assert.equal(ready.status, 200);
  assert.deepEqual(ready.body, { ready: true });
  const meta = await request(app.server).get('/v2');
  assert.equal(meta.body.name, 'gradlab');
  assert.ok(meta.body.extensions.includes('binary_tensor_data') && meta.body.extensions.includes('classification'));
});

test('model metadata, ready and config, also under versions/1; another version is a 404', async (t) => {
  const { app, config } = await build(t, { argv: ['--max-batch-size', '16'] });
  for (const prefix of ['/v2/models/tiny', '/v2/models/tiny/versions/1']) {
    const meta = await request(app.server).get(prefix);
    assert.equal(meta.status, 200);
    assert.deepEqual(meta.body.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 8, 8, 1] }]);
    assert.deepEqual(meta.body.outputs, [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }]);
    assert.deepEqual(meta.body.versions, ['1']);
    const ready = await request(app.server).get(`${prefix}/ready`);
    assert.equal(ready.status, 200);
    const cfg = await request(app.server).get(`${prefix}/config`);
    assert.equal(cfg.body.max_batch_size, config.limits.maxBatchSize);
    assert.equal(cfg.body.max_batch_size, 16);
    assert.deepEqual(cfg.body.input, [{ name: 'input', data_type: 'TYPE_FP32', format: 'FORMAT_NHWC', dims: [8, 8, 1] }]);
    assert.deepEqual(cfg.body.output, [{ name: 'probabilities', data_type: 'TYPE_FP32', dims: [3] }]);
  }
  for (const url of ['/v2/models/tiny/versions/2', '/v2/models/tiny/versions/2/config', '/v2/models/nope', '/v2/models/nope/ready']) {
    const res = await request(app.server).get(url);
    assert.equal(res.status, 404, url);
    assert.equal(typeof res.body.error, 'string');
  }
});
