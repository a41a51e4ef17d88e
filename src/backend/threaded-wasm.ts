/**
 * Starts TensorFlow.js' multithreaded wasm build (XNNPACK with a pthread pool) under Node, so that
 * the wasm backend's convolutions and matrix products use more than one core.
 *
 * tfjs-backend-wasm 4.22 ships the threaded binary but never uses it under Node: its feature check
 * answers "no threads" for Node, and its loader hands Emscripten `blob:` URLs, which Node's
 * worker_threads cannot start. gradlab builds the module itself through Emscripten's own hooks:
 * - `locateFile` sends the pthread workers to `wasm-pthread-worker.cjs`, a file on disk that runs
 *   tfjs' own worker source, and `mainScriptUrlOrBlob` is the threaded factory's path, which each
 *   worker evaluates;
 * - `instantiateWasm` instantiates the binary with one import answered differently: the core count
 *   the C side reads (`emscripten_num_logical_cores`) is 2 × threads, because tfjs halves it
 *   (assuming hyper-threads) and caps its pool there. Node's `os` module is left alone.
 * Emscripten's Node glue assigns `globalThis.Worker` and creates its fixed pool of 8 workers during
 * the factory call; gradlab puts the previous value back right after. No worker is created later:
 * tfjs starts threads − 1 pthreads once, and `threads` is at most 8.
 *
 * The module is handed to tfjs' own `BackendWasm` under the name `wasm`, so every stock kernel and
 * gradlab's kernels (`kernels/`) run on it unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Emscripten's pthread pool in tfjs' build holds 8 workers, and tfjs caps its pool at 8 threads. */
export const MAX_WASM_THREADS = 8;

/** One thread per CPU the process may use, at most `MAX_WASM_THREADS`. */
export function defaultThreadCount(): number {
  return Math.max(1, Math.min(MAX_WASM_THREADS, availableParallelism()));
}

const require = createRequire(import.meta.url);
const WORKER_FILE = fileURLToPath(new URL('./wasm-pthread-worker.cjs', import.meta.url));
const FACTORY_FILE = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
const BINARY_FILE = path.join(path.dirname(FACTORY_FILE), 'tfjs-backend-wasm-threaded-simd.wasm');

type Imports = Record<string, Record<string, unknown>>;
type Receive = (instance: WebAssembly.Instance, module: WebAssembly.Module) => void;

/** The parts of the Emscripten module object this file and tfjs' BackendWasm touch. */
interface EmscriptenModule {
  cwrap(name: string, returns: string | null, args: string[]): (...args: number[]) => number;
  HEAPU32: Uint32Array;
  PThread?: { terminateAllThreads(): void; runningWorkers: { unref(): void }[] };
  tfjs?: Record<string, unknown>;
}

/** Adds the `tfjs` bridge tfjs' loader adds (backend_wasm.ts `init`), which BackendWasm calls. */
function addTfjsBridge(module: EmscriptenModule): void {
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
}

/**
 * Loads and starts the threaded module with its worker pool; rejects (and stops the workers) if it
 * aborts or is not ready within `timeoutMs`.
 */
async function startModule(threads: number, timeoutMs: number): Promise<EmscriptenModule> {
  const binary = await WebAssembly.compile(await readFile(BINARY_FILE));
  const factory = require(FACTORY_FILE) as (config: object) => Promise<EmscriptenModule>;
  let fail: (err: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  const config = {
    locateFile: (file: string) => (file.endsWith('.worker.js') ? WORKER_FILE : path.join(path.dirname(FACTORY_FILE), file)),
    mainScriptUrlOrBlob: FACTORY_FILE,
    instantiateWasm(imports: Imports, receive: Receive) {
      const env = { ...imports.env, emscripten_num_logical_cores: () => 2 * threads };
      WebAssembly.instantiate(binary, { ...imports, env, wasi_snapshot_preview1: env }).then(
        (instance) => receive(instance, binary),
        (err: Error) => fail(err),
      );
      return {};
    },
    onAbort: (what: unknown) => fail(new Error(`the threaded wasm module aborted: ${String(what)}`)),
  };
  const previousWorker = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  let ready: Promise<EmscriptenModule>;
  try {
    ready = factory(config);
  } finally {
    if (previousWorker) Object.defineProperty(globalThis, 'Worker', previousWorker);
    else delete (globalThis as { Worker?: unknown }).Worker;
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the threaded wasm module was not ready after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    // Emscripten's ready promise resolves to the config object itself, now the module.
    return await Promise.race([ready, failed, timedOut]);
  } catch (err) {
    (config as Partial<EmscriptenModule>).PThread?.terminateAllThreads();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Switches XNNPACK between its thread pool and a one-thread pool, per operation.
 *
 * Why: waking the pool's threads costs more than small operations gain from them. Measured here
 * with 2 threads: a batch-1 MNIST input gradient took 21 ms against 8.5 ms on one thread, and a
 * small conv's 90th-percentile time was 6 ms against 0.1 ms (the pool thread loses its core to
 * V8's own threads, and the caller spins until it gets one back); large convolutions run about
 * 2× faster. So gradlab keeps XNNPACK on one thread and hands only large operations to the pool
 * (kernels/parallel.ts decides which).
 *
 * How: tfjs' C side keeps the pool in one global pointer, which every XNNPACK call reads, and sets
 * it in `init_with_threads_count`. gradlab calls that once more with 1 thread, compares the
 * module's low memory before and after to find the words that changed, and keeps the one word
 * whose two values make `get_threads_count` answer `threads` and 1. Writing either value then
 * selects a pool. If exactly one such word is not found (another tfjs build), there is no switch
 * and every operation uses the pool.
 */
export class PoolSwitch {
  private parallelNow = false;
  /** Multiply-adds from which an operation uses the pool (kernels/parallel.ts reads it per call). */
  minMacs = Infinity;

  constructor(
    private readonly module: EmscriptenModule,
    private readonly wordIndex: number,
    private readonly poolPointer: number,
    private readonly singlePointer: number,
    /** Threads in the pool. */
    readonly threads: number,
  ) {
    this.serial();
  }

  get isParallel(): boolean {
    return this.parallelNow;
  }

  /** XNNPACK calls from now on use the pool. */
  parallel(): void {
    this.module.HEAPU32[this.wordIndex] = this.poolPointer;
    this.parallelNow = true;
  }

  /** XNNPACK calls from now on run on the calling thread only. */
  serial(): void {
    this.module.HEAPU32[this.wordIndex] = this.singlePointer;
    this.parallelNow = false;
  }
}

/** How much of the module's memory is searched for the pool pointer (static data sits low). */
const SEARCHED_BYTES = 4 * 1024 * 1024;

function locatePoolSwitch(module: EmscriptenModule, threads: number): PoolSwitch | undefined {
  const tfjs = module.tfjs as { initWithThreadsCount(n: number): void; getThreadsCount(): number };
  if (tfjs.getThreadsCount() !== threads) return undefined;
  const words = Math.min(SEARCHED_BYTES, module.HEAPU32.byteLength) / 4;
  const before = module.HEAPU32.slice(0, words);
  tfjs.initWithThreadsCount(1);
  const after = module.HEAPU32.slice(0, words);
  const heap = module.HEAPU32;
  const hits: number[] = [];
  for (let i = 0; i < words; i++) {
    if (before[i] === after[i]) continue;
    heap[i] = before[i]!;
    const withPool = tfjs.getThreadsCount();
    heap[i] = after[i]!;
    if (withPool === threads && tfjs.getThreadsCount() === 1) hits.push(i);
  }
  if (hits.length !== 1) {
    // No unique pointer: start a pool of `threads` again (the first one's threads stay idle).
    tfjs.initWithThreadsCount(threads);
    unrefPoolThreads(module);
    return undefined;
  }
  return new PoolSwitch(module, hits[0]!, before[hits[0]!]!, after[hits[0]!]!, threads);
}

/**
 * Emscripten refs a worker while its pthread runs, as a C program waits for its threads; XNNPACK's
 * pool threads wait for work forever, so they must not keep the process alive.
 */
function unrefPoolThreads(module: EmscriptenModule): void {
  for (const worker of module.PThread?.runningWorkers ?? []) worker.unref();
}

let currentSwitch: PoolSwitch | undefined;

/** The pool switch of the threaded backend, once started (undefined on one thread or without a switch). */
export function poolSwitch(): PoolSwitch | undefined {
  return currentSwitch;
}

/**
 * Makes `wasm` the threaded backend with `threads` threads (2–8). Must run before the wasm backend
 * is first initialised; returns the thread count XNNPACK's pool actually has.
 */
export async function registerThreadedWasm(threads: number, timeoutMs = 30_000): Promise<number> {
  if (!Number.isInteger(threads) || threads < 2 || threads > MAX_WASM_THREADS) {
    throw new Error(`threads must be an integer from 2 to ${MAX_WASM_THREADS}, got ${threads}`);
  }
  if (tf.findBackend('wasm')) throw new Error('the wasm backend is already initialised');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const module = await startModule(threads, timeoutMs);
  addTfjsBridge(module);
  wasm.setThreadsCount(threads);
  const stockFactory = tf.findBackendFactory('wasm');
  tf.removeBackend('wasm');
  // BackendWasm's constructor starts XNNPACK's pool with setThreadsCount's count.
  tf.registerBackend('wasm', () => new wasm.BackendWasm(module as never), 2);
  if (!(await tf.setBackend('wasm'))) {
    tf.removeBackend('wasm');
    if (stockFactory) tf.registerBackend('wasm', stockFactory, 2);
    module.PThread?.terminateAllThreads();
    throw new Error('the threaded wasm backend did not initialise');
  }
  unrefPoolThreads(module);
  currentSwitch = locatePoolSwitch(module, threads);
  return wasm.getThreadsCount();
}
