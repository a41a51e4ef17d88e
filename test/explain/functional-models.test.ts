/**
 * Grad-CAM, guided backprop and unit visualisation on a functional (residual) Layers model,
 * checked against independent computations: Grad-CAM against tfjs' own symbolic execution (the
 * activations from a sub-model, ∂score/∂A as the gradient with respect to an extra input δ added
 * to the layer's output, at δ = 0, so that both uses of a skip-connected layer count); guided
 * backprop and every map against the same network written as a TF.js graph model (Add, Relu,
 * FusedBatchNormV3 nodes) run by the graph interpreter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { explainImages } from '../../src/explain/explain.ts';
import { visualize } from '../../src/explain/visualize.ts';
import { ImageModel } from '../../src/model/image-model.ts';
import { loadModelFromDir } from '../../src/model/loader.ts';
import { attr, GraphWriter, seededValues } from '../../scripts/lib/graph-fixture.ts';
import { relativeDifference, seededImages, tempModelsDir, writeGraphModel } from '../helpers/graph-models.ts';
import { manifestFor } from '../helpers/tiny-models.ts';

await initBackend(process.env.GRADLAB_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm');

type Sym = tf.SymbolicTensor;
const LABELS = ['a', 'b', 'c', 'd'];

/**
 * stem conv+ReLU → [conv → BN → ReLU → conv] + stem → ReLU → conv stride 2 + ReLU → GAP → dense.
 * With `delta`, an extra input is added to that layer's output (the reference for ∂score/∂A).
 */
type Tapped = 'stem' | 'branch1' | 'bn' | 'branch2' | 'down';

function residualNet(delta?: Tapped, auxiliaryOutput = false): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 3] });
  const deltas: Sym[] = [];
  const tap = (name: string, x: Sym, channels: number, side: number) => {
    if (name !== delta) return x;
    const d = tf.input({ shape: [side, side, channels], name: 'delta' });
    deltas.push(d);
    return tf.layers.add({ name: 'plus_delta' }).apply([x, d]) as Sym;
  };
  const layer = <T extends tf.layers.Layer>(l: T, x: Sym | Sym[]) => l.apply(x) as Sym;
  const stem = tap('stem', layer(tf.layers.conv2d({ name: 'stem', filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }), input), 6, 12);
  // branch1 → bn runs as one folded conv in the gradient forward, except where a pass reads one of them.
  let y = tap('branch1', layer(tf.layers.conv2d({ name: 'branch1', filters: 6, kernelSize: 3, padding: 'same' }), stem), 6, 12);
  y = tap('bn', layer(tf.layers.batchNormalization({ name: 'bn', epsilon: 1e-3 }), y), 6, 12);
  y = layer(tf.layers.reLU({ name: 'branch_relu' }), y);
  y = tap('branch2', layer(tf.layers.conv2d({ name: 'branch2', filters: 6, kernelSize: 3, padding: 'same' }), y), 6, 12);
  let x = layer(tf.layers.add({ name: 'add' }), [y, stem]);
  x = layer(tf.layers.reLU({ name: 'add_relu' }), x);
  x = tap('down', layer(tf.layers.conv2d({ name: 'down', filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }), x), 8, 6);
  x = layer(tf.layers.globalAveragePooling2d({ name: 'gap' }), x);
  const pooled = x;
  x = layer(tf.layers.dense({ name: 'logits', units: LABELS.length }), x);
  // A second head (as in multi-task or auxiliary-loss models): gradlab explains the first output.
  const outputs = auxiliaryOutput ? [x, layer(tf.layers.dense({ name: 'aux', units: 2 }), pooled)] : x;
  const net = tf.model({ inputs: [input, ...deltas], outputs });
  let seed = 40;
  for (const name of ['stem', 'branch1', 'bn', 'branch2', 'down', 'logits', ...(auxiliaryOutput ? ['aux'] : [])]) {
    const l = net.getLayer(name);
    l.setWeights(l.getWeights().map((w, i) => tf.tensor(seededValues(w.size, seed++, 0.5, name === 'bn' && i === 3 ? 1 : 0), w.shape)));
  }
  return net;
}

const model = new ImageModel(manifestFor('residual', [12, 12, 3], LABELS, [-1, 1]), residualNet(), 'memory');
const images = seededImages(2, 12 * 12 * 3, 5).map((im) => im.map((v) => 2 * v - 1));
const target = 2;

/** Grad-CAM computed by tfjs' own symbolic execution (see the module comment). */
function referenceCam(layerName: Tapped): Float32Array {
  const reference = residualNet(layerName);
  const net = model.net as tf.LayersModel;
  const sub = tf.model({ inputs: net.inputs, outputs: net.getLayer(layerName).output });
  const cam = tf.tidy(() => {
    const x = model.batchTensor(images);
    const a = sub.predict(x) as tf.Tensor4D;
    const score = (d: tf.Tensor) => tf.sum(tf.gather(reference.apply([x, d], { training: false }) as tf.Tensor, [target], 1)) as tf.Scalar;
    const grads = tf.grad(score)(tf.zerosLike(a));
    const weighted = tf.relu(tf.sum(tf.mul(a, tf.mean(grads, [1, 2], true)), 3, true)) as tf.Tensor4D;
    return tf.image.resizeBilinear(weighted, [12, 12]);
  });
  const data = cam.dataSync() as Float32Array;
  cam.dispose();
  reference.dispose();
  return data;
}

for (const layer of ['stem', 'branch1', 'bn', 'branch2', 'down'] as const) {
  test(`Grad-CAM at '${layer}' of a residual model equals tfjs' own ∂score/∂A`, async () => {
    const before = tf.memory().numTensors;
    const results = await explainImages(model, images, { method: 'gradcam', target, layer });
    assert.equal(tf.memory().numTensors, before, 'leaked tensors');
    const ours = Float32Array.from(results.flatMap((r) => Array.from(r.map.data)));
    const reference = referenceCam(layer);
    assert.ok(reference.some((v) => v > 0), 'a map that is not all zero');
    assert.ok(relativeDifference(ours, reference) < 1e-5, `relative difference ${relativeDifference(ours, reference)}`);
  });
}

/** The same residual network as a TF.js graph model: fused convs, FusedBatchNormV3, Relu, AddV2, Mean, MatMul + BiasAdd. */
function residualGraph(net: tf.LayersModel): { modelJson: object; shard: Buffer } {
  const g = new GraphWriter([12, 12, 3]);
  const w = (layer: string, i: number) => {
    const t = net.getLayer(layer).getWeights()[i]!;
    return g.constant(`${layer}/w${i}`, t.shape, t.dataSync() as Float32Array);
  };
  const conv = (name: string, x: string, stride: number, fused: string[]) => g.op(name, '_FusedConv2D', [x, w(name, 0), w(name, 1)], {
    strides: attr.ints([1, stride, stride, 1]), padding: attr.str('SAME'), data_format: attr.str('NHWC'), dilations: attr.ints([1, 1, 1, 1]), fused_ops: attr.strs(fused), num_args: attr.int(1),
  });
  const stem = conv('stem', 'input', 1, ['BiasAdd', 'Relu']);
  let y = conv('branch1', stem, 1, ['BiasAdd']);
  y = g.op('bn', 'FusedBatchNormV3', [y, w('bn', 0), w('bn', 1), w('bn', 2), w('bn', 3)], { epsilon: attr.float(1e-3), data_format: attr.str('NHWC') });
  y = g.op('branch_relu', 'Relu', [y]);
  y = conv('branch2', y, 1, ['BiasAdd']);
  let x = g.op('add', 'AddV2', [y, stem]);
  x = g.op('add_relu', 'Relu', [x]);
  x = conv('down', x, 2, ['BiasAdd', 'Relu']);
  x = g.op('gap', 'Mean', [x, g.constant('gap/axes', [2], Int32Array.from([1, 2]))], { keep_dims: attr.bool(false) });
  x = g.op('logits/MatMul', 'MatMul', [x, w('logits', 0)], { transpose_a: attr.bool(false), transpose_b: attr.bool(false) });
  g.op('logits', 'BiasAdd', [x, w('logits', 1)]);
  return g.artifacts('logits', [LABELS.length]);
}

test('every map on the residual Layers model equals the same network as a graph model', async (t) => {
  const { modelsDir, cleanup } = await tempModelsDir();
  t.after(cleanup);
  const dir = await writeGraphModel(modelsDir, 'residual-graph', residualGraph(model.net as tf.LayersModel), { input: { shape: [12, 12, 3], range: [-1, 1] }, labels: LABELS, output: 'logits' });
  const graph = await loadModelFromDir(dir);
  assert.equal(graph.featureGraph()!.unsupported, undefined);
  const requests = [
    { method: 'gradient' }, { method: 'guided-backprop' }, { method: 'gradcam' }, { method: 'guided-gradcam' },
    { method: 'gradcam', layer: 'branch2' }, { method: 'guided-gradcam', layer: 'stem' },
  ] as const;
  for (const request of requests) {
    const a = await explainImages(model, images, { ...request, target });
    const b = await explainImages(graph, images, { ...request, target });
    const flat = (rs: typeof a) => Float32Array.from(rs.flatMap((r) => Array.from(r.map.data)));
    assert.ok(flat(a).some((v) => v !== 0), JSON.stringify(request));
    assert.ok(relativeDifference(flat(a), flat(b)) < 1e-5, `${JSON.stringify(request)}: ${relativeDifference(flat(a), flat(b))}`);
  }
  const guided = await explainImages(model, images, { method: 'guided-backprop', target, score: 'logit' });
  const plain = await explainImages(model, images, { method: 'gradient', target, score: 'logit' });
  assert.ok(relativeDifference(guided[0]!.map.data, plain[0]!.map.data) > 1e-3, 'guided backprop is not the gradient here');
  graph.dispose();
});

test('a model with a second output head: every method explains the first output, as on the single-output model', async () => {
  const twoHeads = new ImageModel(manifestFor('two-heads', [12, 12, 3], LABELS, [-1, 1]), residualNet(undefined, true), 'memory');
  assert.equal(twoHeads.featureGraph()!.supportsReluSwap, true);
  for (const method of ['gradient', 'guided-backprop', 'gradcam', 'guided-gradcam'] as const) {
    const a = await explainImages(model, images, { method, target });
    const b = await explainImages(twoHeads, images, { method, target });
    const flat = (rs: typeof a) => Float32Array.from(rs.flatMap((r) => Array.from(r.map.data)));
    assert.ok(relativeDifference(flat(a), flat(b)) < 1e-6, method);
  }
  twoHeads.dispose();
});

test('unit visualisation reaches a layer inside the residual branch; the model list names the spatial layers', async () => {
  const before = tf.memory().numTensors;
  const start = await visualize(model, { layer: 'branch2', channel: 1, steps: 1, seed: 3 });
  const end = await visualize(model, { layer: 'branch2', channel: 1, steps: 15, seed: 3 });
  assert.ok(end.finalObjective > start.finalObjective, `${start.finalObjective} -> ${end.finalObjective}`);
  assert.equal(tf.memory().numTensors, before);
  const { describeModel } = await import('../../src/model/describe.ts');
  const d = describeModel(model, 'wasm');
  assert.deepEqual(d.gradcamLayers, ['stem', 'branch1', 'bn', 'branch_relu', 'branch2', 'add', 'add_relu', 'down']);
  assert.equal(d.defaultGradcamLayer, 'down');
  assert.deepEqual(d.layers!.find((l) => l.name === 'down')!.outputShape, [null, 6, 6, 8]);
});
