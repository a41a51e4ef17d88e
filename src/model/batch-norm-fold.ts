/**
 * Batch norm folded into the conv before it, for the recorded-gradient forward pass
 * (gradient-forward.ts): a Conv2D/DepthwiseConv2D with a linear activation whose only consumer is
 * a batch-norm layer (the ResNet/MobileNet pattern) runs as one conv with kernel·factor and
 * bias·factor + shift, which drops the batch norm's full-size multiply and add from the forward
 * and the backward pass. The folded weights are computed once and recomputed only if a weight
 * variable is reassigned; `dispose` releases them.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedConvForGradient } from './conv-for-gradient.ts';
import { activationName, batchNormAffine, type Layer } from './layer-for-gradient.ts';

/** The variables a fold depends on: a change of any of their data means the fold is stale. */
function foldSources(conv: Layer, bn: Layer): tf.Tensor[] {
  return [...conv.weights, ...bn.weights].map((w) => (w as unknown as { read(): tf.Tensor }).read());
}

/**
 * A conv layer and the batch norm after it, as one conv: kernel and bias with the batch norm
 * folded in. Kept tensors, owned by the fold.
 */
export class ConvBatchNormFold {
  private kernel: tf.Tensor | undefined;
  private bias: tf.Tensor | undefined;
  private sourceData: object[] = [];

  constructor(readonly conv: Layer, readonly bn: Layer) {}

  /** conv(x) followed by the batch norm, with the folded weights (recomputed if a weight changed). */
  apply(x: tf.Tensor4D): tf.Tensor {
    this.prepare();
    const config = this.conv.getConfig();
    const strides = config.strides as [number, number];
    const padding = config.padding as 'same' | 'valid';
    const dilation = config.dilationRate as number | [number, number];
    const depthwise = this.conv.getClassName() !== 'Conv2D';
    const fused = fusedConvForGradient(x, this.kernel as tf.Tensor4D, this.bias as tf.Tensor1D, { depthwise, strides, padding, dilation }, 'none');
    if (fused) return fused;
    const z = this.conv.getClassName() === 'Conv2D'
      ? tf.conv2d(x, this.kernel as tf.Tensor4D, strides, padding, 'NHWC', dilation)
      : tf.depthwiseConv2d(x, this.kernel as tf.Tensor4D, strides, padding, 'NHWC', dilation);
    return tf.add(z, this.bias!);
  }

  /** Computes the folded weights unless they are up to date. */
  prepare(): void {
    const sources = foldSources(this.conv, this.bn);
    const data = sources.map((t) => (t as unknown as { dataId: object }).dataId);
    if (this.kernel && data.length === this.sourceData.length && data.every((d, i) => d === this.sourceData[i])) return;
    this.dispose();
    // Computed outside any caller's gradient tape and tidy, and kept.
    const [kernel, bias] = tf.tidy((): [tf.Tensor, tf.Tensor] => {
      const [w, b] = this.conv.getWeights();
      const { factor, shift } = batchNormAffine(this.bn, 4)!;
      // Conv2D kernels are [KH, KW, Cin, Cout], depthwise [KH, KW, C, multiplier]: output channel c·M + m.
      const perOutput = this.conv.getClassName() === 'Conv2D' ? factor : tf.reshape(factor, w!.shape.slice(2));
      const biasIn = b && this.conv.getConfig().useBias !== false ? b : tf.zeros(factor.shape);
      return [tf.mul(w!, perOutput), tf.add(tf.mul(biasIn, factor), shift)];
    });
    this.kernel = tf.keep(kernel);
    this.bias = tf.keep(bias);
    this.sourceData = data;
  }

  dispose(): void {
    this.kernel?.dispose();
    this.bias?.dispose();
    this.kernel = this.bias = undefined;
  }
}

/** Whether `layer` is a conv whose output can take a following batch norm into its weights. */
export function foldableConv(layer: Layer): boolean {
  const cls = layer.getClassName();
  const config = layer.getConfig();
  const linear = activationName(layer) === undefined || activationName(layer) === 'linear';
  return (cls === 'Conv2D' || cls === 'DepthwiseConv2D') && linear && config.dataFormat !== 'channelsFirst';
}

export function foldableBatchNorm(layer: Layer): boolean {
  if (layer.getClassName() !== 'BatchNormalization') return false;
  const axis = (layer as unknown as { axis: number }).axis;
  return axis === -1 || axis === 3;
}
