/**
 * Each layer the direct input gradient supports (input-gradient-program.ts), as a forward and a
 * backward function of plain kernel calls: the same kernels the recorded path runs (fused conv +
 * ReLU, the one-pass ReLU mask, the conv's input gradient, dy · Wᵀ, MaxPoolGrad, ...), so the
 * values are the same. `layerOp` answers undefined for a layer it cannot run this way.
 * Shapes: NHWC activations, [N, features] for dense layers.
 */
import * as tf from '@tensorflow/tfjs';
import { reluBackprop } from '../backend/relu-backprop.ts';
import { activationName, type Layer } from './activation-for-gradient.ts';
import { batchNormAffine } from './batch-norm-fold.ts';
import { chainableConv, ConvChain, type FusedConvCall } from './conv-chain.ts';
import { fusedProduct } from './dense-for-gradient.ts';
import type { ReluKind } from './relu-for-gradient.ts';

/** One op of a program: its forward and, from the output's gradient, each input's. */
export interface LayerOp {
  forward(args: tf.Tensor[]): tf.Tensor;
  /** Gradients with respect to each input, from the output's gradient dy. */
  backward(dy: tf.Tensor, args: tf.Tensor[], y: tf.Tensor, relu: ReluKind): tf.Tensor[];
}

const runKernel = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) =>
  tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;

/** The shapes of the layer's inputs as wired ([null, ...] each; gradient-forward.ts follows single-call layers only). */
const inputShapesOf = (layer: Layer): (number | null)[][] => (layer.inboundNodes[0]?.inputShapes ?? []) as (number | null)[][];

const mask = (dy: tf.Tensor, y: tf.Tensor, relu: ReluKind) => reluBackprop(dy, y, relu === 'guided');

export function convOp(call: FusedConvCall): LayerOp {
  const { geometry, relu } = call;
  const { depthwise, strides, padding } = geometry;
  const attrs = { strides, pad: padding, dataFormat: 'NHWC', dilations: [1, 1] };
  const forwardAttrs = { ...attrs, activation: relu ? 'relu' : 'linear' };
  return {
    forward: ([x]) => {
      const { kernel, bias } = call.weights();
      return runKernel(depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D', { x: x!, filter: kernel, ...(bias ? { bias } : {}) }, forwardAttrs);
    },
    backward: (dy, [x], y, kind) => [
      runKernel(depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput', { dy: relu ? mask(dy, y, kind) : dy, filter: call.weights().kernel }, { ...attrs, inputShape: x!.shape }),
    ],
  };
}

function denseOp(layer: Layer): LayerOp | undefined {
  const activation = activationName(layer);
  if (activation !== undefined && activation !== 'linear' && activation !== 'relu') return undefined;
  if (inputShapesOf(layer)[0]?.length !== 2) return undefined;
  const [kernel, bias] = layer.getWeights() as [tf.Tensor2D, tf.Tensor1D | undefined];
  const useBias = bias && layer.getConfig().useBias !== false ? bias : undefined;
  const relu = activation === 'relu';
  return {
    forward: ([x]) => fusedProduct(x as tf.Tensor2D, kernel, useBias, relu),
    backward: (dy, _args, y, kind) => [tf.matMul((relu ? mask(dy, y, kind) : dy) as tf.Tensor2D, kernel, false, true)],
  };
}

interface PoolConfig {
  poolSize: [number, number];
  strides: [number, number] | null;
  padding: 'valid' | 'same';
  dataFormat?: string;
}

function poolOp(layer: Layer, max: boolean): LayerOp | undefined {
  const config = layer.getConfig() as unknown as PoolConfig;
  if (config.dataFormat === 'channelsFirst') return undefined;
  const filterSize = config.poolSize;
  const strides = config.strides ?? filterSize;
  const pad = config.padding;
  return {
    forward: ([x]) => (max ? tf.maxPool(x as tf.Tensor4D, filterSize, strides, pad) : tf.avgPool(x as tf.Tensor4D, filterSize, strides, pad)),
    backward: (dy, [x], y) => [
      max
        ? runKernel('MaxPoolGrad', { dy, input: x!, output: y }, { filterSize, strides, pad, dimRoundingMode: undefined })
        : runKernel('AvgPoolGrad', { dy, input: x! }, { filterSize, strides, pad }),
    ],
  };
}

const identityOp: LayerOp = { forward: ([x]) => x!, backward: (dy) => [dy] };

/** The op for a layer outside a conv chain (with `inputCount` inputs), or undefined if unsupported. */
export function layerOp(layer: Layer, inputCount: number): LayerOp | undefined {
  const cls = layer.getClassName();
  const config = layer.getConfig();
  if (inputCount !== 1) {
    // Add of same-shaped inputs (residual connections); broadcasting adds are left to the tape.
    const shapes = inputShapesOf(layer);
    if (cls !== 'Add' || !shapes.every((s) => JSON.stringify(s) === JSON.stringify(shapes[0]))) return undefined;
    return {
      // tfjs-layers' Add: the first input, then each further one added in order.
      forward: (args) => args.slice(1).reduce((sum, t) => tf.add(sum, t), args[0]!),
      backward: (dy, args) => args.map(() => dy),
    };
  }
  if (chainableConv(layer)) {
    const call = new ConvChain({ conv: layer }).fusedCall();
    return call && convOp(call);
  }
  switch (cls) {
    case 'Dense':
      return denseOp(layer);
    case 'MaxPooling2D':
      return poolOp(layer, true);
    case 'AveragePooling2D':
      return poolOp(layer, false);
    case 'Dropout':
      return identityOp;
    case 'ZeroPadding2D': {
      // One not folded into a conv (before a pooling layer, as ResNet's stem): tfjs' pad, and its gradient's slice.
      if (config.dataFormat === 'channelsFirst') return undefined;
      const [[top, bottom], [left, right]] = config.padding as [[number, number], [number, number]];
      return {
        forward: ([x]) => tf.pad(x!, [[0, 0], [top, bottom], [left, right], [0, 0]]),
        backward: (dy, [x]) => [tf.slice(dy, [0, top, left, 0], x!.shape)],
      };
    }
    case 'Flatten':
      return {
        forward: ([x]) => tf.reshape(x!, [x!.shape[0], -1]),
        backward: (dy, [x]) => [tf.reshape(dy, x!.shape)],
      };
    case 'GlobalAveragePooling2D':
      if (config.dataFormat === 'channelsFirst' || config.keepdims) return undefined;
      return {
        forward: ([x]) => tf.mean(x!, [1, 2]),
        // tfjs' Mean gradient: dy broadcast over the pooled axes, divided by their size.
        backward: (dy, [x]) => {
          const [n, h, w, c] = x!.shape as [number, number, number, number];
          return [tf.div(tf.mul(tf.reshape(dy, [n, 1, 1, c]), tf.ones(x!.shape)), h * w)];
        },
      };
    case 'BatchNormalization': {
      const rank = inputShapesOf(layer)[0]?.length;
      const affine = rank === undefined ? undefined : batchNormAffine(layer, rank);
      if (!affine) return undefined;
      return { forward: ([x]) => tf.add(tf.mul(x!, affine.factor), affine.shift), backward: (dy) => [tf.mul(dy, affine.factor)] };
    }
    case 'ReLU':
      if (config.maxValue != null || config.negativeSlope || config.threshold) return undefined;
      return reluOp;
    case 'Activation': {
      const activation = activationName(layer);
      if (activation === 'relu') return reluOp;
      return activation === 'linear' ? identityOp : undefined;
    }
    default:
      return undefined;
  }
}

const reluOp: LayerOp = { forward: ([x]) => tf.relu(x!), backward: (dy, _args, y, kind) => [mask(dy, y, kind)] };
