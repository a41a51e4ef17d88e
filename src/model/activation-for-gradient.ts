/**
 * Layer activations while a gradient is recorded, with the caller's ReLU in place of every plain
 * one (guided backprop swaps it): shared by the per-layer forward (layer-for-gradient.ts) and the
 * conv chains (conv-chain.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { reluKindOf } from './relu-for-gradient.ts';

export type Layer = tf.layers.Layer;
export type ReluFn = (x: tf.Tensor) => tf.Tensor;

interface ActivationLike {
  apply(x: tf.Tensor): tf.Tensor;
  getClassName(): string;
}

export function activationName(layer: Layer): string | undefined {
  const activation = (layer as unknown as { activation?: ActivationLike }).activation;
  return activation?.getClassName();
}

/**
 * ReLU6 with the caller's ReLU inside: min(relu(x), 6). With the guided ReLU its backward pass is
 * the guided rule for ReLU6 (gradient only where 0 < x < 6 and dy > 0), so MobileNet-style models
 * get guided backprop too; with the plain ReLU it is tfjs' one `relu6` op.
 */
export function relu6Through(relu: ReluFn, x: tf.Tensor): tf.Tensor {
  return reluKindOf(relu) === 'plain' ? tf.relu6(x) : tf.minimum(relu(x), 6);
}

export function applyActivation(layer: Layer, z: tf.Tensor, relu: ReluFn): tf.Tensor {
  const name = activationName(layer);
  if (name === undefined || name === 'linear') return z;
  if (name === 'relu') return relu(z);
  if (name === 'relu6') return relu6Through(relu, z);
  return (layer as unknown as { activation: ActivationLike }).activation.apply(z);
}
