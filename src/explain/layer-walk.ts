/**
 * A forward function over a sequential tfjs Layers model, built once per model, that can stop at
 * or start from any layer and can swap every ReLU for the guided-backprop ReLU. Grad-CAM, guided
 * backprop and unit visualisation are built on it. Conv2D layers run as in a recorded gradient:
 * one fused conv + bias + ReLU with an input-only gradient, the ReLU plain or guided
 * (conv-for-gradient.ts); Dense layers with plain ops so that their activation can be replaced and
 * gradients never need the fused kernels' weight gradient; every other layer as in a recorded
 * gradient too (gradient-forward.ts: batch norm as one multiply-add, other layers through their
 * own `apply`). ReLUs are the plain or guided ones of relu-for-gradient.ts (one-kernel backward).
 */
import * as tf from '@tensorflow/tfjs';
import { applyLayerForGradient } from '../model/gradient-forward.ts';
import { relu6Through } from '../model/activation-for-gradient.ts';
import { plainRelu } from '../model/relu-for-gradient.ts';
import type { ImageModel } from '../model/image-model.ts';
import { guidedRelu } from './guided-relu.ts';

type Layer = tf.layers.Layer;

interface ActivationLike {
  apply(x: tf.Tensor): tf.Tensor;
  getClassName(): string;
}

export interface WalkOptions {
  /** First layer to run (index into `layers`); default 0. */
  from?: number;
  /** Layer after the last one to run (exclusive); default all. */
  to?: number;
  /** Replace every ReLU by the guided-backprop ReLU. */
  guided?: boolean;
  /** Replace every ReLU by this function (overrides `guided`). */
  relu?: (x: tf.Tensor) => tf.Tensor;
}

function activationOf(layer: Layer): ActivationLike | undefined {
  return (layer as unknown as { activation?: ActivationLike }).activation;
}

function activationName(layer: Layer): string | undefined {
  const config = layer.getConfig();
  if (typeof config.activation === 'string') return config.activation;
  return undefined;
}

/** True if the layer applies a ReLU (as its activation, or as a ReLU/Activation('relu') layer). */
export function layerHasRelu(layer: Layer): boolean {
  const cls = layer.getClassName();
  if (cls === 'ReLU') return true;
  const activation = activationName(layer);
  return activation === 'relu' || activation === 'relu6';
}

export const CONV_LAYERS = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D']);

export class LayerWalk {
  readonly layers: Layer[];
  /** Layers whose ReLU the walk can make guided (Conv2D, DepthwiseConv2D, Dense, ReLU and Activation layers). */
  private readonly guidable: boolean;

  private constructor(layers: Layer[]) {
    this.layers = layers;
    this.guidable = layers.every((l) => !layerHasRelu(l) || ['Conv2D', 'DepthwiseConv2D', 'Dense', 'ReLU', 'Activation'].includes(l.getClassName()));
  }

  /** A walk for sequential Layers models (including functional models that are a plain chain); undefined otherwise. */
  static forModel(model: ImageModel): LayerWalk | undefined {
    const net = model.net;
    if (!(net instanceof tf.LayersModel)) return undefined;
    const layers = net.layers.filter((l) => l.getClassName() !== 'InputLayer');
    if (net instanceof tf.Sequential) return new LayerWalk(layers);
    // A functional model qualifies when each layer takes exactly the previous layer's output.
    for (let i = 1; i < layers.length; i++) {
      const inbound = layers[i]!.inboundNodes;
      if (inbound.length !== 1) return undefined;
      const from = inbound[0]!.inboundLayers;
      if (from.length !== 1 || from[0] !== layers[i - 1]) return undefined;
    }
    return new LayerWalk(layers);
  }

  get hasRelu(): boolean {
    return this.layers.some(layerHasRelu);
  }

  /** Whether guided backprop can be applied: the model has ReLUs and the walk can replace each. */
  get supportsGuided(): boolean {
    return this.hasRelu && this.guidable;
  }

  indexOf(name: string): number {
    return this.layers.findIndex((l) => l.name === name);
  }

  /** Index of the last convolutional layer (Grad-CAM's default), or -1. */
  lastConvIndex(): number {
    for (let i = this.layers.length - 1; i >= 0; i--) if (CONV_LAYERS.has(this.layers[i]!.getClassName())) return i;
    return -1;
  }

  /** Runs layers [from, to) on x. The result of the full walk is the network's output. */
  run(x: tf.Tensor, options: WalkOptions = {}): tf.Tensor {
    const from = options.from ?? 0;
    const to = options.to ?? this.layers.length;
    let y = x;
    const relu = options.relu ?? (options.guided ? guidedRelu : plainRelu);
    for (let i = from; i < to; i++) y = this.applyLayer(this.layers[i]!, y, relu);
    return y;
  }

  private applyLayer(layer: Layer, x: tf.Tensor, relu: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
    const cls = layer.getClassName();
    if (cls === 'ReLU' && Object.keys(layer.getConfig()).every((k) => !['maxValue', 'threshold', 'negativeSlope'].includes(k) || !layer.getConfig()[k])) {
      return relu(x);
    }
    if (cls === 'Activation' && activationName(layer) === 'relu') return relu(x);
    // Convolutions as one fused op with an input-only gradient, their ReLU (plain or guided) inside.
    if (cls === 'Conv2D' && layer.getConfig().dataFormat !== 'channelsFirst') return applyLayerForGradient(layer, x, relu);
    if (cls === 'Conv2D' || (cls === 'Dense' && x.rank === 2)) {
      const [kernel, bias] = layer.getWeights();
      const config = layer.getConfig();
      let z: tf.Tensor;
      if (cls === 'Conv2D') {
        if (config.dataFormat === 'channelsFirst') throw new Error(`layer ${layer.name}: channelsFirst convolutions are not supported`);
        const strides = config.strides as [number, number];
        const dilation = config.dilationRate as number | [number, number];
        z = tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, strides, config.padding as 'same' | 'valid', 'NHWC', dilation);
      } else {
        z = tf.matMul(x, kernel as tf.Tensor2D);
      }
      if (bias && config.useBias !== false) z = tf.add(z, bias);
      if (activationName(layer) === 'relu') return relu(z);
      if (activationName(layer) === 'relu6') return relu6Through(relu, z);
      const act = activationOf(layer);
      return act ? act.apply(z) : z;
    }
    // Other layers as in a recorded gradient (batch norm as one multiply-add; see gradient-forward.ts).
    return applyLayerForGradient(layer, x, relu);
  }
}

const walks = new WeakMap<ImageModel, LayerWalk | null>();

/** The model's walk, built once and cached; undefined for models that cannot be walked. */
export function layerWalk(model: ImageModel): LayerWalk | undefined {
  if (!walks.has(model)) walks.set(model, LayerWalk.forModel(model) ?? null);
  return walks.get(model) ?? undefined;
}
