/**
 * Jobs: heavy work (attack, explain, visualize) that a client asked to run asynchronously
 * (`Prefer: respond-async`), or that an API process hands to worker processes. A job carries the
 * heavy job description (src/work/jobs.ts, plain data) and how its answer is written (the route's
 * serialiser, named by `answer.kind` with its options), so that whatever process runs it stores
 * the very JSON the synchronous route would have answered. One `JobQueue` interface has two
 * implementations: in this process (memory-queue.ts) and BullMQ on Redis (bullmq-queue.ts).
 */
import type { JobControl } from '../work/executor.ts';
import type { HeavyJob } from '../work/jobs.ts';

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const isFinished = (state: JobState) => state === 'succeeded' || state === 'failed' || state === 'cancelled';

/** Which route's serialiser writes the answer, with that route's output options (scale, encoding, batch…). */
export interface AnswerSpec {
  kind: 'attack' | 'explain' | 'visualize';
  options: Record<string, unknown>;
}

export interface JobPayload {
  job: HeavyJob;
  answer: AnswerSpec;
}

/** A job's error as the API answers it: a code, a message, the field at fault. */
export interface JobError {
  code: string;
  message: string;
  field?: string;
}

/** What `GET /v1/jobs/{id}` answers. */
export interface JobView {
  id: string;
  state: JobState;
  kind: AnswerSpec['kind'];
  model: string;
  /** Epoch milliseconds. */
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** Times the job was started (more than 1: its worker died or was stopped, and it was retried). */
  attempts: number;
  /** The last progress event its computation reported (steps, evaluations…). */
  progress?: unknown;
  result?: unknown;
  error?: JobError;
}

/** What a subscriber to a job hears: progress, and every change of state (the last one final). */
export type JobEvent = { type: 'progress'; progress: unknown } | { type: 'state'; job: JobView };

/** Runs one job's heavy work and writes its answer (the JSON the synchronous route would send). */
export type JobRunner = (payload: JobPayload, control: JobControl) => Promise<unknown>;

export interface QueueDepth {
  queued: number;
  running: number;
}

export interface JobQueue {
  /** `in-process` or `bullmq`, for logs and metrics. */
  readonly description: string;
  /** Queues a job; the view it answers is `queued`. */
  submit(payload: JobPayload): Promise<JobView>;
  /** The job, or undefined when there is none by that id (never was, or its result expired). */
  get(id: string): Promise<JobView | undefined>;
  /** Cancels a queued or running job (a finished one is left as it is); undefined when there is none. */
  cancel(id: string): Promise<JobView | undefined>;
  /** Calls `listener` with the job's events until the returned function is called. */
  subscribe(id: string, listener: (event: JobEvent) => void): () => void;
  depth(): Promise<QueueDepth>;
  close(): Promise<void>;
}

/** What the queue reports for metrics (src/jobs/metrics.ts). */
export interface JobObserver {
  started(kind: string, waitMs: number): void;
  finished(kind: string, state: JobState, durationMs: number): void;
}
