/**
 * Convolution kernels for the wasm backend that run in oneDNN through the native addon, in place
 * on the wasm heap: Conv2D, FusedConv2D (bias; relu, relu6, leakyrelu), Conv2DBackpropInput,
 * Conv2DBackpropFilter and the depthwise trio (DepthwiseConv2dNative + FusedDepthwiseConv2D,
 * DepthwiseConv2dNativeBackpropInput, DepthwiseConv2dNativeBackpropFilter; oneDNN groups = channels).
 *
 * Each kernel allocates its output on the wasm backend, then passes the heap view (taken after
 * the allocation: malloc may grow and replace the heap) and byte offsets to the addon; nothing is
 * copied. Anything the addon does not cover (NCHW, another dtype, an empty tensor, prelu/elu/
 * sigmoid activations, a non-vector bias) goes to the kernel registered before (`fallback`).
 * Filters are reordered once per weight tensor and cached in the addon (`WeightKeys` below tells it
 * when a tensor is gone). The geometry indices mirror native/src/conv.h.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm, TensorInfo } from '../kernels/wasm-ops.ts';
import type { NativeAddon } from './addon.ts';

/** native/src/conv.h `ConvIndex`. */
const G = {
  pass: 0, n: 1, ih: 2, iw: 3, ic: 4, oh: 5, ow: 6, oc: 7, kh: 8, kw: 9, sh: 10, sw: 11, dh: 12, dw: 13,
  padTop: 14, padLeft: 15, groups: 16, activation: 17, alpha: 18, hasBias: 19, threads: 20,
  weightKey: 21, src: 22, weights: 23, bias: 24, dst: 25, size: 26,
} as const;
const PASS = { forward: 0, backwardData: 1, backwardWeights: 2 } as const;
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3 };

/** How many OpenMP threads a call of `macs` multiply-adds gets (the process-wide policy, index.ts). */
export type ThreadsFor = (macs: number) => number;

type Inputs = Record<string, TensorInfo | undefined>;
type Attrs = Record<string, unknown>;
type KernelArgs = { inputs: Inputs; backend: BackendWasm; attrs?: Attrs };
type Fallback = (args: KernelArgs) => TensorInfo;

/**
 * The addon's reordered filters are keyed by the wasm backend's tensor id (never reused); this
 * remembers which keys were handed out and tells the addon to drop those whose tensor is gone.
 */
class WeightKeys {
  private readonly live = new Map<object, number>();
  private calls = 0;

  constructor(private readonly addon: NativeAddon) {}

  keyOf(backend: BackendWasm, dataId: object): number {
    const id = backend.dataIdMap.get(dataId).id;
    if (this.live.get(dataId) !== id) this.live.set(dataId, id);
    // A sweep every 32 calls: cheap (a handful of weights per model) and bounded in staleness.
    if (++this.calls % 32 === 0) this.sweep(backend);
    return id;
  }

  sweep(backend: BackendWasm): void {
    const gone: number[] = [];
    for (const [dataId, id] of this.live) {
      if (!backend.dataIdMap.has(dataId) || backend.dataIdMap.get(dataId).id !== id) {
        gone.push(id);
        this.live.delete(dataId);
      }
    }
    if (gone.length) this.addon.dropWeights(Float64Array.from(gone));
  }
}

function pair(value: unknown): [number, number] {
  if (value == null) return [1, 1];
  if (typeof value === 'number') return [value, value];
  const [a, b] = value as number[];
  return [a!, b!];
}

function channelsLast(attrs: Attrs): boolean {
  const f = attrs.dataFormat;
  return f == null || f === 'NHWC' || f === 'channelsLast';
}

const floats = (...xs: (TensorInfo | undefined)[]) => xs.every((x) => !x || x.dtype === 'float32');
const nonEmpty = (shape: number[]) => shape.every((d) => d > 0);

interface Call {
  pass: number;
  info: tf.backend_util.Conv2DInfo;
  groups: number;
  src: TensorInfo;
  weights: TensorInfo;
  dst: TensorInfo;
  bias?: TensorInfo;
  activation?: number;
  alpha?: number;
  /** The filter whose reordered form may be cached (forward and input-gradient passes). */
  cacheable: boolean;
}

export interface ConvKernelDeps {
  addon: NativeAddon;
  threadsFor: ThreadsFor;
  /** The kernel registered before this one, by name: what unsupported calls run. */
  fallback: (name: string) => Fallback;
}

/** The native convolution kernel configs, ready for `tf.registerKernel`. */
export function nativeConvKernels({ addon, threadsFor, fallback }: ConvKernelDeps): tf.KernelConfig[] {
  const keys = new WeightKeys(addon);
  const geometry = new Float64Array(G.size);

  function run(backend: BackendWasm, c: Call): void {
    const i = c.info;
    const g = geometry;
    const offset = (t: TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
    g[G.pass] = c.pass;
    g[G.n] = i.batchSize;
    g[G.ih] = i.inHeight;
    g[G.iw] = i.inWidth;
    g[G.ic] = i.inChannels;
    g[G.oh] = i.outHeight;
    g[G.ow] = i.outWidth;
    g[G.oc] = i.outChannels;
    g[G.kh] = i.filterHeight;
    g[G.kw] = i.filterWidth;
    g[G.sh] = i.strideHeight;
    g[G.sw] = i.strideWidth;
    g[G.dh] = i.dilationHeight;
    g[G.dw] = i.dilationWidth;
    g[G.padTop] = i.padInfo.top;
    g[G.padLeft] = i.padInfo.left;
    g[G.groups] = c.groups;
    g[G.activation] = c.activation ?? 0;
    g[G.alpha] = c.alpha ?? 0;
    g[G.hasBias] = c.bias ? 1 : 0;
    const macs = i.batchSize * i.outHeight * i.outWidth * i.filterHeight * i.filterWidth * (i.inChannels / c.groups) * i.outChannels;
    g[G.threads] = threadsFor(macs);
    g[G.weightKey] = c.cacheable ? keys.keyOf(backend, c.weights.dataId) : -1;
    g[G.src] = offset(c.src);
    g[G.weights] = offset(c.weights);
    g[G.bias] = c.bias ? offset(c.bias) : 0;
    g[G.dst] = offset(c.dst);
    // The heap view is read now, after every allocation of this call.
    addon.convolution((backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8, g);
  }

  /** Runs `c` into a fresh output of `shape`, releasing the output if the addon throws. */
  function into(backend: BackendWasm, shape: number[], c: (out: TensorInfo) => Call): TensorInfo {
    const out = backend.makeOutput(shape, 'float32');
    try {
      run(backend, c(out));
    } catch (err) {
      backend.disposeData(out.dataId);
      throw err;
    }
    return out;
  }

  function forward(name: string, depthwise: boolean, fused: boolean): tf.KernelConfig {
    const kernelFunc = (args: KernelArgs): TensorInfo => {
      const { inputs, backend } = args;
      const attrs = args.attrs ?? {};
      const { x, filter, bias } = inputs;
      const activation = fused ? ACTIVATIONS[(attrs.activation as string | undefined) ?? 'linear'] : 0;
      const outChannels = depthwise ? filter!.shape[2]! * filter!.shape[3]! : filter!.shape[3]!;
      const biasOk = !bias || (bias.shape.length === 1 && bias.shape[0] === outChannels);
      if (activation === undefined || !biasOk || !channelsLast(attrs) || !floats(x, filter, bias) || !nonEmpty(x!.shape)) {
        return fallback(name)(args);
      }
      const info = tf.backend_util.computeConv2DInfo(
        x!.shape as [number, number, number, number], filter!.shape as [number, number, number, number],
        pair(attrs.strides), pair(attrs.dilations), attrs.pad as 'same', attrs.dimRoundingMode as 'floor', depthwise);
      return into(backend, info.outShape, (out) => ({
        pass: PASS.forward, info, groups: depthwise ? info.inChannels : 1, src: x!, weights: filter!, dst: out,
        bias, activation, alpha: (attrs.leakyreluAlpha as number | undefined) ?? 0.2, cacheable: true,
      }));
    };
    return { kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
  }

  function backpropInput(name: string, depthwise: boolean): tf.KernelConfig {
    const kernelFunc = (args: KernelArgs): TensorInfo => {
      const { inputs, backend } = args;
      const attrs = args.attrs ?? {};
      const { dy, filter } = inputs;
      const inputShape = attrs.inputShape as [number, number, number, number];
      if (!channelsLast(attrs) || !floats(dy, filter) || !nonEmpty(inputShape) || !nonEmpty(dy!.shape)) return fallback(name)(args);
      const info = tf.backend_util.computeConv2DInfo(
        inputShape, filter!.shape as [number, number, number, number],
        pair(attrs.strides), pair(attrs.dilations), attrs.pad as 'same', attrs.dimRoundingMode as 'floor', depthwise);
      return into(backend, inputShape, (out) => ({
        pass: PASS.backwardData, info, groups: depthwise ? info.inChannels : 1, src: out, weights: filter!, dst: dy!, cacheable: true,
      }));
    };
    return { kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
  }

  function backpropFilter(name: string, depthwise: boolean): tf.KernelConfig {
    const kernelFunc = (args: KernelArgs): TensorInfo => {
      const { inputs, backend } = args;
      const attrs = args.attrs ?? {};
      const { x, dy } = inputs;
      const filterShape = attrs.filterShape as [number, number, number, number];
      if (!channelsLast(attrs) || !floats(x, dy) || !nonEmpty(x!.shape) || !nonEmpty(dy!.shape)) return fallback(name)(args);
      const info = tf.backend_util.computeConv2DInfo(
        x!.shape as [number, number, number, number], filterShape,
        pair(attrs.strides), pair(attrs.dilations), attrs.pad as 'same', attrs.dimRoundingMode as 'floor', depthwise);
      return into(backend, filterShape, (out) => ({
        pass: PASS.backwardWeights, info, groups: depthwise ? info.inChannels : 1, src: x!, weights: out, dst: dy!, cacheable: false,
      }));
    };
    return { kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
  }

  return [
    forward('Conv2D', false, false),
    forward('FusedConv2D', false, true),
    forward('DepthwiseConv2dNative', true, false),
    forward('FusedDepthwiseConv2D', true, true),
    backpropInput('Conv2DBackpropInput', false),
    backpropFilter('Conv2DBackpropFilter', false),
    backpropInput('DepthwiseConv2dNativeBackpropInput', true),
    backpropFilter('DepthwiseConv2dNativeBackpropFilter', true),
  ];
}
