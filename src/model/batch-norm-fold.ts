/**
 * Batch norm folded into the conv before it, for the gradient forward pass (gradient-forward.ts,
 * conv-chain.ts runs it): a Conv2D/DepthwiseConv2D with a linear activation whose only consumer is
 * a batch-norm layer (the ResNet/MobileNet pattern) runs as one conv with kernel·factor and
 * bias·factor + shift, which drops the batch norm's full-size multiply and add from the forward
 * and the backward pass. The folded weights are computed once and recomputed only if a weight
 * variable is reassigned; `dispose` releases them. Also the batch norm's inference transform as a
 * per-channel affine map (`batchNormAffine`), which layer-for-gradient.ts runs for an unfolded one.
 */
import * as tf from '@tensorflow/tfjs';
import type { Layer } from './activation-for-gradient.ts';

/** A batch-norm layer's inference transform as per-channel factor and shift, or undefined if not channels-last. */
export function batchNormAffine(layer: Layer, rank: number): { factor: tf.Tensor; shift: tf.Tensor } | undefined {
  const bn = layer as unknown as {
    axis: number; epsilon: number; center: boolean; scale: boolean;
    movingMean: tf.LayerVariable; movingVariance: tf.LayerVariable; gamma?: tf.LayerVariable; beta?: tf.LayerVariable;
  };
  const axis = bn.axis < 0 ? bn.axis + rank : bn.axis;
  if (axis !== rank - 1) return undefined;
  let factor = tf.rsqrt(tf.add(bn.movingVariance.read(), bn.epsilon));
  if (bn.scale && bn.gamma) factor = tf.mul(factor, bn.gamma.read());
  let shift = tf.neg(tf.mul(bn.movingMean.read(), factor));
  if (bn.center && bn.beta) shift = tf.add(shift, bn.beta.read());
  return { factor, shift };
}

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

  /** The folded kernel and bias (recomputed first if a weight changed); owned by the fold. */
  weights(): { kernel: tf.Tensor4D; bias: tf.Tensor1D } {
    this.prepare();
    return { kernel: this.kernel as tf.Tensor4D, bias: this.bias as tf.Tensor1D };
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

export function foldableBatchNorm(layer: Layer): boolean {
  if (layer.getClassName() !== 'BatchNormalization') return false;
  const axis = (layer as unknown as { axis: number }).axis;
  return axis === -1 || axis === 3;
}
