/**
 * The network and the single training step of `npm run train` (moved out of scripts/train.ts
 * unchanged): the architecture shared by every shipped image classifier, its one-line summary for
 * manifests, the shift/flip augmentation, one optimiser step and the learning-rate schedule.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../src/datasets/image-set.ts';
import { klFrom } from './train-adversarial.ts';

/** How wide the network is: filters of conv1–conv3 and units of the hidden dense layer. */
export interface NetworkWidths {
  conv: readonly [number, number, number];
  dense: number;
}

/** The plain models' widths (`mnist`, `fashion`, `fashion-robust`). */
export const STANDARD_WIDTHS: NetworkWidths = { conv: [32, 32, 64], dense: 128 };

/**
 * conv3x3(32)-relu, conv3x3(32)-relu, maxpool2, conv3x3(64)-relu, maxpool2, flatten,
 * dense(128)-relu, dropout 0.3, dense(10) with linear output (logits), at the standard widths
 * (`widths` scales them). Plain ReLU convolutions, no depthwise layers and no batch-norm, so every
 * explanation and attack path has the kernels it needs on every backend. Layer names are stable
 * for Grad-CAM (`conv3` is the last conv layer).
 */
export function buildModel(seed: number, classes: number, widths: NetworkWidths = STANDARD_WIDTHS): tf.Sequential {
  const he = (k: number) => tf.initializers.heNormal({ seed: seed * 100 + k });
  const model = tf.sequential({ name: 'gradlab_cnn' });
  const [c1, c2, c3] = widths.conv;
  model.add(tf.layers.conv2d({ name: 'conv1', inputShape: [28, 28, 1], filters: c1, kernelSize: 3, activation: 'relu', kernelInitializer: he(1) }));
  model.add(tf.layers.conv2d({ name: 'conv2', filters: c2, kernelSize: 3, activation: 'relu', kernelInitializer: he(2) }));
  model.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  model.add(tf.layers.conv2d({ name: 'conv3', filters: c3, kernelSize: 3, activation: 'relu', kernelInitializer: he(3) }));
  model.add(tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dense({ name: 'dense1', units: widths.dense, activation: 'relu', kernelInitializer: he(4) }));
  model.add(tf.layers.dropout({ name: 'dropout', rate: 0.3 }));
  model.add(tf.layers.dense({
    name: 'logits',
    units: classes,
    activation: 'linear',
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 100 + 5 }),
  }));
  return model;
}

export function architectureSummary(model: tf.LayersModel): string {
  const parts = model.layers.map((layer) => {
    const c = layer.getConfig() as Record<string, unknown>;
    switch (layer.getClassName()) {
      case 'Conv2D':
        return `conv${(c.kernelSize as number[]).join('x')}(${String(c.filters)})-${String(c.activation)}`;
      case 'MaxPooling2D':
        return `maxpool${(c.poolSize as number[])[0]}`;
      case 'Dense':
        return `dense(${String(c.units)})-${String(c.activation)}`;
      case 'Dropout':
        return `dropout ${String(c.rate)}`;
      default:
        return layer.getClassName().toLowerCase();
    }
  });
  return `${parts.join(', ')}; ${model.countParams()} parameters; output: logits`;
}

/**
 * Copies image `from` of `set` into `dst` at `to`, translated by (dx, dy) pixels with a zero
 * (dark) border and optionally mirrored left-right.
 */
export function copyAugmented(set: ImageSet, from: number, dst: Float32Array, to: number, dx: number, dy: number, flip: boolean): void {
  const { height: h, width: w } = set;
  const src = from * h * w;
  const out = to * h * w;
  dst.fill(0, out, out + h * w);
  for (let y = 0; y < h; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= h) continue;
    for (let x = 0; x < w; x++) {
      let sx = x - dx;
      if (sx < 0 || sx >= w) continue;
      if (flip) sx = w - 1 - sx;
      dst[out + y * w + x] = set.images[src + sy * w + sx]!;
    }
  }
}

export interface BatchStats {
  loss: number;
  correct: number;
}

/** One optimiser step on a batch; returns the batch's mean loss and how many it got right. */
export function trainStep(model: tf.LayersModel, optimizer: tf.Optimizer, pixels: Float32Array, labels: Int32Array, classes: number): BatchStats {
  const n = labels.length;
  let correctTensor: tf.Tensor | undefined;
  const loss = tf.tidy(() => {
    const xs = tf.tensor4d(pixels, [n, 28, 28, 1]);
    const ys = tf.tensor1d(labels, 'int32');
    return optimizer.minimize(() => {
      const logits = model.apply(xs, { training: true }) as tf.Tensor2D;
      correctTensor = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), ys), 'int32')));
      return tf.losses.softmaxCrossEntropy(tf.oneHot(ys, classes), logits) as tf.Scalar;
    }, true) as tf.Scalar;
  });
  const stats = { loss: loss.dataSync()[0]!, correct: correctTensor!.dataSync()[0]! };
  loss.dispose();
  correctTensor!.dispose();
  return stats;
}

/**
 * One TRADES optimiser step (Zhang et al. 2019): loss CE(f(clean), y) + β·KL(softmax(f(clean)) ‖
 * softmax(f(adversarial))), both passes in training mode; the reported loss and accuracy are the
 * clean ones.
 */
export function tradesTrainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  clean: Float32Array,
  adversarial: Float32Array,
  labels: Int32Array,
  classes: number,
  beta: number,
): BatchStats {
  const n = labels.length;
  let correctTensor: tf.Tensor | undefined;
  const loss = tf.tidy(() => {
    const xs = tf.tensor4d(clean, [n, 28, 28, 1]);
    const xa = tf.tensor4d(adversarial, [n, 28, 28, 1]);
    const ys = tf.tensor1d(labels, 'int32');
    return optimizer.minimize(() => {
      const logits = model.apply(xs, { training: true }) as tf.Tensor2D;
      const adversarialLogits = model.apply(xa, { training: true }) as tf.Tensor2D;
      correctTensor = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), ys), 'int32')));
      const natural = tf.losses.softmaxCrossEntropy(tf.oneHot(ys, classes), logits) as tf.Scalar;
      return natural.add(klFrom(tf.softmax(logits), adversarialLogits).mul(beta)) as tf.Scalar;
    }, true) as tf.Scalar;
  });
  const stats = { loss: loss.dataSync()[0]!, correct: correctTensor!.dataSync()[0]! };
  loss.dispose();
  correctTensor!.dispose();
  return stats;
}

/** Cosine decay from `lr` to 5% of it over the whole run, set on the optimiser before each step. */
export function setLearningRate(optimizer: tf.Optimizer, lr: number, step: number, totalSteps: number): void {
  const floor = 0.05;
  const value = lr * (floor + (1 - floor) * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps)));
  (optimizer as unknown as { learningRate: number }).learningRate = value;
}
