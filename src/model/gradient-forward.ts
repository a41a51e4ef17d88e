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
 * - every other layer: its own `apply`.
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

/** A batch-norm layer in inference mode as one broadcast multiply and add. */
function batchNormForGradient(layer: Layer, x: tf.Tensor): tf.Tensor | undefined {
  const bn = layer as unknown as {
    axis: number; epsilon: number; center: boolean; scale: boolean;
    movingMean: tf.LayerVariable; movingVariance: tf.LayerVariable; gamma?: tf.LayerVariable; beta?: tf.LayerVariable;
  };
  const axis = bn.axis < 0 ? bn.axis + x.rank : bn.axis;
  if (axis !== x.rank - 1) return undefined; // channels-last only; others keep tfjs' own op
  let factor = tf.rsqrt(tf.add(bn.movingVariance.read(), bn.epsilon));
  if (bn.scale && bn.gamma) factor = tf.mul(factor, bn.gamma.read());
  let shift = tf.neg(tf.mul(bn.movingMean.read(), factor));
  if (bn.center && bn.beta) shift = tf.add(shift, bn.beta.read());
  return tf.add(tf.mul(x, factor), shift);
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

  /** The runner for `net`, or undefined where it cannot reproduce `predict` (then use predict). */
  static forModel(net: tf.LayersModel): GradientForward | undefined {
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
    return new GradientForward(steps, net.inputs[0]!.id, net.outputs[0]!.id);
  }

  /** The model's output for x; every plain ReLU goes through `relu`. */
  run(x: tf.Tensor, relu: ReluFn = tf.relu): tf.Tensor {
    const values = new Map<number, tf.Tensor>([[this.input, x]]);
    for (const { layer, inputs, output } of this.steps) {
      const args = inputs.map((id) => {
        const value = values.get(id);
        if (!value) throw new Error(`gradient forward: layer ${layer.name} runs before its input`);
        return value;
      });
      values.set(output, args.length === 1 ? applyLayerForGradient(layer, args[0]!, relu) : layer.apply(args, { training: false }) as tf.Tensor);
    }
    return values.get(this.output)!;
  }
}

/** Whether a gradient is being recorded right now (tfjs' own test for fusing ops). */
export function recordingGradient(): boolean {
  return tf.engine().state.gradientDepth > 0;
}
