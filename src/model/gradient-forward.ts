/**
 * The forward pass of a tfjs Layers model as it should run while a gradient is being recorded.
 *
 * `model.predict` is built for inference: Keras layers call tfjs' fused ops, and a fused conv or
 * dense layer with a linear activation (conv -> batch norm -> ReLU, the ResNet/MobileNet pattern)
 * stays fused while recording. Its gradient then always computes the weight gradient too, which an
 * input gradient throws away: on ResNet-18 that was a third of the backward pass. Batch norm's
 * gradient (tfjs `FusedBatchNorm`) materialises full-size tiles and differences it never needs for
 * the input gradient. This module runs the same layers with plain ops instead:
 *
 * - Conv2D, DepthwiseConv2D, Dense: unfused conv / matMul, bias add, then the activation;
 * - BatchNormalization (inference): `x * factor + shift` with per-channel factor = γ/√(σ²+ε) and
 *   shift = β − μ·factor, so its input gradient is one broadcast multiply;
 * - ReLU / Activation('relu') and relu activations: `relu` (replaceable, for guided backprop),
 *   relu6 as one `relu6` op;
 * - every other layer: its own `apply`;
 * - a Conv2D/DepthwiseConv2D with a linear activation whose only consumer is a batch-norm layer
 *   (the ResNet/MobileNet pattern) runs as one conv with the batch norm folded into its kernel and
 *   bias (kernel·factor, bias·factor + shift), which drops the batch norm's full-size multiply and
 *   add from the forward pass and from the backward pass. The folded weights are computed once and
 *   recomputed only if a weight variable is reassigned; `dispose` releases them.
 *
 * Values are the same as `predict`'s up to float rounding (tested). `forModel` walks the model's
 * graph in its layer order (topological), so residual networks work; models with shared layers
 * or nested sub-models keep using `predict`.
 */
import * as tf from '@tensorflow/tfjs';

type Layer = tf.layers.Layer;
type ReluFn = (x: tf.Tensor) => tf.Tensor;

interface ActivationLike {
  apply(x: tf.Tensor): tf.Tensor;
  getClassName(): string;
}

interface Step {
  layer: Layer;
  /** Keys of the tensors the layer takes (symbolic tensor ids), in order. */
  inputs: number[];
  output: number;
  /** A conv with the next step's batch norm folded in: runs both, and sets `foldedOutput`. */
  fold?: ConvBatchNormFold;
  foldedOutput?: number;
  /** A batch norm folded into the conv before it: nothing to run. */
  folded?: boolean;
}

function activationName(layer: Layer): string | undefined {
  const activation = (layer as unknown as { activation?: ActivationLike }).activation;
  return activation?.getClassName();
}

function applyActivation(layer: Layer, z: tf.Tensor, relu: ReluFn): tf.Tensor {
  const name = activationName(layer);
  if (name === undefined || name === 'linear') return z;
  if (name === 'relu') return relu(z);
  if (name === 'relu6') return tf.relu6(z);
  return (layer as unknown as { activation: ActivationLike }).activation.apply(z);
}

/** A batch-norm layer in inference mode as one broadcast multiply and add (channels-last only). */
function batchNormForGradient(layer: Layer, x: tf.Tensor): tf.Tensor | undefined {
  const affine = batchNormAffine(layer, x.rank);
  return affine && tf.add(tf.mul(x, affine.factor), affine.shift);
}

/** A batch-norm layer's inference transform as per-channel factor and shift, or undefined if not channels-last. */
function batchNormAffine(layer: Layer, rank: number): { factor: tf.Tensor; shift: tf.Tensor } | undefined {
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
class ConvBatchNormFold {
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
    const [kernel, bias] = tf.tidy(() => {
      const [w, b] = this.conv.getWeights();
      const { factor, shift } = batchNormAffine(this.bn, 4)!;
      // Conv2D kernels are [KH, KW, Cin, Cout], depthwise [KH, KW, C, multiplier]: output channel c·M + m.
      const perOutput = this.conv.getClassName() === 'Conv2D' ? factor : tf.reshape(factor, w!.shape.slice(2));
      const biasIn = b && this.conv.getConfig().useBias !== false ? b : tf.zeros(factor.shape);
      return [tf.mul(w!, perOutput), tf.add(tf.mul(biasIn, factor), shift)];
    });
    this.kernel = tf.keep(kernel!);
    this.bias = tf.keep(bias!);
    this.sourceData = data;
  }

  dispose(): void {
    this.kernel?.dispose();
    this.bias?.dispose();
    this.kernel = this.bias = undefined;
  }
}

/** Whether `layer` is a conv whose output can take a following batch norm into its weights. */
function foldableConv(layer: Layer): boolean {
  const cls = layer.getClassName();
  const config = layer.getConfig();
  const linear = activationName(layer) === undefined || activationName(layer) === 'linear';
  return (cls === 'Conv2D' || cls === 'DepthwiseConv2D') && linear && config.dataFormat !== 'channelsFirst';
}

function foldableBatchNorm(layer: Layer): boolean {
  if (layer.getClassName() !== 'BatchNormalization') return false;
  const axis = (layer as unknown as { axis: number }).axis;
  return axis === -1 || axis === 3;
}

/**
 * One layer for a recorded gradient (see the module comment). `relu` replaces every plain ReLU,
 * e.g. by the guided-backprop ReLU.
 */
export function applyLayerForGradient(layer: Layer, x: tf.Tensor, relu: ReluFn = tf.relu): tf.Tensor {
  const cls = layer.getClassName();
  const config = layer.getConfig();
  if (cls === 'ReLU') {
    const maxValue = config.maxValue as number | null | undefined;
    const plain = !config.threshold && !config.negativeSlope;
    if (plain && (maxValue == null)) return relu(x);
    if (plain && maxValue === 6) return tf.relu6(x);
  }
  if (cls === 'Activation') return applyActivation(layer, x, relu);
  if ((cls === 'Conv2D' || cls === 'DepthwiseConv2D') && x.rank === 4 && config.dataFormat !== 'channelsFirst') {
    const [kernel, bias] = layer.getWeights();
    const strides = config.strides as [number, number];
    const padding = config.padding as 'same' | 'valid';
    const dilation = config.dilationRate as number | [number, number];
    let z = cls === 'Conv2D'
      ? tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, strides, padding, 'NHWC', dilation)
      : tf.depthwiseConv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, strides, padding, 'NHWC', dilation);
    if (bias && config.useBias !== false) z = tf.add(z, bias);
    return applyActivation(layer, z, relu);
  }
  if (cls === 'Dense' && x.rank >= 2) {
    const [kernel, bias] = layer.getWeights();
    const units = kernel!.shape[1]!;
    // Dense on [..., features] acts on the last axis: as one matMul over the flattened leading axes.
    const flat = x.rank === 2 ? x : tf.reshape(x, [-1, x.shape[x.rank - 1]!]);
    let z: tf.Tensor = tf.matMul(flat as tf.Tensor2D, kernel as tf.Tensor2D);
    if (bias && config.useBias !== false) z = tf.add(z, bias);
    if (x.rank > 2) z = tf.reshape(z, [...x.shape.slice(0, -1), units]);
    return applyActivation(layer, z, relu);
  }
  if (cls === 'BatchNormalization') {
    const y = batchNormForGradient(layer, x);
    if (y) return y;
  }
  return layer.apply(x, { training: false }) as tf.Tensor;
}

/** Whether the layer computes a ReLU somewhere (as its activation or as a ReLU layer). */
function hasRelu(layer: Layer): boolean {
  const cls = layer.getClassName();
  const config = layer.getConfig();
  if (cls === 'ReLU') return config.maxValue == null && !config.negativeSlope && !config.threshold;
  return activationName(layer) === 'relu';
}

/** Layers whose ReLU `applyLayerForGradient` replaces by the caller's. */
const RELU_REPLACED = new Set(['ReLU', 'Activation', 'Conv2D', 'DepthwiseConv2D', 'Dense']);

/**
 * Marks each conv → batch-norm pair that can run as one conv: the conv (linear activation) feeds
 * only the batch norm, and its own output is not the model's. Precomputes their folded weights.
 */
function planFolds(steps: Step[], modelOutput: number): void {
  const consumers = new Map<number, number>();
  for (const step of steps) for (const id of step.inputs) consumers.set(id, (consumers.get(id) ?? 0) + 1);
  for (let i = 0; i + 1 < steps.length; i++) {
    const conv = steps[i]!;
    const bn = steps.find((s) => s.inputs.length === 1 && s.inputs[0] === conv.output);
    if (!bn || !foldableConv(conv.layer) || !foldableBatchNorm(bn.layer)) continue;
    if (consumers.get(conv.output) !== 1 || conv.output === modelOutput || conv.fold || bn.folded) continue;
    conv.fold = new ConvBatchNormFold(conv.layer, bn.layer);
    conv.fold.prepare();
    conv.foldedOutput = bn.output;
    bn.folded = true;
  }
}

/** A Layers model's graph, run layer by layer with `applyLayerForGradient`. */
export class GradientForward {
  /** Whether the model has ReLUs and every one of them goes through the `relu` given to `run`. */
  readonly supportsReluSwap: boolean;

  private constructor(
    private readonly steps: Step[],
    private readonly input: number,
    private readonly output: number,
  ) {
    const withRelu = steps.filter((s) => hasRelu(s.layer));
    this.supportsReluSwap = withRelu.length > 0 && withRelu.every((s) => RELU_REPLACED.has(s.layer.getClassName()));
  }

  /**
   * The runner for `net`, or undefined where it cannot reproduce `predict` (then use predict).
   * `foldBatchNorm: false` keeps conv and batch norm apart (for scripts/bench-fold.ts).
   */
  static forModel(net: tf.LayersModel, options: { foldBatchNorm?: boolean } = {}): GradientForward | undefined {
    if (net.inputs.length !== 1 || net.outputs.length !== 1) return undefined;
    const steps: Step[] = [];
    for (const layer of net.layers) {
      if (layer.getClassName() === 'InputLayer') continue;
      // Shared layers (several call sites) and nested models have no single wiring to follow.
      if (layer.inboundNodes.length !== 1 || layer instanceof tf.LayersModel) return undefined;
      const node = layer.inboundNodes[0]!;
      if (node.outputTensors.length !== 1) return undefined;
      steps.push({ layer, inputs: node.inputTensors.map((t) => t.id), output: node.outputTensors[0]!.id });
    }
    const output = net.outputs[0]!.id;
    if (options.foldBatchNorm !== false) planFolds(steps, output);
    return new GradientForward(steps, net.inputs[0]!.id, output);
  }

  /** Releases the folded conv weights. */
  dispose(): void {
    for (const step of this.steps) step.fold?.dispose();
  }

  /** The model's output for x; every plain ReLU goes through `relu`. */
  run(x: tf.Tensor, relu: ReluFn = tf.relu): tf.Tensor {
    const values = new Map<number, tf.Tensor>([[this.input, x]]);
    for (const { layer, inputs, output, fold, foldedOutput, folded } of this.steps) {
      if (folded) continue;
      const args = inputs.map((id) => {
        const value = values.get(id);
        if (!value) throw new Error(`gradient forward: layer ${layer.name} runs before its input`);
        return value;
      });
      if (fold && args[0]!.rank === 4) {
        values.set(foldedOutput!, fold.apply(args[0] as tf.Tensor4D));
        continue;
      }
      values.set(output, args.length === 1 ? applyLayerForGradient(layer, args[0]!, relu) : layer.apply(args, { training: false }) as tf.Tensor);
    }
    return values.get(this.output)!;
  }
}

/** Whether a gradient is being recorded right now (tfjs' own test for fusing ops). */
export function recordingGradient(): boolean {
  return tf.engine().state.gradientDepth > 0;
}
