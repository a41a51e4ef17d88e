/**
 * Which wasm kernels run on XNNPACK's thread pool: only convolutions and matrix products with at
 * least `minMacs` multiply-adds. Everything else (element-wise ops, small layers, gradlab's
 * JavaScript kernels) runs on one thread, because waking the pool costs more than they gain
 * (measured numbers in threaded-wasm.ts, `PoolSwitch`; the default threshold comes from
 * `scripts/bench-parallel.ts`).
 *
 * Each heavy kernel is wrapped: it counts the multiply-adds from its inputs' shapes, and above the
 * threshold runs with the pool selected, then selects one thread again. Nested calls (gradlab's
 * gradient kernels are built from stock ones) keep the outer choice.
 */
import * as tf from '@tensorflow/tfjs';
import type { PoolSwitch } from '../threaded-wasm.ts';
import type { TensorInfo } from './wasm-ops.ts';

/**
 * Default threshold: below it an operation stays on one thread. From
 * `node --import tsx scripts/bench-parallel.ts --settle 30` (each call after 30 ms idle, as a lone
 * request meets the server), median ms at one thread / 2M / 8M: MNIST batch-1 input gradient
 * 4.70 / 7.16 / 4.63 (its largest conv, 5.3M multiply-adds, then stays on one thread and the pool
 * is never woken), batch 8 20.2 / 15.9 / 16.2, batch 64 138.5 / 78.7 / 82.2, ResNet-18 batch 1
 * 433 / 261 / 265.
 */
export const DEFAULT_PARALLEL_MIN_MACS = 8_000_000;

type Inputs = Record<string, TensorInfo>;
type Attrs = Record<string, unknown>;
type MacCount = (inputs: Inputs, attrs: Attrs) => number;

const product = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

function strideProduct(attrs: Attrs): number {
  const s = attrs.strides as number | [number, number] | undefined;
  if (s === undefined) return 1;
  return typeof s === 'number' ? s * s : s[0] * s[1];
}

/** Output pixels (approximately: input pixels over the strides) × the filter's multiply-adds per pixel. */
const forwardConv: MacCount = ({ x, filter }, attrs) => {
  const [n, h, w] = x!.shape;
  return ((n! * h! * w!) / strideProduct(attrs)) * product(filter!.shape);
};

/** Filter gradients: the output gradient's pixels × the filter's size (`filterShape` attribute). */
const backpropFilter: MacCount = ({ dy }, attrs) => {
  const [n, oh, ow] = dy!.shape;
  return n! * oh! * ow! * product((attrs.filterShape as number[] | undefined) ?? [1]);
};

const backpropInput: MacCount = ({ dy, filter }) => {
  const [n, oh, ow] = dy!.shape;
  const [kh, kw, cin, ch] = filter!.shape;
  return n! * oh! * ow! * kh! * kw! * cin! * ch!;
};

/** Depthwise filters are [KH, KW, C, multiplier]: KH·KW·C·multiplier multiply-adds per pixel. */
const depthwiseBackpropInput: MacCount = ({ dy, filter }) => {
  const [n, oh, ow] = dy!.shape;
  return n! * oh! * ow! * product(filter!.shape);
};

const matMul: MacCount = ({ a, b }, attrs) => {
  const aShape = a!.shape;
  const bShape = b!.shape;
  const m = attrs.transposeA ? aShape[aShape.length - 1]! : aShape[aShape.length - 2]!;
  const k = attrs.transposeA ? aShape[aShape.length - 2]! : aShape[aShape.length - 1]!;
  const n = attrs.transposeB ? bShape[bShape.length - 2]! : bShape[bShape.length - 1]!;
  const batch = Math.max(product(aShape.slice(0, -2)), product(bShape.slice(0, -2)));
  return batch * m * k * n;
};

/** The kernels that may use the pool, with their multiply-add counts. */
export const HEAVY_KERNELS: Readonly<Record<string, MacCount>> = {
  Conv2D: forwardConv,
  FusedConv2D: forwardConv,
  DepthwiseConv2dNative: forwardConv,
  FusedDepthwiseConv2D: forwardConv,
  Conv2DBackpropInput: backpropInput,
  Conv2DBackpropFilter: backpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: backpropFilter,
  BatchMatMul: matMul,
  _FusedMatMul: matMul,
};

const wrappers = new WeakSet<tf.KernelFunc>();

/** True for a kernel function made by `parallelWhenLarge`. */
export function isPoolWrapper(func: tf.KernelFunc): boolean {
  return wrappers.has(func);
}

/** `config`'s kernel, run on the pool when it has at least `pool.minMacs` multiply-adds. */
export function parallelWhenLarge(config: tf.KernelConfig, pool: PoolSwitch): tf.KernelConfig {
  const macs = HEAVY_KERNELS[config.kernelName];
  if (!macs) return config;
  const inner = config.kernelFunc;
  const kernelFunc: tf.KernelFunc = (args) => {
    if (pool.isParallel || macs(args.inputs as Inputs, args.attrs ?? {}) < pool.minMacs) return inner(args);
    pool.parallel();
    try {
      return inner(args);
    } finally {
      pool.serial();
    }
  };
  wrappers.add(kernelFunc);
  return { ...config, kernelFunc };
}
