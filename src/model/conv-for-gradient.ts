/**
 * A convolution layer (conv or depthwise, bias, optional ReLU) as one op while an INPUT gradient
 * is recorded: forward, tfjs' fused kernel (conv + bias + ReLU in one pass: one oneDNN primitive
 * with the native addon); backward, the ReLU mask in one pass (relu-backprop.ts) and the
 * convolution's input gradient. Unfused, the same layer was five kernels forward and backward
 * (conv, bias add, ReLU; step, multiply) plus two activation-sized temporaries.
 *
 * The gradient flows to the layer's input only: the filter and bias are constants here, so no
 * weight gradient is ever computed (an input gradient throws it away). Nothing in gradlab's core
 * differentiates with respect to weights through this path; training uses the model's own
 * `apply`. Dilated convolutions are not handled (tfjs' conv gradients refuse them too):
 * `fusedConvForGradient` returns undefined and the layer runs unfused. Outside a recorded gradient
 * the forward kernel runs alone (the model's plain forward pass uses this path too, image-model.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { reluBackprop } from '../backend/relu-backprop.ts';
import type { ReluKind } from './relu-for-gradient.ts';

export interface ConvGeometry {
  depthwise: boolean;
  strides: [number, number];
  /** tfjs' padding: 'same', 'valid', or explicit [[0, 0], [top, bottom], [left, right], [0, 0]] (a folded ZeroPadding2D). */
  padding: 'same' | 'valid' | tf.backend_util.ExplicitPadding;
  dilation: number | [number, number];
}

const isOne = (d: number | [number, number]) => (Array.isArray(d) ? d.every((v) => v === 1) : d === 1);

/** conv(x) + bias, then the ReLU of `relu` (none: linear), with an input-only gradient; undefined where unsupported. */
export function fusedConvForGradient(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  bias: tf.Tensor1D | undefined,
  geometry: ConvGeometry,
  relu: ReluKind | 'none',
): tf.Tensor4D | undefined {
  if (!isOne(geometry.dilation) || x.dtype !== 'float32') return undefined;
  const { depthwise, strides, padding } = geometry;
  const inputShape = x.shape;
  const attrs = { strides, pad: padding, dataFormat: 'NHWC', dilations: [1, 1], activation: relu === 'none' ? 'linear' : 'relu' };
  const forwardKernel = depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D';
  const weights: Record<string, tf.Tensor> = { filter: kernel, ...(bias ? { bias } : {}) };
  // Nothing recorded: the forward kernel alone, without a custom gradient's bookkeeping.
  if (tf.engine().state.gradientDepth === 0) return tf.engine().runKernel(forwardKernel, { x, ...weights }, attrs) as tf.Tensor4D;
  const op = tf.customGrad(((input: tf.Tensor4D, save: tf.GradSaveFunc) => {
    const y = tf.engine().runKernel(forwardKernel, { x: input, ...weights }, attrs) as tf.Tensor4D;
    if (relu !== 'none') save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const masked = relu === 'none' ? dy : reluBackprop(dy, saved[0]!, relu === 'guided');
        return tf.engine().runKernel(depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput', { dy: masked, filter: kernel },
          { strides, pad: padding, dataFormat: 'NHWC', dilations: [1, 1], inputShape }) as tf.Tensor4D;
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor4D;
}
