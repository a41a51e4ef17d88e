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
 * `fusedConvForGradient` returns undefined and the layer runs unfused.
 */
import * as tf from '@tensorflow/tfjs';
import { reluBackprop } from '../backend/relu-backprop.ts';
import type { ReluKind } from './relu-for-gradient.ts';

export interface ConvGeometry {
  depthwise: boolean;
  strides: [number, number];
  padding: 'same' | 'valid';
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
  const op = tf.customGrad(((input: tf.Tensor4D, save: tf.GradSaveFunc) => {
    const inputs: Record<string, tf.Tensor> = { x: input, filter: kernel, ...(bias ? { bias } : {}) };
    const y = tf.engine().runKernel(depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D', inputs, attrs) as tf.Tensor4D;
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
