/**
 * A convolution together with the layers around it that can run inside it, for the gradient
 * forward pass (gradient-forward.ts plans the chains, this module runs one):
 *
 *   [ZeroPadding2D] → Conv2D | DepthwiseConv2D → [BatchNormalization] → [ReLU]
 *
 * - a zero padding whose only consumer is a 'valid' conv becomes the conv's explicit padding
 *   (no padded copy of the input forward, no Slice of the gradient backward: Keras-style ResNets
 *   pad before every strided conv);
 * - a batch norm after a linear conv is folded into its weights (batch-norm-fold.ts);
 * - a plain ReLU layer after that (or after the linear conv) becomes the fused kernel's ReLU, the
 *   caller's ReLU kind (plain or guided) included, so its backward pass is the one mask of
 *   conv-for-gradient.ts.
 * Values equal the layers run one by one up to float rounding (tested). The chain runs as one op
 * with an input-only gradient where `fusedConvForGradient` can; elsewhere (dilation) as plain
 * ops with the same padding, bias and ReLU. On tfjs-node, whose conv gradient takes no explicit
 * padding, the zero padding runs as its own layer first.
 */
import * as tf from '@tensorflow/tfjs';
import { ConvBatchNormFold } from './batch-norm-fold.ts';
import { fusedConvForGradient, type ConvGeometry } from './conv-for-gradient.ts';
import { activationName, applyActivation, type Layer, type ReluFn } from './activation-for-gradient.ts';
import { reluKindOf } from './relu-for-gradient.ts';

export interface ConvChainLayers {
  pad?: Layer;
  conv: Layer;
  bn?: Layer;
  relu?: Layer;
}

const channelsLast = (layer: Layer) => layer.getConfig().dataFormat !== 'channelsFirst';

/** A Conv2D or DepthwiseConv2D on channels-last input: the middle of a chain. */
export function chainableConv(layer: Layer): boolean {
  const cls = layer.getClassName();
  return (cls === 'Conv2D' || cls === 'DepthwiseConv2D') && channelsLast(layer);
}

/** Whether the conv's own activation is linear (a batch norm and a ReLU may follow it into the chain). */
export function linearConv(layer: Layer): boolean {
  const name = activationName(layer);
  return name === undefined || name === 'linear';
}

/** A ZeroPadding2D that can become the explicit padding of `conv` (a 'valid' conv, channels last). */
export function foldablePadding(pad: Layer, conv: Layer): boolean {
  return pad.getClassName() === 'ZeroPadding2D' && channelsLast(pad) && conv.getConfig().padding === 'valid';
}

/** A ReLU layer or Activation('relu') computing exactly max(x, 0). */
export function plainReluLayer(layer: Layer): boolean {
  const cls = layer.getClassName();
  const config = layer.getConfig();
  if (cls === 'ReLU') return config.maxValue == null && !config.negativeSlope && !config.threshold;
  return cls === 'Activation' && activationName(layer) === 'relu';
}

/**
 * Whether a backend's conv kernels take explicit padding, forward and backward. tfjs-node's
 * (`tensorflow`) Conv2DBackpropInput refuses anything but 'valid' and 'same'; there the chain pads
 * with the layer itself first.
 */
export function takesExplicitPadding(backend: string): boolean {
  return backend !== 'tensorflow';
}

/** A zero padding's [[top, bottom], [left, right]] as tfjs' explicit conv padding. */
function explicitPadding(pad: Layer): tf.backend_util.ExplicitPadding {
  const [[top, bottom], [left, right]] = pad.getConfig().padding as [[number, number], [number, number]];
  return [[0, 0], [top, bottom], [left, right], [0, 0]];
}

export class ConvChain {
  private readonly fold: ConvBatchNormFold | undefined;

  constructor(readonly layers: ConvChainLayers) {
    this.fold = layers.bn ? new ConvBatchNormFold(layers.conv, layers.bn) : undefined;
  }

  /** Computes folded weights now (not at the first request). */
  prepare(): void {
    this.fold?.prepare();
  }

  /**
   * The chain's output for x (the input of its first layer); every ReLU goes through `relu`'s kind.
   * `padInConv: false` runs the zero padding as its own layer (the current backend decides by default).
   */
  apply(input: tf.Tensor4D, relu: ReluFn, padInConv = takesExplicitPadding(tf.getBackend())): tf.Tensor {
    return runChain(this.layers, this.fold, input, relu, padInConv);
  }

  /**
   * The whole chain as one fused kernel call (conv + bias, then ReLU or nothing), for the direct
   * input gradient (input-gradient-program.ts); undefined where `apply` would not run it as one:
   * a dilated conv, an activation other than ReLU or linear, or a zero padding the current
   * backend's conv kernels cannot take.
   */
  fusedCall(): FusedConvCall | undefined {
    const { conv, pad, relu } = this.layers;
    if (pad && !takesExplicitPadding(tf.getBackend())) return undefined;
    const activation = activationName(conv);
    const ownRelu = activation === 'relu';
    if (!ownRelu && activation !== undefined && activation !== 'linear') return undefined;
    const { kernel, bias, geometry } = convParams(conv, this.fold, pad);
    const dilation = geometry.dilation;
    if (!(Array.isArray(dilation) ? dilation.every((d) => d === 1) : dilation === 1)) return undefined;
    // A layer's own weights are its variables (stable across setWeights); a fold's are recomputed
    // when a source weight changes, so they are asked for at every call.
    const { fold } = this;
    return { weights: fold ? () => fold.weights() : () => ({ kernel, bias }), geometry, relu: ownRelu || relu !== undefined };
  }

  dispose(): void {
    this.fold?.dispose();
  }
}

/** A conv chain as one call of tfjs' fused conv kernel (ConvChain.fusedCall). */
export interface FusedConvCall {
  weights: () => { kernel: tf.Tensor4D; bias: tf.Tensor1D | undefined };
  geometry: ConvGeometry;
  /** Whether the kernel applies a ReLU after the bias. */
  relu: boolean;
}

/** One conv layer alone (with its own bias and activation) as a chain of one: layer-for-gradient.ts. */
export function convLayerForGradient(conv: Layer, x: tf.Tensor4D, relu: ReluFn): tf.Tensor {
  return runChain({ conv }, undefined, x, relu, true);
}

function runChain(layers: ConvChainLayers, fold: ConvBatchNormFold | undefined, input: tf.Tensor4D, relu: ReluFn, padInConv: boolean): tf.Tensor {
  const { conv, relu: reluLayer } = layers;
  let { pad } = layers;
  let x = input;
  if (pad && !padInConv) {
    x = pad.apply(x) as tf.Tensor4D;
    pad = undefined;
  }
  const { kernel, bias, geometry } = convParams(conv, fold, pad);
  const wantsRelu = reluLayer !== undefined || activationName(conv) === 'relu';
  const kind = wantsRelu ? reluKindOf(relu) : undefined;
  const fused = fusedConvForGradient(x, kernel, bias, geometry, kind ?? 'none');
  if (fused && kind !== undefined) return fused;
  const y = fused ?? plainConv(x, kernel, bias, geometry);
  return wantsRelu ? relu(y) : applyActivation(conv, y, relu);
}

/** The chain's convolution as one kernel call: its weights (batch norm folded in) and geometry. */
function convParams(conv: Layer, fold: ConvBatchNormFold | undefined, pad: Layer | undefined): { kernel: tf.Tensor4D; bias: tf.Tensor1D | undefined; geometry: ConvGeometry } {
  const config = conv.getConfig();
  const [ownKernel, ownBias] = conv.getWeights();
  const { kernel, bias } = fold
    ? fold.weights()
    : { kernel: ownKernel as tf.Tensor4D, bias: ownBias && config.useBias !== false ? (ownBias as tf.Tensor1D) : undefined };
  const geometry: ConvGeometry = {
    depthwise: conv.getClassName() === 'DepthwiseConv2D',
    strides: config.strides as [number, number],
    padding: pad ? explicitPadding(pad) : (config.padding as 'same' | 'valid'),
    dilation: config.dilationRate as number | [number, number],
  };
  return { kernel, bias, geometry };
}

function plainConv(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D | undefined, g: ConvGeometry): tf.Tensor {
  const z = g.depthwise
    ? tf.depthwiseConv2d(x, kernel, g.strides, g.padding, 'NHWC', g.dilation)
    : tf.conv2d(x, kernel, g.strides, g.padding, 'NHWC', g.dilation);
  return bias ? tf.add(z, bias) : z;
}
