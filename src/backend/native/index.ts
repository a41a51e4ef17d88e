/**
 * gradlab's native kernels (oneDNN through the addon in native/) on the wasm backend: loading,
 * registration over the kernels already in place, and the process-wide thread policy.
 *
 * Thread policy (one for the whole process): every call runs on Node's main thread, one at a time,
 * so OpenMP (native kernels) and tfjs's wasm pool (XNNPACK) never compute at once; with the addon
 * loaded every kernel that used the pool (kernels/parallel.ts HEAVY_KERNELS) runs natively, so the
 * pool stays asleep, and OpenMP waits passively (addon.ts) so its idle threads never spin on the
 * cores the pool or other processes need. Native calls use the same thread count (`--threads`)
 * above a size threshold and ONE thread below it: a 2-thread OpenMP call stalled 5–15 ms whenever
 * another process held a core, and small calls gain nothing (`DEFAULT_NATIVE_MIN_MACS`).
 */
import * as tf from '@tensorflow/tfjs';
import { loadNativeAddon } from './addon.ts';
import { nativeConvKernels } from './conv-kernels.ts';
import { nativeOtherKernels } from './other-kernels.ts';
import { RELU_BACKPROP_KERNEL } from '../relu-backprop.ts';

/**
 * Multiply-adds from which a native call uses every thread. From
 * `node --import tsx scripts/bench-native.ts --threads` (a conv's forward + input gradient, each
 * after 30 ms idle, 2 threads / 1 thread, medians; load average ~2 from other work): 0.6M 0.87,
 * 6.4M 0.94–1.00, 10M 1.09, 20M 1.04, 40M 0.95, 58M 0.70, 80M 0.69, 116M 0.57–0.69. Below about
 * 40M a second thread gains nothing and risks the 5–15 ms stalls; above it, it saves 30–40%.
 */
export const DEFAULT_NATIVE_MIN_MACS = 40_000_000;

export type NativeMode = 'auto' | 'off';

/** What `/readyz`, `GET /v1/models` and the start-up log say about native kernels. */
export interface NativeStatus {
  /** The kernels that run in oneDNN (empty when none do). */
  kernels: string[];
  /** e.g. `oneDNN 2.6.3 (OpenMP)`, when loaded. */
  library?: string;
  /** OpenMP threads above the threshold, and the threshold in multiply-adds. */
  threads?: number;
  minMacs?: number;
  /** Why no kernel runs natively (`--native off`, addon not built, library missing, ...). */
  reason?: string;
}

export interface NativeOptions {
  mode?: NativeMode;
  /** Threads for calls at or above `minMacs` (the wasm backend's thread count). */
  threads: number;
  minMacs?: number;
}

const nativeFuncs = new WeakSet<tf.KernelFunc>();
/** Kernels of gradlab's own that only the addon provides (no tfjs kernel behind them). */
const OWN_KERNELS = new Set([RELU_BACKPROP_KERNEL]);

/** True for a kernel function registered by `registerNativeKernels`. */
export function isNativeKernel(func: tf.KernelFunc): boolean {
  return nativeFuncs.has(func);
}

let status: NativeStatus | undefined;
const policy = { minMacs: DEFAULT_NATIVE_MIN_MACS };

/** Changes the thread threshold of the registered native kernels (benchmarks choose it this way). */
export function setNativeMinMacs(minMacs: number): void {
  policy.minMacs = minMacs;
  if (status?.minMacs !== undefined) status.minMacs = minMacs;
}

/**
 * Loads the addon (unless `mode` is `off`) and puts its kernels on the wasm backend in front of the
 * ones registered now, which remain the fallback. Call after gradlab's wasm kernels are registered.
 * Idempotent: a second call returns the first call's status.
 */
export function registerNativeKernels(options: NativeOptions): NativeStatus {
  if (status) return status;
  if (options.mode === 'off') return (status = { kernels: [], reason: 'turned off (--native off / GRADLAB_NATIVE=off)' });
  const load = loadNativeAddon();
  if (!load.addon) return (status = { kernels: [], reason: load.reason });
  const { addon } = load;
  const threads = Math.max(1, options.threads);
  policy.minMacs = options.minMacs ?? DEFAULT_NATIVE_MIN_MACS;
  const previous = new Map<string, tf.KernelFunc>();
  const deps = {
    addon,
    threadsFor: (macs: number) => (macs >= policy.minMacs ? threads : 1),
    fallback: (name: string) => previous.get(name) as never,
  };
  const configs = [...nativeConvKernels(deps), ...nativeOtherKernels(deps)];
  for (const config of configs) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    nativeFuncs.add(config.kernelFunc);
    if (current) {
      previous.set(config.kernelName, current.kernelFunc);
      tf.unregisterKernel(config.kernelName, 'wasm');
    } else if (!OWN_KERNELS.has(config.kernelName)) {
      throw new Error(`gradlab native: no wasm kernel '${config.kernelName}' to fall back to`);
    }
    tf.registerKernel(config);
  }
  const info = addon.info();
  status = { kernels: configs.map((c) => c.kernelName), library: `oneDNN ${info.version} (${info.runtime})`, threads, minMacs: policy.minMacs };
  return status;
}

/** The status of the last `registerNativeKernels`, if it ran. */
export function nativeStatus(): NativeStatus | undefined {
  return status;
}
