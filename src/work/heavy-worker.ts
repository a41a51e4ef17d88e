/**
 * A heavy worker thread: owns its own tfjs backend (one compute thread: the cores belong to the
 * pool, not to one job) and its own copy of every image model, and runs the jobs it is sent
 * (jobs.ts). Cancellation arrives through a shared flag (cancel.ts) that the job's Deadline reads
 * at every step; progress and results go back as messages, Float32Arrays transferred.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendChoice, type NativeMode } from '../backend/index.ts';
import { Deadline } from '../deadline.ts';
import { GradlabError } from '../errors.ts';
import type { ImageModel } from '../model/image-model.ts';
import { loadModelFromDir, loadModelFromUrl } from '../model/loader.ts';
import { flagSignal } from './cancel.ts';
import { runHeavyJob, transferables, type HeavyJob } from './jobs.ts';

export interface WorkerSetup {
  backend: BackendChoice;
  /** gradlab's native kernels, as the process was told (`--native`). */
  native: NativeMode;
  models: { name: string; source: string }[];
}

export type ToWorker = { type: 'run'; id: number; job: HeavyJob; cancel: Int32Array; limitMs: number; startedAt: number };

export type WorkerError = { code?: GradlabError['code']; message: string; field?: string; hint?: GradlabError['hint']; stack?: string };

export type FromWorker =
  | { type: 'ready'; nativeKernels: string[] }
  | { type: 'failed'; message: string }
  | { type: 'progress'; id: number; event: unknown }
  | { type: 'done'; id: number; result: unknown }
  | { type: 'error'; id: number; error: WorkerError };

const port = parentPort!;
const models = new Map<string, ImageModel>();

async function setUp({ backend, native, models: wanted }: WorkerSetup): Promise<string[]> {
  // One compute thread: a worker's native calls then never start an OpenMP team (the pool of
  // workers is the parallelism), and the addon keeps its caches per thread (native/src/common.h).
  const info = await initBackend(backend, { threads: 1, native });
  for (const { name, source } of wanted) {
    const model = /^(file|https?):\/\//.test(source) ? await loadModelFromUrl(source) : await loadModelFromDir(source);
    model.warmUp([1]);
    models.set(name, model);
  }
  return info.native?.kernels ?? [];
}

function describeError(err: unknown): WorkerError {
  if (err instanceof GradlabError) {
    return { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}), ...(err.hint ? { hint: err.hint } : {}) };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
}

port.on('message', (message: ToWorker) => {
  const { id, job, cancel, limitMs, startedAt } = message;
  const deadline = new Deadline(limitMs, flagSignal(cancel), startedAt);
  const model = models.get(job.model);
  const running = model ? runHeavyJob(model, job, deadline, (event) => port.postMessage({ type: 'progress', id, event } satisfies FromWorker)) : Promise.reject(new Error(`worker has no model '${job.model}'`));
  running.then(
    (result) => port.postMessage({ type: 'done', id, result } satisfies FromWorker, transferables(result)),
    (err: unknown) => port.postMessage({ type: 'error', id, error: describeError(err) } satisfies FromWorker),
  );
});

setUp(workerData as WorkerSetup).then(
  (nativeKernels) => port.postMessage({ type: 'ready', nativeKernels } satisfies FromWorker),
  (err: unknown) => port.postMessage({ type: 'failed', message: (err as Error).message } satisfies FromWorker),
);
