/**
 * The substitute network of the substitute attack (substitute.ts): an MLP 200-200 as in Papernot
 * et al. 2017, or a small CNN (two 3×3 conv + pool blocks, dense 200), seeded; and the same net
 * wrapped as an ImageModel so that gradlab's white-box attacks run on it unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageModel } from '../../model/image-model.ts';
import type { ImageModelManifest } from '../../model/manifest.ts';

export function buildSubstitute(architecture: 'mlp' | 'cnn', shape: [number, number, number], classes: number, seed: number): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 31 + k });
  const model = tf.sequential();
  if (architecture === 'mlp') {
    model.add(tf.layers.flatten({ inputShape: shape }));
    model.add(tf.layers.dense({ units: 200, activation: 'relu', kernelInitializer: init(1) }));
    model.add(tf.layers.dense({ units: 200, activation: 'relu', kernelInitializer: init(2) }));
  } else {
    model.add(tf.layers.conv2d({ inputShape: shape, filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: init(1) }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 200, activation: 'relu', kernelInitializer: init(3) }));
  }
  model.add(tf.layers.dense({ units: classes, kernelInitializer: init(9) }));
  return model;
}

/** The substitute as an ImageModel, so that gradlab's white-box attacks run on it unchanged. */
export function substituteImageModel(net: tf.LayersModel, labels: string[], shape: [number, number, number], range: [number, number]): ImageModel {
  const manifest: ImageModelManifest = {
    name: 'substitute',
    kind: 'image-classifier',
    format: 'layers',
    model: 'model.json',
    labels,
    input: { shape, range },
    output: 'logits',
    description: 'a local substitute trained on oracle labels (Papernot et al. 2017)',
  };
  return new ImageModel(manifest, net, 'substitute');
}
