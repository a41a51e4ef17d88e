/**
 * The job queue in Redis, worker side: a BullMQ worker that takes jobs and runs them with a
 * `JobRunner` (in `npm run worker`, and in an API process unless `--run-jobs no`). The runner does
 * its computation in worker threads, so this event loop stays free to renew the job's lock: a
 * long attack is never taken for stalled. Semantics:
 * - a worker that dies (SIGKILL, OOM) stops renewing its lock; after `LOCK_MS` another worker
 *   takes the job again, at most `attempts − 1` times; only the lock holder can complete a job,
 *   so it completes once;
 * - SIGTERM drains: no new jobs; running ones may finish for the drain time, then are stopped and
 *   handed back (they fail with a retryable error, and another worker retries them);
 * - a job the client cancelled stops at its next step and is not retried; nor is one that failed
 *   on its own (bad input found late, a time limit): retrying would fail the same way.
 */
import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { CANCEL_CODES, cancelError } from '../work/cancel.ts';
import { decodeJson } from './codec.ts';
import { cancelledError, jobErrorOf } from './errors.ts';
import { BULL_PREFIX, CANCEL_CHANNEL, QUEUE_NAME, blockingConnection, cancelKey, closeWithin, type StoredJobData } from './redis-names.ts';
import type { JobObserver, JobPayload, JobRunner } from './types.ts';

/** How long a job's lock lasts without renewal: how soon a dead worker's job is taken by another. */
export const LOCK_MS = 10_000;
/** At most ~5 progress writes a second per job: enough for a progress bar, little for Redis. */
const PROGRESS_INTERVAL_MS = 200;

export interface JobWorkerOptions {
  concurrency: number;
  timeoutMs: number;
  attempts: number;
  observer?: JobObserver;
  onInternalError?: (err: unknown, id: string) => void;
  /** Awaited before the first job runs (the executor's models loaded). */
  beforeStart?: () => Promise<void>;
}

export interface JobWorker {
  /** Jobs running here now. */
  readonly running: number;
  /** Drains: takes no new job, lets running ones finish for `drainMs`, then stops and hands them back. */
  close(drainMs: number): Promise<void>;
}

export function startJobWorker(url: string, run: JobRunner, options: JobWorkerOptions): JobWorker {
  const connection = blockingConnection(url);
  const subscriber = blockingConnection(url);
  const running = new Map<string, { controller: AbortController; cancelled: boolean }>();
  let shuttingDown = false;
  void subscriber.subscribe(CANCEL_CHANNEL).catch(() => undefined);
  subscriber.on('message', (_channel: string, id: string) => {
    const entry = running.get(id);
    if (!entry) return;
    entry.cancelled = true;
    entry.controller.abort();
  });

  const processor = async (job: Job<StoredJobData>) => {
    const id = job.id!;
    const entry = { controller: new AbortController(), cancelled: false };
    running.set(id, entry);
    try {
      await options.beforeStart?.();
      // Cancelled while waiting, just as this worker took it.
      if (await connection.exists(cancelKey(id))) {
        entry.cancelled = true;
        entry.controller.abort();
      }
      const startedAt = Date.now();
      options.observer?.started(job.name, startedAt - job.timestamp);
      let lastProgress = 0;
      try {
        const result = await run(decodeJson<JobPayload>(job.data.payload), {
          limitMs: options.timeoutMs,
          startedAt,
          signal: entry.controller.signal,
          onProgress: (progress) => {
            const now = Date.now();
            if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
            lastProgress = now;
            void job.updateProgress(progress as object).catch(() => undefined);
          },
        });
        options.observer?.finished(job.name, 'succeeded', Date.now() - startedAt);
        return result;
      } catch (err) {
        const duration = Date.now() - startedAt;
        if (entry.cancelled) {
          options.observer?.finished(job.name, 'cancelled', duration);
          throw new UnrecoverableError(JSON.stringify(cancelledError()));
        }
        if (shuttingDown) {
          // Handed back: BullMQ retries it on another worker while attempts remain.
          options.observer?.finished(job.name, 'failed', duration);
          throw new Error(JSON.stringify(jobErrorOf(cancelError(CANCEL_CODES.shutdown))), { cause: err });
        }
        const error = jobErrorOf(err);
        if (error.code === 'GRADLAB_INTERNAL') options.onInternalError?.(err, id);
        options.observer?.finished(job.name, 'failed', duration);
        throw new UnrecoverableError(JSON.stringify(error));
      }
    } finally {
      running.delete(id);
    }
  };

  const worker = new Worker<StoredJobData>(QUEUE_NAME, processor, {
    connection,
    prefix: BULL_PREFIX,
    // Recorded on each job it takes (`processedBy`): which process ran a job, for the log and tests.
    name: `${hostname()}:${process.pid}`,
    concurrency: options.concurrency,
    lockDuration: LOCK_MS,
    stalledInterval: LOCK_MS / 2,
    maxStalledCount: options.attempts - 1,
  });
  worker.on('error', () => {});

  return {
    get running() {
      return running.size;
    },
    async close(drainMs: number) {
      shuttingDown = true;
      if (connection.status !== 'ready') {
        // Redis is away: no job can be completed or handed back now; the running ones stop, and
        // their locks expire, so that another worker retries them once Redis is back.
        for (const entry of running.values()) entry.controller.abort(cancelError(CANCEL_CODES.shutdown));
        await closeWithin(worker.close(true), 1_000);
        // BullMQ's own connections would otherwise go on reconnecting and keep the process alive.
        await closeWithin(worker.disconnect(), 1_000);
        subscriber.disconnect();
        connection.disconnect();
        return;
      }
      const closed = worker.close();
      const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), drainMs).unref());
      if ((await Promise.race([closed.then(() => 'closed' as const), timer])) === 'timeout') {
        const shutdown = cancelError(CANCEL_CODES.shutdown);
        for (const entry of running.values()) entry.controller.abort(shutdown);
        // Stopped jobs end at their next step; Redis gone, BullMQ would wait for it forever.
        await closeWithin(closed, 10_000);
      }
      subscriber.disconnect();
      connection.disconnect();
    },
  };
}
