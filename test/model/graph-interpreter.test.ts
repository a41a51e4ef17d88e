/**
 * The graph interpreter (src/model/graph-interpreter.ts) on graphs in the converter's format: the
 * committed fixture is what scripts/make-graph-fixture.ts writes; a Layers model written as a
 * graph (scripts/lib/layers-to-graph.ts: fused conv+ReLU, MaxPool, Reshape, FusedMatMul) gives
 * the same maps for every method; a graph using each op the interpreter knows reproduces tfjs'
 * own executor (the interpreter refuses to stand in for it otherwise) and leaks nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { explainImages, EXPLAIN_METHODS } from '../../src/explain/explain.ts';
import { GRAPH_OPS } from '../../src/model/graph-ops.ts';
import { loadModelFromDir } from '../../src/model/loader.ts';
import { attr, GraphWriter, seededValues } from '../../scripts/lib/graph-fixture.ts';
import { layersToGraph } from '../../scripts/lib/layers-to-graph.ts';
import { writeGraphFixture } from '../../scripts/make-graph-fixture.ts';
import { convFixture } from '../helpers/tiny-models.ts';
import { FIXTURE_LABELS } from '../helpers/fixture-model.ts';
import { GRAPH_FIXTURE_DIR, relativeDifference, seededImages, tempModelsDir, writeGraphModel } from '../helpers/graph-models.ts';

await initBackend(process.env.GRADLAB_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm');

test('the committed graph fixture is what scripts/make-graph-fixture.ts writes', async (t) => {
  const { modelsDir, cleanup } = await tempModelsDir();
  t.after(cleanup);
  await writeGraphFixture(modelsDir);
  for (const file of ['model.json', 'group1-shard1of1.bin', 'manifest.json']) {
    assert.ok((await readFile(path.join(modelsDir, file))).equals(await readFile(path.join(GRAPH_FIXTURE_DIR, file))), `${file} is stale: run npm run fixture:graph`);
  }
});

test('a Layers model written as a graph (MaxPool, Reshape, fused ops) gives the same map for every method', async (t) => {
  const { modelsDir, cleanup } = await tempModelsDir();
  t.after(cleanup);
  const layers = convFixture();
  const dir = await writeGraphModel(modelsDir, 'tiny-graph', layersToGraph(layers.net as tf.LayersModel), { input: { shape: [8, 8, 1], range: [0, 1] }, labels: FIXTURE_LABELS, output: 'logits' });
  const graph = await loadModelFromDir(dir);
  assert.deepEqual(graph.featureGraph()!.nodes.map((n) => [n.name, n.type]), [
    ['conv1/Relu', '_FusedConv2D'], ['pool1/MaxPool', 'MaxPool'], ['flatten/Reshape', 'Reshape'], ['logits/BiasAdd', '_FusedMatMul'], ['Identity', 'Identity'],
  ]);
  const images = seededImages(2, 64, 3);
  for (const method of EXPLAIN_METHODS) {
    const request = { method, target: 1, samples: 3, steps: 16 } as const;
    const a = (await explainImages(layers, images, request)).flatMap((r) => Array.from(r.map.data));
    const b = (await explainImages(graph, images, request)).flatMap((r) => Array.from(r.map.data));
    assert.ok(relativeDifference(a, b) < 1e-5, `${method}: ${relativeDifference(a, b)}`);
  }
  const [cam] = await explainImages(graph, images, { method: 'gradcam', layer: 'pool1/MaxPool' });
  assert.equal(cam!.layer, 'pool1/MaxPool');
  layers.dispose();
  graph.dispose();
});

/** A graph that uses the ops the fixtures do not: Pad, explicit padding, AvgPool, MaxPool, ConcatV2, Relu6, LeakyRelu, Elu, Selu, Sigmoid, Tanh, … */
function manyOpsGraph(): { modelJson: object; shard: Buffer } {
  const g = new GraphWriter([6, 6, 1]);
  let seed = 90;
  const c = (name: string, shape: number[]) => g.constant(name, shape, seededValues(shape.reduce((a, b) => a * b, 1), seed++));
  const conv = { strides: attr.ints([1, 1, 1, 1]), data_format: attr.str('NHWC'), dilations: attr.ints([1, 1, 1, 1]) };
  const padded = g.op('pad', 'Pad', ['input', g.constant('pad/p', [4, 2], Int32Array.from([0, 0, 1, 1, 1, 1, 0, 0]))]);
  const a = g.op('conv_a', 'Conv2D', [padded, c('ka', [3, 3, 1, 3])], { ...conv, padding: attr.str('VALID') });
  const b = g.op('conv_b', 'Conv2D', ['input', c('kb', [3, 3, 1, 3])], { ...conv, padding: attr.str('EXPLICIT'), explicit_paddings: attr.ints([0, 0, 1, 1, 1, 1, 0, 0]) });
  const dw = g.op('dw', 'DepthwiseConv2dNative', ['input', c('kd', [3, 3, 1, 1])], { ...conv, padding: attr.str('SAME') });
  let x = g.op('concat', 'ConcatV2', [g.op('relu6', 'Relu6', [a]), g.op('leaky', 'LeakyRelu', [b], { alpha: attr.float(0.1) }), g.op('elu', 'Elu', [dw]), g.constant('concat/axis', [], Int32Array.from([3]))], { N: attr.int(3), Tidx: attr.type('DT_INT32') });
  x = g.op('biased', 'BiasAdd', [x, c('bias', [7])]);
  x = g.op('scaled', 'Mul', [g.op('sub', 'Sub', [x, c('shift', [7])]), c('scale', [7])]);
  x = g.op('divided', 'RealDiv', [g.op('max', 'Maximum', [x, g.op('min', 'Minimum', [x, c('cap', [7])])]), g.constant('two', [], Float32Array.from([2]))]);
  const pooled = g.op('avg', 'AvgPool', [g.op('relu', 'Relu', [x])], { ksize: attr.ints([1, 2, 2, 1]), strides: attr.ints([1, 2, 2, 1]), padding: attr.str('VALID'), data_format: attr.str('NHWC') });
  const maxed = g.op('maxpool', 'MaxPool', [g.op('selu', 'Selu', [x])], { ksize: attr.ints([1, 2, 2, 1]), strides: attr.ints([1, 2, 2, 1]), padding: attr.str('SAME'), data_format: attr.str('NHWC') });
  x = g.op('sum', 'AddN', [pooled, maxed, g.op('sig', 'Sigmoid', [pooled])]);
  x = g.op('kept', 'Max', [x, g.constant('axes', [2], Int32Array.from([1, 2]))], { keep_dims: attr.bool(true) });
  x = g.op('squeezed', 'Squeeze', [g.op('tanh', 'Tanh', [x])], { squeeze_dims: attr.ints([1, 2]) });
  x = g.op('summed', 'Sum', [g.op('expanded', 'ExpandDims', [x, g.constant('one', [], Int32Array.from([1]))]), g.constant('one_axis', [1], Int32Array.from([1]))], { keep_dims: attr.bool(false) });
  x = g.op('logits', 'MatMul', [x, c('w', [3, 7])], { transpose_a: attr.bool(false), transpose_b: attr.bool(true) });
  g.op('out', 'LogSoftmax', [g.op('add', 'AddV2', [x, c('b', [3])])]);
  return g.artifacts('out', [3]);
}

test('a graph using the other known ops reproduces tfjs\' executor, runs every method and leaks nothing', async (t) => {
  const { modelsDir, cleanup } = await tempModelsDir();
  t.after(cleanup);
  const graph = await loadModelFromDir(await writeGraphModel(modelsDir, 'ops', manyOpsGraph(), { input: { shape: [6, 6, 1], range: [0, 1] }, labels: ['a', 'b', 'c'], output: 'logits' }));
  const features = graph.featureGraph()!;
  assert.equal(features.unsupported, undefined, 'the interpreter agrees with the executor');
  const used = new Set(features.nodes.map((n) => n.type));
  const untested = Object.keys(GRAPH_OPS).filter((op) => !used.has(op) && !['Identity', 'Snapshot', '_FusedConv2D', 'FusedDepthwiseConv2dNative', '_FusedMatMul', 'Softmax', 'Mean', 'DepthwiseConv2d', 'Reshape', 'Add', 'FusedBatchNorm', 'FusedBatchNormV3'].includes(op));
  assert.deepEqual(untested, [], 'ops no graph fixture uses (the mobile, residual and tiny graphs use the rest)');
  const x = tf.tensor4d(seededImages(1, 36, 4)[0]!, [1, 6, 6, 1]);
  const before = tf.memory().numTensors;
  const [ours, theirs] = tf.tidy(() => [features.forward(x).output!, (graph.net as tf.GraphModel).execute(x) as tf.Tensor]);
  assert.ok(relativeDifference(theirs.dataSync(), ours.dataSync()) < 1e-5);
  tf.dispose([ours, theirs]);
  assert.equal(tf.memory().numTensors, before);
  for (const method of ['gradient', 'guided-backprop', 'gradcam', 'integrated-gradients'] as const) {
    const [r] = await explainImages(graph, [seededImages(1, 36, 4)[0]!], { method, steps: 16 });
    assert.ok(r!.map.data.every(Number.isFinite), method);
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  graph.dispose();
});
