/**
 * Work classes' settings: the heavy executor (worker threads, or 0 for in-process), each class's
 * concurrency, queue and longest queue wait, the per-request cost limit and the shutdown drain
 * time. Declared here and joined into gradlab's configuration by src/config.ts.
 */
import type { Option, OptionReader } from '../options.ts';

export interface WorkConfig {
  /** Heavy worker threads, each with its own backend and models; 0 runs heavy work in the main thread. */
  heavyWorkers: number;
  /** Heavy requests that may wait for a worker, and for how long. */
  heavyQueue: number;
  heavyQueueWaitMs: number;
  /** Cheap requests (classify, score, model list) handled at once, waiting, and the longest wait. */
  cheapConcurrency: number;
  cheapQueue: number;
  cheapQueueWaitMs: number;
  /** Most gradient evaluations (steps × samples × images, summed) one request may cost. */
  maxCost: number;
  /** On SIGTERM, how long work in flight may run on before it is stopped. */
  drainMs: number;
}

export const WORK_OPTIONS = {
  heavyWorkers: { flag: '--heavy-workers', env: 'GRADLAB_HEAVY_WORKERS', describe: 'worker threads for explain/visualize/attack; 0 runs them in the main thread (default 1)' },
  heavyQueue: { flag: '--heavy-queue', env: 'GRADLAB_HEAVY_QUEUE', describe: 'heavy requests that may wait for a worker (default 8)' },
  heavyQueueWaitMs: { flag: '--heavy-queue-wait-ms', env: 'GRADLAB_HEAVY_QUEUE_WAIT_MS', describe: 'longest wait for a heavy slot before a 503 (default 15000)' },
  cheapConcurrency: { flag: '--cheap-concurrency', env: 'GRADLAB_CHEAP_CONCURRENCY', describe: 'classify/score/model-list requests handled at once (default 64)' },
  cheapQueue: { flag: '--cheap-queue', env: 'GRADLAB_CHEAP_QUEUE', describe: 'cheap requests that may wait (default 256)' },
  cheapQueueWaitMs: { flag: '--cheap-queue-wait-ms', env: 'GRADLAB_CHEAP_QUEUE_WAIT_MS', describe: 'longest wait for a cheap slot before a 503 (default 5000)' },
  maxCost: { flag: '--max-cost', env: 'GRADLAB_MAX_COST', describe: 'most gradient evaluations (steps × samples × images) per request (default 100 × --max-steps, 100000)' },
  drainMs: { flag: '--drain-ms', env: 'GRADLAB_DRAIN_MS', describe: 'on SIGTERM, how long work in flight may finish (default 10000)' },
} satisfies Record<string, Option>;

export type WorkOption = keyof typeof WORK_OPTIONS;

/** The cost limit's default follows the step limit: a server that allows longer runs allows costlier requests. */
export const COST_PER_STEP_LIMIT = 100;

export function workConfig({ int }: OptionReader<WorkOption>, maxSteps: number): WorkConfig {
  return {
    heavyWorkers: int('heavyWorkers', 1, 0, 64),
    heavyQueue: int('heavyQueue', 8, 0, 100_000),
    heavyQueueWaitMs: int('heavyQueueWaitMs', 15_000, 0, 3_600_000),
    cheapConcurrency: int('cheapConcurrency', 64, 1, 100_000),
    cheapQueue: int('cheapQueue', 256, 0, 1_000_000),
    cheapQueueWaitMs: int('cheapQueueWaitMs', 5_000, 0, 3_600_000),
    maxCost: int('maxCost', COST_PER_STEP_LIMIT * maxSteps, 1, 1e12),
    drainMs: int('drainMs', 10_000, 0, 3_600_000),
  };
}
