/**
 * One layer of a tfjs Layers model as it should run while a gradient is being recorded (see
 * gradient-forward.ts for why): plain ops instead of tfjs' fused ones.
 *
 * - Conv2D, DepthwiseConv2D: one op with bias and ReLU and an input-only gradient (a conv chain
 *   of one layer, conv-chain.ts), the activation after it when it is not a ReLU to fuse;
 * - Dense: one op with bias and ReLU and an input-only gradient (dense-for-gradient.ts), the
 *   activation after it when it is not a ReLU to fuse;
 * - BatchNormalization (inference): `x * factor + shift` with per-channel factor = γ/√(σ²+ε) and
 *   shift = β − μ·factor, so its input gradient is one broadcast multiply;
 * - ReLU / Activation('relu') and relu activations: `relu` (replaceable, for guided backprop; the
 *   plain one by default, relu-for-gradient.ts);
 *   relu6 as one `relu6` op, or as min(relu(x), 6) when `relu` is replaced (relu6Through);
 * - every other layer: its own `apply`.
 */
import * as tf from '@tensorflow/tfjs';
import { activationName, applyActivation, relu6Through, type Layer, type ReluFn } from './activation-for-gradient.ts';
import { batchNormAffine } from './batch-norm-fold.ts';
import { chainableConv, convLayerForGradient } from './conv-chain.ts';
import { denseForGradient } from './dense-for-gradient.ts';
import { plainRelu, reluKindOf } from './relu-for-gradient.ts';

/** A batch-norm layer in inference mode as one broadcast multiply and add (channels-last only). */
function batchNormForGradient(layer: Layer, x: tf.Tensor): tf.Tensor | undefined {
  const affine = batchNormAffine(layer, x.rank);
  return affine && tf.add(tf.mul(x, affine.factor), affine.shift);
}

/**
 * One layer for a recorded gradient (see the module comment). `relu` replaces every plain ReLU,
 * e.g. by the guided-backprop ReLU.
 */
export function applyLayerForGradient(layer: Layer, x: tf.Tensor, relu: ReluFn = plainRelu): tf.Tensor {
  // tfjs' own ReLU has the two-kernel backward pass; the plain one here computes the same in one.
  if (relu === tf.relu) relu = plainRelu;
  const cls = layer.getClassName();
  const config = layer.getConfig();
  if (cls === 'ReLU') {
    const maxValue = config.maxValue as number | null | undefined;
    const plain = !config.threshold && !config.negativeSlope;
    if (plain && (maxValue == null)) return relu(x);
    if (plain && maxValue === 6) return relu6Through(relu, x);
  }
  if (cls === 'Activation') return applyActivation(layer, x, relu);
  if (chainableConv(layer) && x.rank === 4) return convLayerForGradient(layer, x as tf.Tensor4D, relu);
  if (cls === 'Dense' && x.rank >= 2) {
    const [kernel, bias] = layer.getWeights();
    const units = kernel!.shape[1]!;
    // Dense on [..., features] acts on the last axis: as one matMul over the flattened leading axes.
    const flat = (x.rank === 2 ? x : tf.reshape(x, [-1, x.shape[x.rank - 1]!])) as tf.Tensor2D;
    const useBias = bias && config.useBias !== false ? (bias as tf.Tensor1D) : undefined;
    const reluKind = reluKindOf(relu);
    const fuseRelu = activationName(layer) === 'relu' && reluKind !== undefined;
    const fused = denseForGradient(flat, kernel as tf.Tensor2D, useBias, fuseRelu ? reluKind : 'none');
    let z: tf.Tensor;
    if (fused) {
      z = fused;
    } else {
      z = tf.matMul(flat, kernel as tf.Tensor2D);
      if (useBias) z = tf.add(z, useBias);
    }
    if (x.rank > 2) z = tf.reshape(z, [...x.shape.slice(0, -1), units]);
    return fused && fuseRelu ? z : applyActivation(layer, z, relu);
  }
  if (cls === 'BatchNormalization') {
    const y = batchNormForGradient(layer, x);
    if (y) return y;
  }
  return layer.apply(x, { training: false }) as tf.Tensor;
}

/** Whether the layer computes a ReLU or ReLU6 somewhere (as its activation or as a ReLU layer). */
export function hasRelu(layer: Layer): boolean {
  const cls = layer.getClassName();
  const config = layer.getConfig();
  if (cls === 'ReLU') return (config.maxValue == null || config.maxValue === 6) && !config.negativeSlope && !config.threshold;
  const activation = activationName(layer);
  return activation === 'relu' || activation === 'relu6';
}

/** Layers whose ReLU `applyLayerForGradient` replaces by the caller's. */
export const RELU_REPLACED = new Set(['ReLU', 'Activation', 'Conv2D', 'DepthwiseConv2D', 'Dense']);
