/**
 * Every route on models that are not the shipped sequential ones, through the real app (a
 * listening server, heavy work in its worker thread): the committed TF.js graph fixture (softmax
 * output), a functional residual Layers model on 64×64×1 grey input in [-1, 1] with a softmax
 * output and a second output head, a graph model on 96×96×3 input, and a graph model with an op
 * gradlab cannot run node by node. classify, every explanation method, class and unit
 * visualisation and attacks answer 200 with values in the model's range; the model list names the
 * layers `layer` may name.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import { fileSystemSaver } from '../../src/model/fs-io.ts';
import { EXPLAIN_METHODS } from '../../src/explain/explain.ts';
import { mobileGraph, mobileParameters, seededValues } from '../../scripts/lib/graph-fixture.ts';
import { build } from '../helpers/build.ts';
import { encodeRgb } from '../helpers/images.ts';
import { GRAPH_FIXTURE_DIR, tempModelsDir, writeGraphModel } from '../helpers/graph-models.ts';

type Sym = tf.SymbolicTensor;

/** A small residual network on 64×64×1 with a softmax output and a second head, seeded weights. */
async function writeGrey64(modelsDir: string): Promise<void> {
  const input = tf.input({ shape: [64, 64, 1] });
  const apply = (l: tf.layers.Layer, x: Sym | Sym[]) => l.apply(x) as Sym;
  const stem = apply(tf.layers.conv2d({ name: 'stem', filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }), input);
  let y = apply(tf.layers.conv2d({ name: 'branch', filters: 4, kernelSize: 3, padding: 'same' }), stem);
  y = apply(tf.layers.batchNormalization({ name: 'bn' }), y);
  let x = apply(tf.layers.add({ name: 'add' }), [y, stem]);
  x = apply(tf.layers.reLU({ name: 'add_relu' }), x);
  x = apply(tf.layers.conv2d({ name: 'down', filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }), x);
  const pooled = apply(tf.layers.globalAveragePooling2d({ name: 'gap' }), x);
  const probs = apply(tf.layers.dense({ name: 'probs', units: 3, activation: 'softmax' }), pooled);
  // A second output head (multi-task models): gradlab classifies, explains and attacks the first.
  const aux = apply(tf.layers.dense({ name: 'aux', units: 2 }), pooled);
  const net = tf.model({ inputs: input, outputs: [probs, aux] });
  net.setWeights(net.getWeights().map((w, i) => tf.tensor(seededValues(w.size, 60 + i, 0.5, net.weights[i]!.name.includes('variance') ? 1 : 0), w.shape)));
  const dir = path.join(modelsDir, 'grey64');
  await net.save(fileSystemSaver(dir));
  net.dispose();
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({
    name: 'grey64', kind: 'image-classifier', format: 'layers', labels: ['x', 'y', 'z'],
    input: { shape: [64, 64, 1], range: [-1, 1] }, output: 'probabilities',
    provenance: { dataset: 'none', split: 'none', trainedBy: 'test/routes/any-model.test.ts' },
  }));
}

const { modelsDir, cleanup } = await tempModelsDir();
await cp(GRAPH_FIXTURE_DIR, path.join(modelsDir, 'graph-mobile'), { recursive: true });
await writeGrey64(modelsDir);
await writeGraphModel(modelsDir, 'rgb96', mobileGraph(mobileParameters(2, [96, 96, 3], 5)), { input: { shape: [96, 96, 3], range: [-1, 1] } });
after(cleanup);
await writeGraphModel(modelsDir, 'odd', mobileGraph(mobileParameters(1), { extraOp: 'Softplus' }));

const MODELS = [
  { name: 'graph-mobile', shape: [16, 16, 3], range: [0, 1] },
  { name: 'grey64', shape: [64, 64, 1], range: [-1, 1] },
  { name: 'rgb96', shape: [96, 96, 3], range: [-1, 1] },
] as const;

test('classify, every explanation method, visualize and attack answer on graph, functional, 64×64×1 and 96×96×3 models', async (t) => {
  const { app } = await build(t, { modelsDir, argv: ['--max-steps', '64'] });
  // Classify also takes an encoded image, converted to each model's channels, size and range.
  const png = (await encodeRgb(20, 20, [200, 40, 90])).toString('base64');

  for (const m of MODELS) {
    const [h, w, c] = m.shape;
    const [lo, hi] = m.range;
    const inRange = (values: number[]) => values.every((v) => v >= lo - 1e-6 && v <= hi + 1e-6);
    // A textured image in the model's own range (a flat colour gives flat maps).
    const image = Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => Array.from({ length: c }, (_, k) => lo + ((hi - lo) * ((3 * y + 5 * x + 7 * k) % 17)) / 16)));
    const post = (route: string, body: object) => request(app.server).post(`/v1/models/${m.name}/${route}`).send({ image, ...body });

    const info = await request(app.server).get(`/v1/models/${m.name}`);
    assert.equal(info.status, 200);
    const layers: { name: string; outputShape: (number | null)[] }[] = info.body.layers;
    assert.ok(layers.length > 3 && layers.every((l) => l.outputShape[0] === null), m.name);
    assert.ok(info.body.gradcamLayers.includes(info.body.defaultGradcamLayer), m.name);
    assert.equal(info.body.nodeByNode, undefined);
    const otherLayer: string = info.body.gradcamLayers[0];
    assert.deepEqual(layers.find((l) => l.name === otherLayer)!.outputShape.length, 4);

    for (const input of [image, png]) {
      const classify = await request(app.server).post(`/v1/models/${m.name}/classify`).send({ image: input, topK: 3 });
      assert.equal(classify.status, 200, classify.text);
      assert.equal(classify.body.predictions.length, 3);
    }

    for (const method of EXPLAIN_METHODS) {
      const res = await post('explain', { method, samples: 3, steps: 16 });
      assert.equal(res.status, 200, `${m.name} ${method}: ${res.text}`);
      assert.deepEqual(res.body.map.shape, method === 'gradcam' ? [h, w, 1] : [h, w, c], `${m.name} ${method}`);
      assert.ok(res.body.map.data.every(Number.isFinite) && res.body.map.data.some((v: number) => v !== 0), `${m.name} ${method}: a finite map, not all zero`);
    }
    const cam = await post('explain', { method: 'gradcam', layer: otherLayer });
    assert.equal(cam.status, 200, cam.text);
    assert.equal(cam.body.layer, otherLayer);

    for (const body of [{ target: 1 }, { layer: info.body.defaultGradcamLayer, channel: 0 }]) {
      const res = await request(app.server).post(`/v1/models/${m.name}/visualize`).send({ ...body, steps: 5 });
      assert.equal(res.status, 200, `${m.name} visualize ${JSON.stringify(body)}: ${res.text}`);
      assert.deepEqual(res.body.image.shape, [h, w, c]);
      assert.ok(inRange(res.body.image.data), `${m.name}: the image stays in [${lo}, ${hi}]`);
    }

    const epsilon = 0.1 * (hi - lo);
    for (const method of ['fgsm', 'pgd']) {
      const res = await post('attack', { method, epsilon, ...(method === 'pgd' ? { steps: 5, seed: 1 } : {}) });
      assert.equal(res.status, 200, `${m.name} ${method}: ${res.text}`);
      assert.deepEqual(res.body.adversarial.image.shape, [h, w, c]);
      assert.ok(inRange(res.body.adversarial.image.data), `${m.name} ${method}: adversarial in range`);
      assert.ok(res.body.perturbation.linf <= epsilon + 1e-5, `${m.name} ${method}: inside the ε-ball`);
    }
  }
});

test('a graph model with an op gradlab cannot run node by node: listed with the reason, 400 naming the op, the rest works', async (t) => {
  const { app } = await build(t, { modelsDir });
  const image = Array.from({ length: 16 }, (_, y) => Array.from({ length: 16 }, (_, x) => [((y + x) % 5) / 5, (y % 3) / 3, (x % 4) / 4]));
  const info = await request(app.server).get('/v1/models/odd');
  assert.equal(info.body.nodeByNode.supported, false);
  assert.match(info.body.nodeByNode.reason, /op 'Softplus' \(node 'gap\/Softplus'\)/);
  for (const method of ['guided-backprop', 'gradcam', 'guided-gradcam']) {
    const res = await request(app.server).post('/v1/models/odd/explain').send({ image, method });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.error.field, 'method');
    assert.match(res.body.error.message, /needs a model that gradlab can run node by node; 'odd': op 'Softplus'/);
  }
  const unit = await request(app.server).post('/v1/models/odd/visualize').send({ layer: 'pw/Relu', channel: 0, steps: 2 });
  assert.equal(unit.status, 400);
  assert.equal(unit.body.error.field, 'layer');
  for (const [route, body] of [['classify', {}], ['explain', { method: 'gradient' }], ['explain', { method: 'integrated-gradients', steps: 8 }], ['attack', { method: 'pgd', epsilon: 0.1, steps: 3 }]] as const) {
    const res = await request(app.server).post(`/v1/models/odd/${route}`).send({ image, ...body });
    assert.equal(res.status, 200, `${route}: ${res.text}`);
  }
});
