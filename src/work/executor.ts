/**
 * The heavy executor: where explanations, visualisations and attacks run. One interface, so that
 * the HTTP layer does not care whether work runs in this thread (`InProcessExecutor`, for
 * debugging and tests), in worker threads that each own a backend and the models
 * (`WorkerPoolExecutor`, the default: the event loop stays free for health checks and cheap
 * requests), or later behind a job queue: submit a job description with a progress callback and
 * a cancel signal; the answer is the result or the error the core threw.
 */
import type { HeavyJob, HeavyProgress, HeavyResult } from './jobs.ts';

export interface JobControl {
  /** The request's time limit and when its clock started (Date.now()). */
  limitMs: number;
  startedAt: number;
  /** Aborted when the client leaves (no reason) or the server shuts down (reason: a GRADLAB_SHUTTING_DOWN error). */
  signal: AbortSignal;
  onProgress?: (event: HeavyProgress) => void;
}

export interface HeavyExecutor {
  /** `in-process` or `workers:N`, for logs. */
  readonly description: string;
  /** Jobs that can run at once (the heavy work class's concurrency). */
  readonly slots: number;
  /** Worker executors: the kernels their threads run in oneDNN (the main thread's are in /readyz). */
  readonly nativeKernels?: string[];
  /** Resolves once the executor can run jobs on these image models (workers have loaded them). */
  start(models: { name: string; source: string }[]): Promise<void>;
  submit(job: HeavyJob, control: JobControl): Promise<HeavyResult>;
  close(): Promise<void>;
}
