/**
 * The native addon's non-convolution kernels for the wasm backend, in place on the wasm heap like
 * conv-kernels.ts: MaxPoolGrad (one C++ pass, the semantics of gradlab's wasm kernel and the cpu
 * backend: kernels/max-pool-grad.ts) and the matrix products BatchMatMul and _FusedMatMul (gradlab's
 * batch-invariant row kernel, oneDNN's sgemm for a transposed A; transposes read in place, bias +
 * relu / relu6 / leakyrelu fused). Anything else (other
 * dtypes, batch shapes that broadcast partially, prelu, a non-vector bias) runs the kernel
 * registered before (`fallback`). Products are batch-invariant: a row of A gets the same result
 * whatever rows come with it (matmul.cc). Also Slice for 4-byte dtypes (tfjs's wasm Slice makes one
 * typed-array view per innermost row; here runs are memcpy'd: ResNet-18's padding gradients).
 * And FusedBatchNorm (inference batch norm, channels last, per-channel parameters): tfjs's wasm
 * kernel takes a square root per element, a third of a ResNet-18 forward pass. And gradlab's own
 * GradlabReluBackprop (relu-backprop.ts): ReLU's backward pass in one loop instead of two kernels.
 * Geometry indices mirror native/src/pool.h, matmul.h, slice.h and norm.h.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm, TensorInfo } from '../kernels/wasm-ops.ts';
import { RELU_BACKPROP_KERNEL } from '../relu-backprop.ts';
import type { NativeAddon } from './addon.ts';
import type { ThreadsFor } from './conv-kernels.ts';

const POOL_SIZE = 18;
const MM = {
  batch: 0, m: 1, k: 2, n: 3, transposeA: 4, transposeB: 5, strideA: 6, strideB: 7, activation: 8, alpha: 9,
  hasBias: 10, threads: 11, a: 12, b: 13, bias: 14, c: 15, size: 16,
} as const;
const SLICE_MAX_RANK = 6;
/**
 * Element-wise kernels share the multiply-add threshold of the thread policy (index.ts) at this
 * weight per element: every thread from 1M elements (MNIST b64's 64×26×26×32 activations).
 */
const ELEMENTWISE_WEIGHT = 40;
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3 };

type Inputs = Record<string, TensorInfo | undefined>;
type Attrs = Record<string, unknown>;
type KernelArgs = { inputs: Inputs; backend: BackendWasm; attrs?: Attrs };
type Fallback = (args: KernelArgs) => TensorInfo;

export interface OtherKernelDeps {
  addon: NativeAddon;
  threadsFor: ThreadsFor;
  fallback: (name: string) => Fallback;
}

const offset = (backend: BackendWasm, t: TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
const heapOf = (backend: BackendWasm) => (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8;
const product = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** Allocates the output, runs `fill` on it, and releases it again if `fill` throws. */
function into(backend: BackendWasm, shape: number[], fill: (out: TensorInfo) => void, dtype: tf.DataType = 'float32'): TensorInfo {
  const out = backend.makeOutput(shape, dtype);
  try {
    fill(out);
  } catch (err) {
    backend.disposeData(out.dataId);
    throw err;
  }
  return out;
}

export function nativeOtherKernels({ addon, threadsFor, fallback }: OtherKernelDeps): tf.KernelConfig[] {
  const poolGeometry = new Float64Array(POOL_SIZE);
  const mmGeometry = new Float64Array(MM.size);

  const maxPoolGrad = (args: KernelArgs): TensorInfo => {
    const { inputs: { dy, input, output }, backend } = args;
    const attrs = args.attrs ?? {};
    if (![dy, input, output].every((t) => t?.dtype === 'float32') || product(input!.shape) === 0) return fallback('MaxPoolGrad')(args);
    const info = tf.backend_util.computePool2DInfo(input!.shape as [number, number, number, number],
      attrs.filterSize as [number, number], attrs.strides as [number, number], 1, attrs.pad as 'same', attrs.dimRoundingMode as 'floor');
    if (dy!.shape.join() !== info.outShape.join() || output!.shape.join() !== info.outShape.join()) return fallback('MaxPoolGrad')(args);
    return into(backend, input!.shape, (out) => {
      poolGeometry.set([
        info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
        info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
        info.padInfo.top, info.padInfo.left,
        offset(backend, out), offset(backend, dy!), offset(backend, input!), offset(backend, output!),
      ]);
      addon.maxPoolGrad(heapOf(backend), poolGeometry);
    });
  };

  const matMul = (name: string) => (args: KernelArgs): TensorInfo => {
    const { inputs: { a, b, bias }, backend } = args;
    const attrs = args.attrs ?? {};
    const transposeA = Boolean(attrs.transposeA);
    const transposeB = Boolean(attrs.transposeB);
    const activation = ACTIVATIONS[(attrs.activation as string | undefined) ?? 'linear'];
    const aShape = a!.shape;
    const bShape = b!.shape;
    const m = transposeA ? aShape.at(-1)! : aShape.at(-2)!;
    const k = transposeA ? aShape.at(-2)! : aShape.at(-1)!;
    const n = transposeB ? bShape.at(-2)! : bShape.at(-1)!;
    const batchA = product(aShape.slice(0, -2));
    const batchB = product(bShape.slice(0, -2));
    // Batch shapes: equal, or one side a single matrix (broadcast); anything else falls back.
    const outBatch = batchA === batchB && aShape.slice(0, -2).join() === bShape.slice(0, -2).join()
      ? aShape.slice(0, -2)
      : batchB === 1 ? aShape.slice(0, -2) : batchA === 1 ? bShape.slice(0, -2) : undefined;
    const supported = outBatch && activation !== undefined && ![a, b, bias].some((t) => t && t.dtype !== 'float32') &&
      aShape.length >= 2 && bShape.length >= 2 && (!bias || (bias.shape.length === 1 && bias.shape[0] === n)) &&
      m * k * n > 0 && (transposeB ? bShape.at(-1) : bShape.at(-2)) === k;
    if (!supported) return fallback(name)(args);
    const batch = Math.max(batchA, batchB);
    return into(backend, [...outBatch, m, n], (out) => {
      const g = mmGeometry;
      g[MM.batch] = batch;
      g[MM.m] = m;
      g[MM.k] = k;
      g[MM.n] = n;
      g[MM.transposeA] = transposeA ? 1 : 0;
      g[MM.transposeB] = transposeB ? 1 : 0;
      g[MM.strideA] = batchA === 1 ? 0 : m * k;
      g[MM.strideB] = batchB === 1 ? 0 : k * n;
      g[MM.activation] = activation!;
      g[MM.alpha] = (attrs.leakyreluAlpha as number | undefined) ?? 0.2;
      g[MM.hasBias] = bias ? 1 : 0;
      // An untransposed A runs through native/src/gemm.h's kernel, whose rows' bits depend neither
      // on the other rows nor on the thread count.
      g[MM.threads] = threadsFor(batch * m * k * n);
      g[MM.a] = offset(backend, a!);
      g[MM.b] = offset(backend, b!);
      g[MM.bias] = bias ? offset(backend, bias) : 0;
      g[MM.c] = offset(backend, out);
      addon.matMul(heapOf(backend), g);
    });
  };

  const sliceGeometry = new Float64Array(4 + 3 * SLICE_MAX_RANK - 1);
  const slice = (args: KernelArgs): TensorInfo => {
    const { inputs: { x }, backend } = args;
    const attrs = args.attrs ?? {};
    const rank = x!.shape.length;
    if ((x!.dtype !== 'float32' && x!.dtype !== 'int32') || rank < 1 || rank > SLICE_MAX_RANK) return fallback('Slice')(args);
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.TensorInfo as tf.Tensor, attrs.begin as number[], attrs.size as number[]);
    if (!begin || !size) return fallback('Slice')(args); // never: tfjs returns [begin, size]
    return into(backend, size, (out) => {
      const g = sliceGeometry;
      g.fill(0);
      g[0] = rank;
      for (let i = 0; i < SLICE_MAX_RANK; i++) {
        g[1 + i] = i < rank ? x!.shape[i]! : 1;
        g[1 + SLICE_MAX_RANK + i] = i < rank ? begin[i]! : 0;
        g[1 + 2 * SLICE_MAX_RANK + i] = i < rank ? size[i]! : 1;
      }
      g[1 + 3 * SLICE_MAX_RANK] = offset(backend, x!);
      g[2 + 3 * SLICE_MAX_RANK] = offset(backend, out);
      addon.slice(heapOf(backend), g);
    }, x!.dtype);
  };

  const normGeometry = new Float64Array(9);
  const batchNorm = (args: KernelArgs): TensorInfo => {
    const { inputs: { x, mean, variance, offset: shift, scale }, backend } = args;
    const channels = x!.shape.at(-1) ?? 0;
    // Parameters must be per channel: `channels` values, every other axis 1 (tfjs broadcasts more).
    const perChannel = (t: TensorInfo | undefined) => !t || (t.dtype === 'float32' && product(t.shape) === channels && t.shape.at(-1) === channels);
    if (x!.dtype !== 'float32' || x!.shape.length < 1 || product(x!.shape) === 0 || ![mean, variance, shift, scale].every(perChannel)) {
      return fallback('FusedBatchNorm')(args);
    }
    return into(backend, x!.shape, (out) => {
      normGeometry.set([
        product(x!.shape) / channels, channels, ((args.attrs ?? {}).varianceEpsilon as number | undefined) ?? 0.001,
        offset(backend, x!), offset(backend, mean!), offset(backend, variance!),
        shift ? offset(backend, shift) : -1, scale ? offset(backend, scale) : -1, offset(backend, out),
      ]);
      addon.batchNorm(heapOf(backend), normGeometry);
    });
  };

  // ReLU's backward pass in one loop (relu-backprop.ts); a kernel of gradlab's own, no fallback.
  const reluGeometry = new Float64Array(6);
  const reluBackprop = (args: KernelArgs): TensorInfo => {
    const { inputs: { dy, y }, backend } = args;
    if (dy!.dtype !== 'float32' || y!.dtype !== 'float32' || dy!.shape.join() !== y!.shape.join()) {
      throw new Error(`${RELU_BACKPROP_KERNEL}: dy and y must be float32 tensors of one shape`);
    }
    return into(backend, dy!.shape, (out) => {
      const count = product(dy!.shape);
      reluGeometry.set([count, offset(backend, dy!), offset(backend, y!), offset(backend, out), (args.attrs ?? {}).guided ? 1 : 0,
        threadsFor(count * ELEMENTWISE_WEIGHT)]);
      addon.reluBackprop(heapOf(backend), reluGeometry);
    });
  };

  const config = (kernelName: string, func: (args: KernelArgs) => TensorInfo): tf.KernelConfig =>
    ({ kernelName, backendName: 'wasm', kernelFunc: func as unknown as tf.KernelFunc });
  return [config('MaxPoolGrad', maxPoolGrad), config('BatchMatMul', matMul('BatchMatMul')), config('_FusedMatMul', matMul('_FusedMatMul')), config('Slice', slice), config('FusedBatchNorm', batchNorm),
    config(RELU_BACKPROP_KERNEL, reluBackprop)];
}
