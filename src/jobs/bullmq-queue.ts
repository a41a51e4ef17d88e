/**
 * The job queue in Redis, API side: jobs are BullMQ jobs (queue `heavy`, keys `gradlab:jobs:…`)
 * that worker processes run (bullmq-worker.ts). Any replica can answer for any job: state, progress
 * and result are read from Redis, and events arrive through BullMQ's queue events (a Redis stream
 * every replica reads). Cancelling removes a waiting job, or tells the workers (pub/sub, plus a
 * key for a worker that starts the job just after) to stop a running one at its next step.
 * Finished jobs are kept `--job-ttl-s` seconds, then BullMQ deletes them.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Queue, QueueEvents, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { encodeJson } from './codec.ts';
import { cancelledError } from './errors.ts';
import { queueFull } from './memory-queue.ts';
import { BULL_PREFIX, CANCEL_CHANNEL, QUEUE_NAME, blockingConnection, cancelKey, closeWithin, commandConnection, redisUnavailable, type StoredJobData } from './redis-names.ts';
import type { AnswerSpec, JobError, JobEvent, JobPayload, JobQueue, JobState, JobView, QueueDepth } from './types.ts';

export interface BullQueueOptions {
  ttlS: number;
  attempts: number;
  maxQueued: number;
}

/** Longest a queue command may take before the request is refused 503. */
const COMMAND_TIMEOUT_MS = 3_000;

const QUEUED_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

/** A failed job's reason as the API's error: workers store a JobError as JSON; BullMQ's own reasons (a stalled job given up) as text. */
export function errorOfReason(reason: string | undefined): JobError {
  try {
    const parsed = JSON.parse(reason ?? '') as JobError;
    if (typeof parsed.code === 'string' && typeof parsed.message === 'string') return parsed;
  } catch {
    // not one of ours
  }
  return { code: 'GRADLAB_INTERNAL', message: `the job failed: ${reason ?? 'unknown reason'}` };
}

export class BullJobQueue implements JobQueue {
  readonly description = 'bullmq';
  private readonly redis: Redis;
  private readonly queue: Queue<StoredJobData>;
  private readonly queueEvents: QueueEvents;
  private readonly eventsRedis: Redis;
  private readonly listeners = new EventEmitter();

  constructor(url: string, private readonly options: BullQueueOptions) {
    this.listeners.setMaxListeners(0);
    this.redis = commandConnection(url);
    this.queue = new Queue<StoredJobData>(QUEUE_NAME, {
      connection: this.redis,
      prefix: BULL_PREFIX,
      defaultJobOptions: { attempts: options.attempts, removeOnComplete: { age: options.ttlS }, removeOnFail: { age: options.ttlS } },
    });
    this.queue.on('error', () => {});
    this.eventsRedis = blockingConnection(url);
    this.queueEvents = new QueueEvents(QUEUE_NAME, { connection: this.eventsRedis, prefix: BULL_PREFIX });
    this.queueEvents.on('error', () => {});
    this.queueEvents.on('progress', ({ jobId, data }) => this.listeners.emit(jobId, { type: 'progress', progress: data } satisfies JobEvent));
    for (const name of ['active', 'waiting', 'completed', 'failed', 'removed'] as const) {
      this.queueEvents.on(name, ({ jobId }: { jobId: string }) => void this.announce(jobId));
    }
  }

  /** Tells this replica's subscribers of a job its new state (read from Redis: events carry only part of it). */
  private async announce(id: string): Promise<void> {
    if (this.listeners.listenerCount(id) === 0) return;
    const view = await this.get(id).catch(() => undefined);
    if (view) this.listeners.emit(id, { type: 'state', job: view } satisfies JobEvent);
  }

  /** Runs a queue command; any failure, or no answer within COMMAND_TIMEOUT_MS (BullMQ waits for a lost connection), is a 503. */
  private async call<T>(command: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Redis within ${COMMAND_TIMEOUT_MS} ms`)), COMMAND_TIMEOUT_MS);
    });
    try {
      return await Promise.race([command(), timeout]);
    } catch (err) {
      throw redisUnavailable(err);
    } finally {
      clearTimeout(timer);
    }
  }

  async submit(payload: JobPayload): Promise<JobView> {
    const depth = await this.depth();
    if (depth.queued >= this.options.maxQueued) throw queueFull(this.options.maxQueued);
    const id = randomUUID();
    const data: StoredJobData = { model: payload.job.model, payload: encodeJson(payload) };
    const job = await this.call(() => this.queue.add(payload.answer.kind, data, { jobId: id }));
    return { id, state: 'queued', kind: payload.answer.kind, model: payload.job.model, createdAt: job.timestamp, attempts: 0 };
  }

  async get(id: string): Promise<JobView | undefined> {
    // State first, then the job's fields: a job only moves forward (queued → running → finished),
    // so fields read after the state are at least as new as it. Read the other way round, a job
    // that finished between the two reads would show 'failed' with no reason yet.
    const state = await this.call(() => this.queue.getJobState(id));
    const job = state === 'unknown' ? undefined : ((await this.call(() => this.queue.getJob(id))) as Job<StoredJobData> | undefined);
    if (!job) {
      // A waiting job that was cancelled is removed from the queue; its marker says what became of it.
      const marker = await this.call(() => this.redis.get(cancelKey(id)));
      return marker ? (JSON.parse(marker) as JobView) : undefined;
    }
    return this.viewOf(job, state);
  }

  private viewOf(job: Job<StoredJobData>, bullState: string): JobView {
    const state: JobState = QUEUED_STATES.has(bullState) ? 'queued' : bullState === 'active' ? 'running' : bullState === 'completed' ? 'succeeded' : 'failed';
    const error = state === 'failed' ? errorOfReason(job.failedReason) : undefined;
    const cancelled = error?.code === cancelledError().code;
    const hasProgress = job.progress !== 0 && job.progress !== undefined;
    return {
      id: job.id!,
      state: cancelled ? 'cancelled' : state,
      kind: job.name as AnswerSpec['kind'],
      model: job.data.model,
      createdAt: job.timestamp,
      ...(job.processedOn ? { startedAt: job.processedOn } : {}),
      ...(job.finishedOn && state !== 'queued' && state !== 'running' ? { finishedAt: job.finishedOn } : {}),
      attempts: job.attemptsStarted ?? job.attemptsMade,
      ...(hasProgress ? { progress: job.progress } : {}),
      ...(state === 'succeeded' ? { result: job.returnvalue as unknown } : {}),
      ...(error ? { error } : {}),
    };
  }

  async cancel(id: string): Promise<JobView | undefined> {
    const job = (await this.call(() => this.queue.getJob(id))) as Job<StoredJobData> | undefined;
    if (!job) return this.get(id);
    const state = await this.call(() => job.getState());
    if (QUEUED_STATES.has(state)) {
      const view: JobView = { ...this.viewOf(job, state), state: 'cancelled', finishedAt: Date.now(), error: cancelledError() };
      await this.call(() => this.redis.set(cancelKey(id), JSON.stringify(view), 'EX', this.options.ttlS));
      // Removal fails when a worker took the job a moment ago: then it is stopped like a running one.
      const removed = await job.remove().then(() => true, () => false);
      if (removed) {
        this.listeners.emit(id, { type: 'state', job: view } satisfies JobEvent);
        return view;
      }
    } else if (state !== 'active') {
      return this.get(id); // finished: read again, state first
    }
    await this.call(() => this.redis.set(cancelKey(id), JSON.stringify({ ...this.viewOf(job, 'active'), state: 'cancelled', error: cancelledError() }), 'EX', this.options.ttlS));
    await this.call(() => this.redis.publish(CANCEL_CHANNEL, id));
    return this.get(id);
  }

  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    this.listeners.on(id, listener);
    return () => this.listeners.off(id, listener);
  }

  async depth(): Promise<QueueDepth> {
    const counts = await this.call(() => this.queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active'));
    return { queued: (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0), running: counts.active ?? 0 };
  }

  async close(): Promise<void> {
    if (this.redis.status === 'ready') await closeWithin(Promise.all([this.queueEvents.close(), this.queue.close()]));
    else await closeWithin(Promise.all([this.queueEvents.disconnect(), this.queue.disconnect()]), 1_000);
    this.eventsRedis.disconnect();
    this.redis.disconnect();
  }
}
