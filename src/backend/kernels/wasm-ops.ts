/**
 * Small typed wrappers around the stock wasm kernels, for building gradlab's gradient kernels out
 * of fast existing ones.
 *
 * Why call kernel functions directly instead of tf ops: inside a kernel, tf ops would create engine
 * tensors (tracked by tidy, counted in `tf.memory()`, recorded on an active gradient tape). Kernel
 * functions work on backend `TensorInfo`s only, so the engine sees nothing but the kernel's output.
 * The price is manual bookkeeping: every intermediate `TensorInfo` must be released with
 * `release(backend, info)`; `withIntermediates` makes that hard to forget.
 *
 * The stock kernel functions are captured the first time they are looked up, so gradlab's own
 * re-registrations (e.g. of `Conv2DBackpropInput`) never shadow a stock kernel we build on.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type { BackendWasm };
export type TensorInfo = tf.TensorInfo;
export type Pair = [number, number];
export type Shape4 = [number, number, number, number];

type AnyKernelFunc = (params: {
  inputs: Record<string, TensorInfo>;
  backend: BackendWasm;
  attrs?: Record<string, unknown>;
}) => TensorInfo;

const stockKernels = new Map<string, AnyKernelFunc>();

/**
 * Records the currently registered wasm kernel `name` as the stock one, unless already recorded.
 * Must run before gradlab replaces a stock kernel.
 */
export function captureStockKernel(name: string): AnyKernelFunc | undefined {
  const known = stockKernels.get(name);
  if (known) return known;
  const config = tf.getKernel(name, 'wasm');
  if (!config) return undefined;
  const func = config.kernelFunc as unknown as AnyKernelFunc;
  stockKernels.set(name, func);
  return func;
}

/** The recorded stock kernel `name`, without looking it up in the registry. */
export function recordedStockKernel(name: string): AnyKernelFunc | undefined {
  return stockKernels.get(name);
}

function stock(name: string): AnyKernelFunc {
  const func = captureStockKernel(name);
  if (!func) throw new Error(`gradlab wasm kernels: stock wasm kernel '${name}' is not registered`);
  return func;
}

/** Runs a stock wasm kernel on backend tensors; the caller owns (and must release) the result. */
export function runStock(
  name: string,
  backend: BackendWasm,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown> = {},
): TensorInfo {
  return stock(name)({ inputs, backend, attrs });
}

/** Releases an intermediate produced by a kernel function (refcount aware: reshapes share data). */
export function release(backend: BackendWasm, info: TensorInfo): void {
  backend.disposeData(info.dataId);
}

/**
 * Runs `body` with a `keep` function that registers intermediates for release; everything
 * registered is released when `body` returns or throws. Returns body's result (not released).
 */
export function withIntermediates<T>(
  backend: BackendWasm,
  body: (keep: (info: TensorInfo) => TensorInfo) => T,
): T {
  const owned: TensorInfo[] = [];
  try {
    return body((info) => {
      owned.push(info);
      return info;
    });
  } finally {
    for (const info of owned) release(backend, info);
  }
}

export function transpose(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return runStock('Transpose', backend, { x }, { perm });
}

export function reshape(backend: BackendWasm, x: TensorInfo, shape: number[]): TensorInfo {
  return runStock('Reshape', backend, { x }, { shape });
}

export function reverse(backend: BackendWasm, x: TensorInfo, dims: number[]): TensorInfo {
  return runStock('Reverse', backend, { x }, { dims });
}

export function slice(backend: BackendWasm, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  return runStock('Slice', backend, { x }, { begin, size });
}

/** x[begin : end : strides] along every axis (no masks). */
export function stridedSlice(
  backend: BackendWasm, x: TensorInfo, begin: number[], end: number[], strides: number[],
): TensorInfo {
  return runStock('StridedSlice', backend, { x }, {
    begin, end, strides, beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
  });
}

/** Concatenation along `axis`. */
export function concat(backend: BackendWasm, xs: TensorInfo[], axis: number): TensorInfo {
  return runStock('Concat', backend, xs as unknown as Record<string, TensorInfo>, { axis });
}

/** A float32 tensor of zeros. */
export function zeros(backend: BackendWasm, shape: number[]): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  backend.typedArrayFromHeap(out).fill(0);
  return out;
}

export function sum(backend: BackendWasm, x: TensorInfo, axis: number[]): TensorInfo {
  return runStock('Sum', backend, { x }, { axis, keepDims: false });
}

export function padZeros(backend: BackendWasm, x: TensorInfo, paddings: Pair[]): TensorInfo {
  return runStock('PadV2', backend, { x }, { paddings, constantValue: 0 });
}

/** Explicit NHWC padding attribute as the conv kernels accept it. */
export function explicitPad(top: number, bottom: number, left: number, right: number): Pair[] {
  return [[0, 0], [top, bottom], [left, right], [0, 0]];
}

/** Stock (XNNPACK) forward conv2d, NHWC, explicit padding. */
export function conv2d(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  strides: Pair,
  dilations: Pair,
  pad: Pair[],
): TensorInfo {
  return runStock('Conv2D', backend, { x, filter }, {
    strides, dilations, pad, dataFormat: 'NHWC', dimRoundingMode: undefined,
  });
}

/** Stock (XNNPACK) forward depthwise conv2d, NHWC, explicit padding. */
export function depthwiseConv2d(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  strides: Pair,
  dilations: Pair,
  pad: Pair[],
): TensorInfo {
  return runStock('DepthwiseConv2dNative', backend, { x, filter }, {
    strides, dilations, pad, dataFormat: 'NHWC', dimRoundingMode: undefined,
  });
}

/**
 * Inserts `sh - 1` zero rows and `sw - 1` zero columns after every row / column of an NHWC tensor
 * ([B, H, W, C] -> [B, H*sh, W*sw, C]); the trailing zeros are the caller's to account for. This
 * turns a strided conv's output gradient into the input of a stride-1 ("transposed") conv.
 */
export function zeroDilate(backend: BackendWasm, x: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return reshape(backend, x, x.shape);
  const [b, h, w, c] = shape4(x);
  return withIntermediates(backend, (keep) => {
    const spread = keep(reshape(backend, x, [b * h, 1, w, 1, c]));
    const padded = keep(padZeros(backend, spread, [[0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]));
    return reshape(backend, padded, [b, h * sh, w * sw, c]);
  });
}

/** The four dimensions of an NHWC tensor or a conv filter; any other rank is an error. */
export function shape4(x: TensorInfo): Shape4 {
  const s = x.shape;
  if (s.length !== 4) throw new Error(`gradlab wasm kernels: expected a rank-4 tensor, got shape [${s.join(',')}]`);
  return [s[0]!, s[1]!, s[2]!, s[3]!];
}

/** Attribute values conv kernels receive: a number or a pair. */
export function asPair(value: number | number[] | undefined, fallback = 1): Pair {
  if (value == null) return [fallback, fallback];
  if (typeof value === 'number') return [value, value];
  return [value[0]!, value[1]!];
}

/** Throws a clear error for the NCHW layout, which no wasm conv kernel supports. */
export function assertChannelsLast(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`gradlab wasm ${kernel}: dataFormat '${dataFormat}' is not supported; use 'NHWC'`);
  }
}
