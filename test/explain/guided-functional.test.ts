/**
 * Guided backprop on functional (non-sequential) Layers models, which run through the model's
 * gradient forward (src/model/gradient-forward.ts) with every ReLU guided: on a chain it equals the
 * layer walk's guided backprop, on a residual network it runs through explainImages, differs from
 * the plain gradient, and leaks nothing. (The ResNet-18 maps are also checked against PyTorch by
 * `npm run bench:peer`.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { explainImages } from '../../src/explain/explain.ts';
import { guidedBackprop } from '../../src/explain/guided-backprop.ts';
import { layerWalk } from '../../src/explain/layer-walk.ts';
import { guidedRelu } from '../../src/explain/guided-relu.ts';
import { scoreGradient } from '../../src/explain/gradient.ts';
import { initBackend } from '../../src/backend/index.ts';
import { ImageModel } from '../../src/model/image-model.ts';
import { manifestFor } from '../helpers/tiny-models.ts';

await initBackend(process.env.GRADLAB_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm');

type SymbolicTensor = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: SymbolicTensor | SymbolicTensor[]) => layer.apply(x) as SymbolicTensor;

function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32;
  }
  return out;
}

function seeded(net: tf.LayersModel): tf.LayersModel {
  net.setWeights(net.getWeights().map((w, i) => tf.tensor(values(w.size, 30 + i).map((v) => (net.weights[i]!.name.includes('variance') ? 0.5 + v : v - 0.5)), w.shape)));
  return net;
}

/** A functional chain (the layer walk accepts it too): conv relu, BN, ReLU layer, flatten, dense relu, dense. */
function chainModel(): ImageModel {
  const input = tf.input({ shape: [8, 8, 1] });
  let x = apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }), input);
  x = apply(tf.layers.batchNormalization({}), x);
  x = apply(tf.layers.reLU(), x);
  x = apply(tf.layers.flatten(), x);
  x = apply(tf.layers.dense({ units: 6, activation: 'relu' }), x);
  x = apply(tf.layers.dense({ units: 3 }), x);
  return new ImageModel(manifestFor('chain', [8, 8, 1], ['a', 'b', 'c']), seeded(tf.model({ inputs: input, outputs: x })), 'memory');
}

/** A residual block: conv → BN → ReLU → conv → BN, added to the input's projection, ReLU, pool, dense. */
function residualModel(): ImageModel {
  const input = tf.input({ shape: [8, 8, 3] });
  const stem = apply(tf.layers.conv2d({ filters: 4, kernelSize: 1, useBias: false }), input);
  let y = apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }), stem);
  y = apply(tf.layers.batchNormalization({}), y);
  y = apply(tf.layers.activation({ activation: 'relu' }), y);
  y = apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), y);
  let x = apply(tf.layers.add(), [y, stem]);
  x = apply(tf.layers.activation({ activation: 'relu' }), x);
  x = apply(tf.layers.globalAveragePooling2d({}), x);
  x = apply(tf.layers.dense({ units: 3 }), x);
  return new ImageModel(manifestFor('residual', [8, 8, 3], ['a', 'b', 'c']), seeded(tf.model({ inputs: input, outputs: x })), 'memory');
}

test('on a functional chain, the graph route equals the layer walk', async () => {
  const model = chainModel();
  const walk = layerWalk(model)!;
  const graph = model.gradientForward()!;
  assert.ok(walk.supportsGuided && graph.supportsReluSwap);
  const x = tf.tensor4d(values(2 * 64, 5), [2, 8, 8, 1]);
  const options = { targets: [0, 2], score: 'logit' as const };
  const [viaWalk, viaGraph] = tf.tidy(() => [
    guidedBackprop({ model, walk }, x, options),
    scoreGradient((input) => model.logitsFromOutput(graph.run(input, guidedRelu)), x, options.targets, options.score),
  ]);
  const a = await viaWalk.data();
  const b = await viaGraph.data();
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-5 * Math.max(1, Math.abs(a[i]!)), `element ${i}: ${a[i]} vs ${b[i]}`);
  tf.dispose([viaWalk, viaGraph, x]);
  model.dispose();
});

test('guided backprop runs on a residual network through explainImages', async () => {
  const model = residualModel();
  assert.equal(layerWalk(model), undefined, 'not a chain');
  const images = [values(192, 1), values(192, 2)];
  const before = tf.memory().numTensors;
  const guided = await explainImages(model, images, { method: 'guided-backprop', target: 1 });
  const plain = await explainImages(model, images, { method: 'gradient', target: 1, score: 'logprob' });
  assert.equal(tf.memory().numTensors, before, 'leaked tensors');
  assert.equal(guided.length, 2);
  assert.deepEqual(guided[0]!.map.shape, [8, 8, 3]);
  assert.ok(guided.every((g) => g.map.data.every(Number.isFinite)));
  assert.ok(guided[0]!.map.data.some((v, i) => Math.abs(v - plain[0]!.map.data[i]!) > 1e-6), 'guided differs from the gradient');
  const [cam] = await explainImages(model, images, { method: 'gradcam' });
  const convs = (model.net as tf.LayersModel).layers.filter((l) => l.getClassName() === 'Conv2D');
  assert.equal(cam!.layer, convs.at(-1)!.name, 'the last convolution, inside the residual branch');
  model.dispose();
});
