/**
 * Gradient kernels that the stock tfjs wasm backend lacks or runs slowly, registered by gradlab
 * at start-up for the wasm backend only. Each kernel is built from fast existing wasm ops so that
 * no gradient request falls back to a slow loop or fails with "Kernel 'X' not registered".
 *
 * Missing on stock wasm (added): Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropInput,
 * DepthwiseConv2dNativeBackpropFilter, UnsortedSegmentSum.
 * Slow on stock wasm (replaced): Conv2DBackpropInput (the stock one is a plain loop; it stays
 * reachable through `stockWasmKernel` for fallbacks and benchmarks), BatchMatMul with a transposed
 * operand (every dense layer's backward pass).
 * Copying on stock wasm (replaced by buffer-sharing versions, as on the cpu backend): Identity
 * (every tensor a gradient saves is cloned through it) and same-dtype Cast.
 * Wrong on stock wasm (replaced): MaxPoolGrad (routes all-non-positive windows to element 0 and
 * ties to the last maximum; see max-pool-grad.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { clearConv2DBackpropInputCache, conv2DBackpropInputConfig } from './conv2d-backprop-input.ts';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwise-conv2d-backprop-filter.ts';
import {
  clearDepthwiseBackpropInputCache, depthwiseConv2dNativeBackpropInputConfig,
} from './depthwise-conv2d-backprop-input.ts';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.ts';
import { batchMatMulConfig, clearBatchMatMulCache } from './batch-mat-mul.ts';
import { castConfig } from './cast.ts';
import { identityConfig } from './identity.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { signConfig } from './sign.ts';
import { captureStockKernel, recordedStockKernel } from './wasm-ops.ts';
import { DEFAULT_PARALLEL_MIN_MACS, HEAVY_KERNELS, isPoolWrapper, parallelWhenLarge } from './parallel.ts';
import type { PoolSwitch } from '../threaded-wasm.ts';
import { isNativeKernel } from '../native/index.ts';

const GRADLAB_KERNELS: tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  unsortedSegmentSumConfig,
  identityConfig,
  castConfig,
  maxPoolGradConfig,
  batchMatMulConfig,
  signConfig,
];

/** Names of the kernels gradlab puts on the wasm backend. */
export const GRADLAB_WASM_KERNEL_NAMES: readonly string[] = GRADLAB_KERNELS.map((k) => k.kernelName);

export interface KernelOptions {
  /** The threaded backend's pool switch: heavy kernels then use the pool when large (parallel.ts). */
  pool?: PoolSwitch;
  /** Multiply-adds from which a kernel uses the pool. */
  parallelMinMacs?: number;
}

/**
 * Registers gradlab's wasm gradient kernels; returns the names of the kernels it registered. With
 * a pool switch, also wraps the heavy kernels (stock and gradlab's) so that only large operations
 * use the thread pool.
 *
 * Idempotent: a kernel already registered by gradlab is left alone, so a second call registers
 * nothing new and returns the same list (the gradlab kernels in place). A stock kernel of the same
 * name is recorded (for fallbacks and benchmarks) and then replaced.
 */
export function registerWasmGradientKernels(options: KernelOptions = {}): string[] {
  const { pool, parallelMinMacs = DEFAULT_PARALLEL_MIN_MACS } = options;
  if (pool) pool.minMacs = parallelMinMacs;
  // Record every stock kernel gradlab replaces or wraps before any of them changes, so that
  // gradlab's kernels build on the stock ones, never on a wrapper.
  for (const name of [...GRADLAB_WASM_KERNEL_NAMES, ...Object.keys(HEAVY_KERNELS)]) {
    const current = tf.getKernel(name, 'wasm')?.kernelFunc;
    if (current && !isPoolWrapper(current) && !isNativeKernel(current) && !GRADLAB_KERNELS.some((k) => k.kernelFunc === current)) captureStockKernel(name);
  }
  for (const config of GRADLAB_KERNELS) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    // Native kernels (registered later, over these) stay in front: they fall back to the ones below.
    if (current && (current.kernelFunc === config.kernelFunc || isPoolWrapper(current.kernelFunc) || isNativeKernel(current.kernelFunc))) continue;
    if (current) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(pool ? parallelWhenLarge(config, pool) : config);
  }
  if (pool) {
    for (const name of Object.keys(HEAVY_KERNELS)) {
      const current = tf.getKernel(name, 'wasm');
      if (!current || isPoolWrapper(current.kernelFunc) || isNativeKernel(current.kernelFunc)) continue;
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(parallelWhenLarge(current, pool));
    }
  }
  return [...GRADLAB_WASM_KERNEL_NAMES];
}

/**
 * Releases the weight-derived filters and transposed weights the gradient kernels cache (they are
 * also released automatically once their weights are disposed). For tests and after unloading
 * models.
 */
export function clearWasmGradientKernelCaches(): void {
  clearConv2DBackpropInputCache();
  clearDepthwiseBackpropInputCache();
  clearBatchMatMulCache();
}

/**
 * The stock wasm kernel function `name` as it was before gradlab replaced it; undefined where
 * stock wasm has none (the kernels gradlab adds). For benchmarks and comparisons.
 */
export function stockWasmKernel(name: string): tf.KernelFunc | undefined {
  const recorded = recordedStockKernel(name);
  if (recorded) return recorded as unknown as tf.KernelFunc;
  const current = tf.getKernel(name, 'wasm');
  if (!current || isPoolWrapper(current.kernelFunc) || isNativeKernel(current.kernelFunc) || GRADLAB_KERNELS.some((k) => k.kernelFunc === current.kernelFunc)) return undefined;
  return current.kernelFunc;
}
