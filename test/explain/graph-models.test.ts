/**
 * Every explanation method on a TF.js graph model in the converter's format (the committed
 * fixture: BN folded into a fused conv+ReLU, depthwise, pointwise, Mean, FusedMatMul, Softmax),
 * checked against independent computations: the same network as a sequential Layers model with
 * the same weights (guided backprop, Grad-CAM at several layers, guided Grad-CAM, unit
 * activations) and central finite differences of tfjs' own executor (the plain gradient). Models
 * whose structure makes a method impossible get a 400 that names what is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { explainImages, type ExplainRequest } from '../../src/explain/explain.ts';
import { visualize } from '../../src/explain/visualize.ts';
import { GradlabError } from '../../src/errors.ts';
import { loadModelFromDir } from '../../src/model/loader.ts';
import { denseGraph, mobileGraph, mobileParameters } from '../../scripts/lib/graph-fixture.ts';
import { layersTwin, loadGraphFixture, relativeDifference, seededImages, tempModelsDir, writeGraphModel } from '../helpers/graph-models.ts';

await initBackend(process.env.GRADLAB_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm');

const graph = await loadGraphFixture();
const twin = layersTwin();
const images = seededImages(3, 16 * 16 * 3, 11);

async function bothMaps(request: ExplainRequest, twinRequest: ExplainRequest = request): Promise<[Float32Array, Float32Array]> {
  const before = tf.memory().numTensors;
  const a = await explainImages(graph, images, request);
  const b = await explainImages(twin, images, twinRequest);
  assert.equal(tf.memory().numTensors, before, 'leaked tensors');
  assert.deepEqual(a.map((r) => r.target.index), b.map((r) => r.target.index));
  const flat = (rs: typeof a) => Float32Array.from(rs.flatMap((r) => Array.from(r.map.data)));
  return [flat(a), flat(b)];
}

test('the graph model loads, and its predictions equal the Layers twin', () => {
  const x = graph.batchTensor(images);
  const [p, q] = tf.tidy(() => [graph.probabilities(x), twin.probabilities(x)]);
  assert.ok(relativeDifference(p.dataSync(), q.dataSync()) < 1e-5);
  tf.dispose([x, p, q]);
});

for (const method of ['gradient', 'guided-backprop', 'gradcam', 'guided-gradcam'] as const) {
  for (const target of [0, 3]) {
    test(`${method}, target ${target}: the graph model's map equals the Layers twin's`, async () => {
      const [a, b] = await bothMaps({ method, target });
      assert.ok(a.some((v) => v !== 0), 'a map that is not all zero');
      const difference = relativeDifference(a, b);
      assert.ok(difference < 1e-5, `relative difference ${difference}`);
    });
  }
}

for (const [graphLayer, twinLayer] of [['conv1/Relu', 'relu1'], ['dw/Relu', 'dw'], ['pw/Relu', 'pw']]) {
  test(`Grad-CAM at '${graphLayer}' equals the twin's at '${twinLayer}' and names the layer`, async () => {
    const [a, b] = await bothMaps({ method: 'gradcam', target: 1, layer: graphLayer }, { method: 'gradcam', target: 1, layer: twinLayer });
    assert.ok(relativeDifference(a, b) < 1e-5, `relative difference ${relativeDifference(a, b)}`);
    const [r] = await explainImages(graph, images.slice(0, 1), { method: 'gradcam', layer: graphLayer });
    assert.equal(r!.layer, graphLayer);
  });
}

test('the plain gradient matches central finite differences of tfjs\' own executor', async () => {
  const [result] = await explainImages(graph, images.slice(0, 1), { method: 'gradient', target: 2, score: 'logprob' });
  const g = result!.map.data;
  const logProb = (x: Float32Array) => tf.tidy(() => {
    const p = graph.net.predict(tf.tensor4d(x, [1, 16, 16, 3])) as tf.Tensor;
    return Math.log(p.dataSync()[2]!);
  });
  // Per pixel, with a small step: a ReLU kink between x − h and x + h would spoil the difference.
  const h = 1e-3;
  for (const pixel of [0, 100, 257, 400, 555, 767]) {
    const plus = Float32Array.from(images[0]!);
    const minus = Float32Array.from(images[0]!);
    plus[pixel]! += h;
    minus[pixel]! -= h;
    const numeric = (logProb(plus) - logProb(minus)) / (2 * h);
    assert.ok(Math.abs(numeric - g[pixel]!) <= 1e-4 + 0.02 * Math.abs(g[pixel]!), `pixel ${pixel}: ${numeric} vs ${g[pixel]}`);
  }
  assert.ok(g.some((v) => Math.abs(v) > 1e-3), 'a gradient that is not negligible');
});

test('SmoothGrad (over guided backprop) and integrated gradients answer finite maps; IG is complete', async () => {
  const smooth = await explainImages(graph, images.slice(0, 2), { method: 'smoothgrad', base: 'guided-backprop', samples: 4, noise: 0.1 });
  assert.ok(smooth.every((r) => r.map.data.every(Number.isFinite) && r.map.data.some((v) => v !== 0)));
  const ig = await explainImages(graph, images.slice(0, 1), { method: 'integrated-gradients', steps: 64 });
  assert.ok(ig[0]!.completeness!.relativeError < 0.05, JSON.stringify(ig[0]!.completeness));
});

test('unit activations equal the twin\'s and unit visualisation runs on a graph node', async () => {
  const x = graph.batchTensor(images);
  const features = graph.featureGraph()!;
  const twinFeatures = twin.featureGraph()!;
  for (const [node, layer] of [['conv1/Relu', 'relu1'], ['dw/Relu', 'dw'], ['fc1/Relu', 'fc1']]) {
    const [a, b] = tf.tidy(() => [features.forward(x, { capture: node }).captured!, twinFeatures.forward(x, { capture: layer }).captured!]);
    assert.ok(relativeDifference(a.dataSync(), b.dataSync()) < 1e-5, node);
    tf.dispose([a, b]);
  }
  x.dispose();
  const before = tf.memory().numTensors;
  const opts = { layer: 'pw/Relu', channel: 3, steps: 12, seed: 1 };
  const first = await visualize(graph, { ...opts, steps: 1 });
  const result = await visualize(graph, opts);
  assert.ok(result.finalObjective > first.finalObjective, `${first.finalObjective} -> ${result.finalObjective}`);
  const onTwin = await visualize(twin, { ...opts, layer: 'pw' });
  assert.ok(Math.abs(onTwin.finalObjective - result.finalObjective) <= 1e-3 * Math.abs(result.finalObjective), `${onTwin.finalObjective} vs ${result.finalObjective}`);
  assert.equal(tf.memory().numTensors, before);
  await assert.rejects(visualize(graph, { layer: 'gap/Mean', channel: 0, position: [0, 0], steps: 1 }), /position: layer 'gap\/Mean' has no spatial positions/);
  await assert.rejects(visualize(graph, { layer: 'nope', channel: 0, steps: 1 }), /layer: no layer named 'nope'; layers: conv1\/Relu, dw\/Relu/);
});

test('a layer without a spatial output is a 400 naming the layers that have one', async () => {
  await assert.rejects(explainImages(graph, images.slice(0, 1), { method: 'gradcam', layer: 'fc1/Relu' }), (e) => {
    assert.ok(e instanceof GradlabError && e.field === 'layer' && e.statusCode === 400);
    assert.match(e.message, /'fc1\/Relu' has no spatial output \(shape \[,16\]\); layers with one: conv1\/Relu, dw\/Relu, pw\/Relu/);
    return true;
  });
});

test('a graph without ReLUs, without convolutions or with an op gradlab cannot run: 400s that say what is missing', async (t) => {
  const { modelsDir, cleanup } = await tempModelsDir();
  t.after(cleanup);
  const p = mobileParameters(1);
  const noRelu = await loadModelFromDir(await writeGraphModel(modelsDir, 'elu', mobileGraph(p, { activation: 'Elu' })));
  const dense = await loadModelFromDir(await writeGraphModel(modelsDir, 'dense', denseGraph(), { input: { shape: [8, 8, 1], range: [0, 1] }, labels: ['a', 'b', 'c'], output: 'logits' }));
  const odd = await loadModelFromDir(await writeGraphModel(modelsDir, 'odd', mobileGraph(p, { extraOp: 'Softplus' })));
  const one = (m: typeof graph) => [new Float32Array(m.pixelsPerImage).fill(0.5)];
  const refuses = (m: typeof graph, request: ExplainRequest, message: RegExp) =>
    assert.rejects(explainImages(m, one(m), request), (e) => e instanceof GradlabError && e.statusCode === 400 && message.test(e.message));
  await refuses(noRelu, { method: 'guided-backprop' }, /^method: 'guided-backprop' needs ReLU activations that it can replace; 'elu' has none/);
  await refuses(noRelu, { method: 'guided-gradcam' }, /needs ReLU activations that it can replace; 'elu' has none/);
  assert.equal((await explainImages(noRelu, one(noRelu), { method: 'gradcam' }))[0]!.layer, 'pw/Relu');
  await refuses(dense, { method: 'gradcam' }, /^method: 'gradcam' needs a convolutional layer; 'dense' has none/);
  assert.ok((await explainImages(dense, one(dense), { method: 'guided-backprop' }))[0]!.map.data.every(Number.isFinite));
  await refuses(odd, { method: 'guided-backprop' }, /needs a model that gradlab can run node by node; 'odd': op 'Softplus' \(node 'gap\/Softplus'\) is not one gradlab can run node by node \(use gradient or integrated-gradients\)/);
  await refuses(odd, { method: 'gradcam' }, /op 'Softplus'/);
  await assert.rejects(visualize(odd, { layer: 'pw/Relu', channel: 0, steps: 1 }), /layer: unit visualisation needs a model that gradlab can run node by node; 'odd': op 'Softplus'/);
  // What does not need the node-by-node run still works, through tfjs' executor.
  const before = tf.memory().numTensors;
  const [g] = await explainImages(odd, one(odd), { method: 'gradient' });
  assert.ok(g!.map.data.some((v) => v !== 0));
  assert.equal(tf.memory().numTensors, before);
  [noRelu, dense, odd].forEach((m) => m.dispose());
});

test('ReLU6 (MobileNet v2), fused or not, is guided too: min(guided ReLU, 6), as in the Layers twin', async (t) => {
  const { modelsDir, cleanup } = await tempModelsDir();
  t.after(cleanup);
  const p = mobileParameters(1);
  const graph6 = await loadModelFromDir(await writeGraphModel(modelsDir, 'relu6', mobileGraph(p, { activation: 'Relu6' })));
  const twin6 = layersTwin(p, 'relu6');
  // Brighter than the range so that some activations reach the cap of 6.
  const bright = images.map((im) => im.map((v) => 8 * v));
  const x = graph6.batchTensor(bright);
  const conv1 = tf.tidy(() => graph6.featureGraph()!.forward(x, { capture: 'conv1/Relu' }).captured!);
  assert.ok((await conv1.data()).some((v) => v === 6), 'the cap is reached');
  tf.dispose([x, conv1]);
  for (const method of ['guided-backprop', 'guided-gradcam'] as const) {
    const a = (await explainImages(graph6, bright, { method, target: 1 })).flatMap((r) => Array.from(r.map.data));
    const b = (await explainImages(twin6, bright, { method, target: 1 })).flatMap((r) => Array.from(r.map.data));
    const plain = (await explainImages(graph6, bright, { method: 'gradient', target: 1 })).flatMap((r) => Array.from(r.map.data));
    assert.ok(relativeDifference(a, b) < 1e-5, `${method}: ${relativeDifference(a, b)}`);
    assert.ok(a.some((v) => v !== 0) && relativeDifference(a, plain) > 1e-3, `${method} is guided, not the gradient`);
  }
  graph6.dispose();
  twin6.dispose();
});
