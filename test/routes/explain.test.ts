import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import { ExplainParams, MethodParameters } from '../../routes/schemas/explain.ts';
import { allParameters, BASE_METHODS, COST_PARAMETERS, EXPLAIN_METHODS } from '../../src/explain/registry.ts';
import { build } from '../helpers/build.ts';
import { encodeGrey, pixelArray } from '../helpers/images.ts';

const url = '/v1/models/tiny/explain';
const image = pixelArray(8, 8, (y, x) => ((y * 3 + x * 5) % 11) / 11);
const other = pixelArray(8, 8, (y, x) => ((y + x) % 4) / 4);

test('every method answers a map of exact floats, a target, a prediction and a PNG', async (t) => {
  const { app } = await build(t);
  for (const method of ['gradient', 'guided-backprop', 'gradcam', 'guided-gradcam', 'smoothgrad', 'integrated-gradients']) {
    const res = await request(app.server).post(url).send({ image, method, samples: 4, steps: 16 });
    assert.equal(res.status, 200, `${method}: ${res.text}`);
    const body = res.body;
    assert.equal(body.model, 'tiny');
    assert.equal(body.method, method);
    assert.equal(body.target.index, body.prediction[0].index, 'default target: the predicted class');
    assert.equal(body.target.label, ['circle', 'square', 'triangle'][body.target.index]);
    assert.deepEqual(body.map.shape, method.endsWith('gradcam') && method === 'gradcam' ? [8, 8, 1] : [8, 8, 1]);
    assert.equal(body.map.data.length, 64);
    assert.ok(body.map.data.every((v: unknown) => typeof v === 'number' && Number.isFinite(v)));
    assert.ok(body.map.data.some((v: number) => v !== 0), `${method}: map is not all zero`);
    const png = Buffer.from(body.png, 'base64');
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    if (method === 'integrated-gradients') assert.ok(body.completeness.relativeError < 0.05);
    if (method === 'smoothgrad') assert.equal(body.base, 'gradient');
  }
});

test('targets by index or label; Accept: image/png answers the PNG alone; batches answer results', async (t) => {
  const { app } = await build(t);
  const byIndex = await request(app.server).post(url).send({ image, method: 'gradient', target: 1 });
  const byLabel = await request(app.server).post(url).send({ image, method: 'gradient', target: 'square' });
  assert.deepEqual(byIndex.body.target, { index: 1, label: 'square' });
  assert.deepEqual(byIndex.body.map, byLabel.body.map);
  const logit = await request(app.server).post(url).send({ image, method: 'gradient', target: 1, score: 'logit' });
  assert.equal(logit.body.score, 'logit');
  assert.notDeepEqual(logit.body.map.data, byIndex.body.map.data);

  const png = await request(app.server).post(url).set('accept', 'image/png').send({ image, method: 'gradcam', overlay: true, scale: 2 });
  assert.equal(png.status, 200);
  assert.equal(png.headers['content-type'], 'image/png');
  assert.equal(png.body.subarray(1, 4).toString(), 'PNG');
  assert.equal(png.body.readUInt32BE(16), 16, 'scale 2 doubles the 8-pixel width');

  const batch = await request(app.server).post(url).send({ images: [image, other], method: 'gradient' });
  assert.equal(batch.status, 200);
  assert.equal(batch.body.results.length, 2);
  const multipart = await request(app.server).post(url).field('method', 'gradcam').field('target', 'circle').attach('image', await encodeGrey(8, 8, 'png'), 'x.png');
  assert.equal(multipart.status, 200, multipart.text);
  assert.deepEqual(multipart.body.target, { index: 0, label: 'circle' });
  const ig = await request(app.server).post(url).send({ image, method: 'integrated-gradients', baseline: 'white', steps: 32 });
  assert.equal(ig.status, 200);
  const igArray = await request(app.server).post(url).send({ image, method: 'integrated-gradients', baseline: pixelArray(8, 8, () => 1), steps: 32 });
  assert.deepEqual(igArray.body.map, ig.body.map);
});

test('interleaved guided and plain requests give exactly what they give alone', async (t) => {
  const { app } = await build(t);
  const send = (method: string, img = image) => request(app.server).post(url).send({ image: img, method, target: 2 });
  const aloneGuided = (await send('guided-backprop')).body.map.data;
  const alonePlain = (await send('gradient')).body.map.data;
  const aloneGuidedOther = (await send('guided-backprop', other)).body.map.data;
  assert.notDeepEqual(aloneGuided, alonePlain);
  const mixed = await Promise.all([send('gradient'), send('guided-backprop'), send('gradient'), send('guided-backprop', other), send('gradient'), send('guided-gradcam')]);
  assert.deepEqual(mixed[0].body.map.data, alonePlain);
  assert.deepEqual(mixed[1].body.map.data, aloneGuided);
  assert.deepEqual(mixed[2].body.map.data, alonePlain);
  assert.deepEqual(mixed[3].body.map.data, aloneGuidedOther);
  assert.deepEqual(mixed[4].body.map.data, alonePlain);
  const plainAfter = (await send('gradient')).body.map.data;
  assert.deepEqual(plainAfter, alonePlain, 'no override survives a guided request');
});

test('every bad parameter answers 400 naming it', async (t) => {
  const { app } = await build(t, { argv: ['--max-steps', '100'] });
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ image }, 'method', /method/],
    [{ image, method: 'magic' }, 'method', /method/],
    [{ image, method: 'gradient', target: 7 }, 'target', /out of range/],
    [{ image, method: 'gradient', target: 'hexagon' }, 'target', /unknown label/],
    [{ image, method: 'gradient', target: -1 }, 'target', /target/],
    [{ image, method: 'gradient', score: 'prob' }, 'score', /score/],
    [{ image, method: 'gradcam', layer: 'conv9' }, 'layer', /no layer named 'conv9'/],
    [{ image, method: 'smoothgrad', base: 'smoothgrad' }, 'base', /base/],
    [{ image, method: 'smoothgrad', samples: 0 }, 'samples', /samples/],
    [{ image, method: 'smoothgrad', samples: 101 }, 'samples', /over the configured maximum of 100/],
    [{ image, method: 'smoothgrad', noise: 2 }, 'noise', /noise/],
    [{ image, method: 'integrated-gradients', steps: 101 }, 'steps', /over the configured maximum/],
    [{ image, method: 'integrated-gradients', baseline: [[1]] }, 'baseline', /baseline/],
    [{ image, method: 'gradient', overlay: 'yes' }, 'overlay', /overlay/],
    [{ image, method: 'gradient', scale: 99 }, 'scale', /scale/],
    [{ image, method: 'gradient', encodingFormat: 'float64' }, 'encodingFormat', /encodingFormat/],
    [{ image, method: 'gradient', colour: 1 }, 'colour', /colour/],
  ];
  for (const [body, field, message] of cases) {
    const res = await request(app.server).post(url).send(body);
    assert.equal(res.status, 400, `${field}: ${res.text}`);
    assert.equal(res.body.error.field, field, res.text);
    assert.match(res.body.error.message, message);
  }
  const notImage = await request(app.server).post(url).send({ image, method: 'integrated-gradients', baseline: 'grey' });
  assert.equal(notImage.status, 415, 'a baseline string that is neither black, white nor an image');
  assert.equal(notImage.body.error.field, 'baseline');
  const png = await request(app.server).post(url).set('accept', 'image/png').send({ images: [image, image], method: 'gradient' });
  assert.equal(png.status, 400);
  assert.equal(png.body.error.field, 'images');
});

test('the schema lists exactly the specs\' methods and parameters, with their bounds', () => {
  const literals = (schema: unknown) => ((schema as { anyOf: { const: string }[] }).anyOf).map((o) => o.const);
  assert.deepEqual(literals(ExplainParams.properties.method), [...EXPLAIN_METHODS]);
  const specParameters = allParameters();
  assert.deepEqual(Object.keys(MethodParameters), specParameters.map(([name]) => name));
  const shared = ['method', 'target', 'score', 'overlay', 'scale', 'encodingFormat'];
  assert.deepEqual(Object.keys(ExplainParams.properties).filter((k) => !shared.includes(k)), specParameters.map(([name]) => name));
  for (const [name, param] of specParameters) {
    const schema = ExplainParams.properties[name as keyof typeof ExplainParams.properties] as Record<string, unknown>;
    assert.ok(!(ExplainParams.required as string[] | undefined)?.includes(name), `${name} is optional`);
    if (param.type === 'integer' || param.type === 'number') {
      assert.equal(schema.type, param.type, name);
      assert.equal(schema.minimum, param.minimum, name);
      assert.equal(schema.maximum, param.maximum, name);
    }
    if (param.type === 'enum') assert.deepEqual(literals(schema), [...param.values!], name);
    if (param.type === 'base-method') assert.deepEqual(literals(schema), [...BASE_METHODS], name);
  }
});

test('steps and samples are each held to --max-steps, whatever the method (as before the specs)', async (t) => {
  const { app } = await build(t, { argv: ['--max-steps', '10'] });
  assert.deepEqual([...COST_PARAMETERS].sort(), ['samples', 'steps']);
  for (const method of ['gradient', 'smoothgrad', 'integrated-gradients']) {
    for (const name of COST_PARAMETERS) {
      const res = await request(app.server).post(url).send({ image, method, [name]: 11 });
      assert.equal(res.status, 400, `${method} ${name}: ${res.text}`);
      assert.equal(res.body.error.field, name);
      assert.match(res.body.error.message, /over the configured maximum of 10/);
    }
  }
  // At the maximum each is accepted on its own, even though together they cost more.
  const both = await request(app.server).post(url).send({ image, method: 'smoothgrad', base: 'integrated-gradients', samples: 2, steps: 10 });
  assert.equal(both.status, 200, both.text);
  const first = await request(app.server).post(url).send({ image, method: 'integrated-gradients', steps: 11, samples: 11 });
  assert.equal(first.body.error.field, 'steps', 'steps is checked first, as before');
});

test('explain leaves no tensor behind', async (t) => {
  const { app } = await build(t);
  await request(app.server).post(url).send({ image, method: 'gradient' });
  const before = tf.memory().numTensors;
  for (const method of ['gradient', 'guided-backprop', 'gradcam', 'guided-gradcam', 'smoothgrad', 'integrated-gradients']) {
    await request(app.server).post(url).send({ images: [image, other], method, samples: 3, steps: 8 });
    await request(app.server).post(url).send({ image, method, target: 'nope' });
  }
  assert.equal(tf.memory().numTensors, before);
});

test('visualize answers the image, its PNG, predictions and snapshots; 400s name the field', async (t) => {
  const { app } = await build(t, { argv: ['--max-steps', '50'] });
  const res = await request(app.server).post('/v1/models/tiny/visualize').send({ target: 'square', steps: 20, snapshotEvery: 10, seed: 2 });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.image.shape, [8, 8, 1]);
  assert.equal(res.body.image.data.length, 64);
  assert.equal(res.body.predictions.length, 3);
  assert.deepEqual(res.body.snapshots.map((s: { step: number }) => s.step), [10]);
  assert.equal(Buffer.from(res.body.png, 'base64').subarray(1, 4).toString(), 'PNG');
  const again = await request(app.server).post('/v1/models/tiny/visualize').send({ target: 'square', steps: 20, snapshotEvery: 10, seed: 2 });
  assert.deepEqual(again.body.image, res.body.image, 'seeded');
  const png = await request(app.server).post('/v1/models/tiny/visualize').set('accept', 'image/png').send({ layer: 'conv1', channel: 1, steps: 5 });
  assert.equal(png.headers['content-type'], 'image/png');
  for (const [body, field] of [[{ target: 1, steps: 51 }, 'steps'], [{ target: 1, learningRate: 0 }, 'learningRate'], [{ target: 1, position: [1] }, 'position'], [{ layer: 'conv1', channel: 9 }, 'channel'], [{}, 'target'], [{ target: 1, jitter: 'a' }, 'jitter']] as const) {
    const bad = await request(app.server).post('/v1/models/tiny/visualize').send(body);
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.body.error.field, field);
  }
});

/** A base64 tensor's floats (little-endian float32). */
function floatsOf(tensor: { dtype: string; encoding: string; data: string }): number[] {
  assert.equal(tensor.dtype, 'float32');
  assert.equal(tensor.encoding, 'base64');
  const bytes = Buffer.from(tensor.data, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

test('encodingFormat base64 answers the same floats as little-endian float32 bytes, for explain, attack and visualize', async (t) => {
  const { app } = await build(t);
  type Encoded = { shape: number[]; data: unknown };
  const cases: [string, Record<string, unknown>, (body: { map: Encoded; adversarial: { image: Encoded }; image: Encoded }) => Encoded][] = [
    [url, { image, method: 'gradient' }, (b) => b.map],
    ['/v1/models/tiny/attack', { image, method: 'bim', epsilon: 0.2, steps: 3 }, (b) => b.adversarial.image],
    ['/v1/models/tiny/visualize', { target: 'square', steps: 5, seed: 2 }, (b) => b.image],
  ];
  for (const [path, body, tensorOf] of cases) {
    const floats = await request(app.server).post(path).send(body);
    const packed = await request(app.server).post(path).send({ ...body, encodingFormat: 'base64' });
    assert.equal(floats.status, 200, floats.text);
    assert.equal(packed.status, 200, packed.text);
    const expected = tensorOf(floats.body);
    const actual = tensorOf(packed.body) as unknown as { shape: number[]; dtype: string; encoding: string; data: string };
    assert.deepEqual(actual.shape, expected.shape, path);
    assert.equal(typeof actual.data, 'string', path);
    assert.deepEqual(floatsOf(actual), (expected.data as number[]).map(Math.fround), path);
  }
});
