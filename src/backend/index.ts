/**
 * Chooses and initialises the one TensorFlow.js backend a gradlab process uses.
 *
 * `auto` prefers the native TensorFlow binding (`@tensorflow/tfjs-node-gpu`, then
 * `@tensorflow/tfjs-node`; imported dynamically because their install downloads libtensorflow and
 * so they are not dependencies), then `wasm` (SIMD, shipped in the npm package), then `cpu`.
 * On wasm, gradlab starts tfjs' multithreaded build with one thread per core (`threaded-wasm.ts`;
 * one thread, or a failed start, uses the stock single-threaded module) and registers its own
 * gradient kernels (see `kernels/`), then, where the optional addon is built, its oneDNN
 * convolution kernels in front of them (see `native/`; `native: 'off'` leaves them out).
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmGradientKernels } from './kernels/index.ts';
import { defaultThreadCount, poolSwitch, registerThreadedWasm } from './threaded-wasm.ts';
import { registerNativeKernels, type NativeMode, type NativeStatus } from './native/index.ts';

export type { NativeMode, NativeStatus };
export const NATIVE_CHOICES: readonly NativeMode[] = ['auto', 'off'];

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendInfo {
  /** The tfjs backend name in use: `tensorflow`, `wasm` or `cpu`. */
  name: string;
  /** Which package provided it, e.g. `@tensorflow/tfjs-node-gpu`. */
  package: string;
  /** Compute threads: XNNPACK's pool on wasm, 1 on cpu; undefined for tensorflow (TF's own pools). */
  threads?: number;
  /** Kernels gradlab registered on top of the stock backend. */
  customKernels: string[];
  /** wasm only: which kernels run natively in oneDNN (native/), or why none do. */
  native?: NativeStatus;
  /** Why earlier choices were skipped (for `auto`), for the logs. */
  skipped: string[];
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

let current: BackendInfo | undefined;

/** The backend chosen by `initBackend`, or undefined before it ran. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

/** Which kernels run in oneDNN, or why none do; empty for backends without native kernels. */
export function describeNative(native: NativeStatus | undefined): string {
  if (!native) return '';
  return native.kernels.length ? `native kernels: ${native.kernels.join(', ')} (${native.library})` : `native kernels: none (${native.reason})`;
}

/**
 * One line naming the backend, its threads, gradlab's kernels and the native ones: what training
 * scripts print and write into a manifest's provenance, so a model says what computed it.
 */
export function describeBackend(b: BackendInfo): string {
  const threads = b.threads ? `, ${b.threads} thread${b.threads > 1 ? 's' : ''}` : '';
  const parts = [`${b.package}, tfjs ${tf.version.tfjs}${threads}`];
  if (b.customKernels.length) parts.push(`gradlab kernels: ${b.customKernels.join(', ')}`);
  const native = describeNative(b.native);
  if (native) parts.push(native);
  return `${b.name} (${parts.join('; ')})`;
}

async function tryNative(skipped: string[]): Promise<BackendInfo | undefined> {
  for (const pkg of NATIVE_PACKAGES) {
    try {
      // A variable specifier keeps bundlers and TypeScript from resolving a package that is
      // deliberately not installed here; the native binding registers the `tensorflow` backend.
      const specifier: string = pkg;
      await import(specifier);
      if (await tf.setBackend('tensorflow')) {
        await tf.ready();
        return { name: 'tensorflow', package: pkg, customKernels: [], skipped };
      }
      skipped.push(`${pkg}: loaded but the 'tensorflow' backend did not initialise`);
    } catch (err) {
      skipped.push(`${pkg}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return undefined;
}

async function tryWasm(skipped: string[], options: Required<Pick<BackendOptions, 'threads'>> & BackendOptions): Promise<BackendInfo | undefined> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    let actualThreads = 1;
    if (options.threads > 1) {
      try {
        actualThreads = await registerThreadedWasm(options.threads);
      } catch (err) {
        skipped.push(`threaded wasm (${options.threads} threads): ${(err as Error).message.split('\n')[0]}; using one thread`);
      }
    }
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      const customKernels = registerWasmGradientKernels({ pool: poolSwitch(), parallelMinMacs: options.parallelMinMacs });
      const native = registerNativeKernels({ mode: options.native, threads: actualThreads, minMacs: options.nativeMinMacs });
      return { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', threads: actualThreads, customKernels, native, skipped };
    }
    skipped.push('@tensorflow/tfjs-backend-wasm: the wasm backend did not initialise');
  } catch (err) {
    skipped.push(`@tensorflow/tfjs-backend-wasm: ${(err as Error).message.split('\n')[0]}`);
  }
  return undefined;
}

async function useCpu(skipped: string[]): Promise<BackendInfo> {
  await tf.setBackend('cpu');
  await tf.ready();
  return { name: 'cpu', package: '@tensorflow/tfjs', threads: 1, customKernels: [], skipped };
}

export interface BackendOptions {
  /** Threads for the wasm backend (1–8); default one per CPU (`defaultThreadCount`). */
  threads?: number;
  /** Multiply-adds from which a convolution or matrix product uses the threads (kernels/parallel.ts). */
  parallelMinMacs?: number;
  /** `off` keeps the native (oneDNN) kernels out; `auto` (default) uses them when the addon loads. */
  native?: NativeMode;
  /** Multiply-adds from which a native kernel uses every thread (native/index.ts). */
  nativeMinMacs?: number;
}

/**
 * tfjs' cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js … install our
 * node backend" on its first tensor, once per process (every test file that compares against cpu,
 * every `--backend cpu` server). gradlab chooses backends itself and logs why (see `skipped`), so
 * the banner's advice is noise at best; it is switched off on the backend instance, nothing else.
 */
function quietCpuBanner(): void {
  const cpu = tf.engine().findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

/**
 * Selects the backend once per process. An explicit choice that cannot be honoured throws with
 * the reason; `auto` falls through the list and records why each step was skipped.
 */
export async function initBackend(choice: BackendChoice = 'auto', options: BackendOptions = {}): Promise<BackendInfo> {
  quietCpuBanner();
  const wasmOptions = { ...options, threads: options.threads ?? defaultThreadCount() };
  if (current && (choice === 'auto' || choice === current.name)) return current;
  const skipped: string[] = [];
  let info: BackendInfo | undefined;
  switch (choice) {
    case 'tensorflow':
      info = await tryNative(skipped);
      if (!info) throw new Error(`backend 'tensorflow' is unavailable: ${skipped.join('; ')}`);
      break;
    case 'wasm':
      info = await tryWasm(skipped, wasmOptions);
      if (!info) throw new Error(`backend 'wasm' is unavailable: ${skipped.join('; ')}`);
      break;
    case 'cpu':
      info = await useCpu(skipped);
      break;
    case 'auto':
      info = (await tryNative(skipped)) ?? (await tryWasm(skipped, wasmOptions)) ?? (await useCpu(skipped));
      break;
    default:
      throw new Error(`unknown backend '${choice as string}' (expected one of ${BACKEND_CHOICES.join(', ')})`);
  }
  current = info;
  return info;
}
