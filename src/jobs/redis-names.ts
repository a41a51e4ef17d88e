/**
 * Names shared by the API side (bullmq-queue.ts) and the worker side (bullmq-worker.ts) of the
 * Redis job queue, and the connection settings each side needs.
 */
import { Redis } from 'ioredis';
import { RetryableError } from '../errors.ts';

export const QUEUE_NAME = 'heavy';
/** BullMQ's key prefix: every key of the queue starts `gradlab:jobs:`. */
export const BULL_PREFIX = 'gradlab:jobs';
/** Published with a job id when a running job is cancelled; every worker listens. */
export const CANCEL_CHANNEL = 'gradlab:jobs:cancel';
/** Set (with the job's TTL) when a job is cancelled: read by a worker that starts it late, and by GET for a removed job. */
export const cancelKey = (id: string) => `gradlab:jobs:cancelled:${id}`;

/** What a stored job carries besides its encoded payload. */
export interface StoredJobData {
  model: string;
  /** JobPayload as codec.ts's JSON (Float32Arrays as base64). */
  payload: string;
}

/** For commands answered at once: no offline queue, a short timeout, so a missing Redis is a quick 503. */
export function commandConnection(url: string): Redis {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 5_000, retryStrategy: (times) => Math.min(times * 100, 1_000) });
  redis.on('error', () => {});
  return redis;
}

/** For BullMQ's blocking reads (workers, queue events): it requires commands to wait for a reconnection. */
export function blockingConnection(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(times * 100, 1_000) });
  redis.on('error', () => {});
  return redis;
}

export function redisUnavailable(cause: unknown): RetryableError {
  const err = new RetryableError('GRADLAB_STORE_UNAVAILABLE', 'the job queue (Redis) is unreachable; retry in 2 s (Retry-After)', 2);
  err.detail = (cause as Error)?.message ?? String(cause);
  return err;
}

/** Waits for a graceful close at most `ms`: closing must not hang while Redis is away (the caller then disconnects). */
export function closeWithin(closing: Promise<unknown>, ms = 3_000): Promise<void> {
  return Promise.race([closing.then(() => undefined, () => undefined), new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
}
