/**
 * The in-process job queue (no `--redis-url`): jobs wait in memory, run FIFO on this process's
 * heavy executor with a fixed concurrency, report progress to subscribers, and stay readable for
 * the configured time after they finish. Cancelling a queued job removes it; cancelling a running
 * one stops its computation at its next step. A process that stops loses its queue: the
 * BullMQ queue (bullmq-queue.ts) is the one that survives processes.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { RetryableError } from '../errors.ts';
import { CANCEL_CODES, cancelError } from '../work/cancel.ts';
import { cancelledError, jobErrorOf } from './errors.ts';
import { isFinished, type JobEvent, type JobObserver, type JobPayload, type JobQueue, type JobRunner, type JobView, type QueueDepth } from './types.ts';

export interface MemoryQueueOptions {
  concurrency: number;
  ttlS: number;
  timeoutMs: number;
  maxQueued: number;
  observer?: JobObserver;
  /** Called with a job's unexpected error (anything but a GradlabError), for the log. */
  onInternalError?: (err: unknown, id: string) => void;
}

interface Entry {
  view: JobView;
  payload: JobPayload | undefined;
  controller: AbortController;
  cancelRequested: boolean;
}

export function queueFull(maxQueued: number): RetryableError {
  return new RetryableError('GRADLAB_OVERLOADED', `the job queue is full (${maxQueued} jobs waiting, --job-queue-max); retry in 5 s (Retry-After)`, 5);
}

export class MemoryJobQueue implements JobQueue {
  readonly description = 'in-process';
  private readonly jobs = new Map<string, Entry>();
  private readonly waiting: Entry[] = [];
  private readonly events = new EventEmitter();
  private running = 0;
  private closed = false;

  constructor(
    private readonly run: JobRunner,
    private readonly options: MemoryQueueOptions,
  ) {
    this.events.setMaxListeners(0);
  }

  submit(payload: JobPayload): Promise<JobView> {
    if (this.closed) return Promise.reject(cancelError(CANCEL_CODES.shutdown));
    if (this.waiting.length >= this.options.maxQueued) return Promise.reject(queueFull(this.options.maxQueued));
    const view: JobView = { id: randomUUID(), state: 'queued', kind: payload.answer.kind, model: payload.job.model, createdAt: Date.now(), attempts: 0 };
    const entry: Entry = { view, payload, controller: new AbortController(), cancelRequested: false };
    this.jobs.set(view.id, entry);
    this.waiting.push(entry);
    queueMicrotask(() => this.pump());
    return Promise.resolve({ ...view });
  }

  get(id: string): Promise<JobView | undefined> {
    const entry = this.jobs.get(id);
    return Promise.resolve(entry ? { ...entry.view } : undefined);
  }

  cancel(id: string): Promise<JobView | undefined> {
    const entry = this.jobs.get(id);
    if (!entry) return Promise.resolve(undefined);
    if (entry.view.state === 'queued') {
      this.waiting.splice(this.waiting.indexOf(entry), 1);
      this.finish(entry, { state: 'cancelled', error: cancelledError() });
    } else if (entry.view.state === 'running') {
      entry.cancelRequested = true;
      entry.controller.abort();
    }
    return Promise.resolve({ ...entry.view });
  }

  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    this.events.on(id, listener);
    return () => this.events.off(id, listener);
  }

  depth(): Promise<QueueDepth> {
    return Promise.resolve({ queued: this.waiting.length, running: this.running });
  }

  private pump(): void {
    while (!this.closed && this.running < this.options.concurrency && this.waiting.length > 0) {
      const entry = this.waiting.shift()!;
      void this.start(entry);
    }
  }

  private async start(entry: Entry): Promise<void> {
    this.running++;
    const startedAt = Date.now();
    Object.assign(entry.view, { state: 'running', startedAt, attempts: entry.view.attempts + 1 });
    this.options.observer?.started(entry.view.kind, startedAt - entry.view.createdAt);
    this.emit(entry.view.id, { type: 'state', job: { ...entry.view } });
    const payload = entry.payload!;
    try {
      const result = await this.run(payload, {
        limitMs: this.options.timeoutMs,
        startedAt,
        signal: entry.controller.signal,
        onProgress: (progress) => {
          entry.view.progress = progress;
          this.emit(entry.view.id, { type: 'progress', progress });
        },
      });
      this.finish(entry, { state: 'succeeded', result });
    } catch (err) {
      if (entry.cancelRequested) this.finish(entry, { state: 'cancelled', error: cancelledError() });
      else {
        const error = jobErrorOf(err);
        if (error.code === 'GRADLAB_INTERNAL') this.options.onInternalError?.(err, entry.view.id);
        this.finish(entry, { state: 'failed', error });
      }
    } finally {
      this.running--;
      this.pump();
    }
  }

  private finish(entry: Entry, outcome: Pick<JobView, 'state' | 'result' | 'error'>): void {
    if (isFinished(entry.view.state)) return;
    const finishedAt = Date.now();
    Object.assign(entry.view, outcome, { finishedAt });
    // The inputs can be large: nothing holds them once the job is over.
    entry.payload = undefined;
    this.options.observer?.finished(entry.view.kind, entry.view.state, finishedAt - (entry.view.startedAt ?? finishedAt));
    this.emit(entry.view.id, { type: 'state', job: { ...entry.view } });
    setTimeout(() => this.jobs.delete(entry.view.id), this.options.ttlS * 1000).unref();
  }

  private emit(id: string, event: JobEvent): void {
    this.events.emit(id, event);
  }

  /** Stops taking jobs, fails the queued ones and stops the running ones with GRADLAB_SHUTTING_DOWN. */
  async close(): Promise<void> {
    this.closed = true;
    const shutdown = cancelError(CANCEL_CODES.shutdown);
    for (const entry of this.waiting.splice(0)) this.finish(entry, { state: 'failed', error: jobErrorOf(shutdown) });
    for (const entry of this.jobs.values()) if (entry.view.state === 'running') entry.controller.abort(shutdown);
    await Promise.resolve();
  }
}
