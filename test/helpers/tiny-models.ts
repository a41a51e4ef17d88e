/** In-memory ImageModels for core tests: no files, known weights. */
import * as tf from '@tensorflow/tfjs';
import { ImageModel } from '../../src/model/image-model.ts';
import type { ImageModelManifest } from '../../src/model/manifest.ts';
import { values } from './kernel-check.ts';
import { buildFixtureNet, FIXTURE_LABELS } from './fixture-model.ts';

export function manifestFor(name: string, shape: [number, number, number], labels: string[], range: [number, number] = [0, 1]): ImageModelManifest {
  return { name, kind: 'image-classifier', format: 'layers', model: 'model.json', labels, input: { shape, range }, output: 'logits' };
}

/** The 8×8 conv fixture (conv-relu, pool, dense), in memory. */
export function convFixture(): ImageModel {
  return new ImageModel(manifestFor('tiny', [8, 8, 1], FIXTURE_LABELS), buildFixtureNet(), 'memory');
}

/**
 * A 2-pixel input, one hidden ReLU layer of two units and two output logits, with weights chosen
 * by hand so that guided backprop can be worked out on paper.
 */
export function handReluNet(w1: number[][], w2: number[][]): ImageModel {
  const net = tf.sequential();
  net.add(tf.layers.flatten({ inputShape: [1, 2, 1] }));
  net.add(tf.layers.dense({ units: 2, activation: 'relu', useBias: false, name: 'hidden' }));
  net.add(tf.layers.dense({ units: 2, useBias: false, name: 'out' }));
  net.layers[1]!.setWeights([tf.tensor2d(w1)]);
  net.layers[2]!.setWeights([tf.tensor2d(w2)]);
  return new ImageModel(manifestFor('hand', [1, 2, 1], ['a', 'b'], [-10, 10]), net, 'memory');
}

/** A smooth (tanh) dense model on a 3×3 grey input, for finite-difference checks. */
export function smoothNet(): ImageModel {
  const net = tf.sequential();
  net.add(tf.layers.flatten({ inputShape: [3, 3, 1] }));
  net.add(tf.layers.dense({ units: 5, activation: 'tanh', kernelInitializer: tf.initializers.randomNormal({ seed: 3, stddev: 1 }) }));
  net.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.randomNormal({ seed: 4, stddev: 1 }) }));
  return new ImageModel(manifestFor('smooth', [3, 3, 1], ['x', 'y', 'z']), net, 'memory');
}

/** `net` with seeded weights (values(size, seed + i) per weight; batch-norm variances made positive), for kernel and gradient tests. */
export function withSeededWeights(net: tf.LayersModel, seed: number): tf.LayersModel {
  const names = net.weights.map((w) => w.name);
  net.setWeights(net.getWeights().map((w, i) => {
    const v = values(w.size, seed + i);
    return tf.tensor(names[i]!.includes('variance') ? v.map((x) => 0.5 + Math.abs(x)) : v, w.shape);
  }));
  return net;
}
