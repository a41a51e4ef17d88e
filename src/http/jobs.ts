/**
 * Jobs in the HTTP layer. `Prefer: respond-async` (RFC 7240) on a heavy route turns the request
 * into a job: it is validated and decoded as usual, held to the cost limit, queued, and answered
 * `202 Accepted` with `Location: /v1/jobs/{id}`; `routes/jobs.ts` serves its status, events and
 * cancellation. Without `--redis-url` the queue is in this process and jobs run on its heavy
 * executor; with it, jobs go through BullMQ in Redis to worker processes (`npm run worker`), and
 * this process runs some too unless `--run-jobs no`.
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import type { ImageModel } from '../model/image-model.ts';
import { BullJobQueue } from '../jobs/bullmq-queue.ts';
import { startJobWorker, type JobWorker } from '../jobs/bullmq-worker.ts';
import { MemoryJobQueue } from '../jobs/memory-queue.ts';
import { JobMetrics } from '../jobs/metrics.ts';
import type { AnswerSpec, JobQueue, JobRunner, JobView } from '../jobs/types.ts';
import type { HeavyJob, HeavyResult } from '../work/jobs.ts';
import type { Metrics } from './metrics.ts';
import type { AppModelRegistry } from './model-registry.ts';
import type { WorkRuntime } from './work.ts';

export type AnswerWriter = (model: ImageModel, result: HeavyResult, answer: AnswerSpec) => Promise<unknown>;

/** Whether the client asked for an asynchronous answer (`Prefer: respond-async`, among other preferences). */
export function wantsAsync(request: FastifyRequest): boolean {
  const prefer = request.headers.prefer;
  const values = Array.isArray(prefer) ? prefer.join(',') : (prefer ?? '');
  return values.split(',').some((p) => p.split(';')[0]!.trim().toLowerCase() === 'respond-async');
}

export const jobLocation = (id: string) => `/v1/jobs/${id}`;

/** A job as the API shows it: its view plus where to read it and its events. */
export function jobBody(view: JobView) {
  return { ...view, links: { self: jobLocation(view.id), events: `${jobLocation(view.id)}/events` } };
}

export class JobsRuntime {
  readonly queue: JobQueue;
  private worker: JobWorker | undefined;

  constructor(
    private readonly config: Config,
    private readonly work: WorkRuntime,
    private readonly registry: AppModelRegistry,
    metrics: Metrics,
    private readonly writeAnswer: AnswerWriter,
    private readonly log: FastifyBaseLogger,
  ) {
    const { jobs } = config;
    const observer = new JobMetrics(metrics.registry, () => this.queue);
    const onInternalError = (err: unknown, id: string) => log.error({ err, job: id }, 'job failed with an internal error');
    if (jobs.redisUrl) {
      this.queue = new BullJobQueue(jobs.redisUrl, { ttlS: jobs.ttlS, attempts: jobs.attempts, maxQueued: jobs.maxQueued });
      if (jobs.runJobs) {
        this.worker = startJobWorker(jobs.redisUrl, this.runner, { concurrency: this.work.executor.slots, timeoutMs: jobs.timeoutMs, attempts: jobs.attempts, observer, onInternalError, beforeStart: () => this.work.start() });
      }
    } else {
      this.queue = new MemoryJobQueue(this.runner, { concurrency: this.work.executor.slots, ttlS: jobs.ttlS, timeoutMs: jobs.timeoutMs, maxQueued: jobs.maxQueued, observer, onInternalError });
    }
  }

  /** Runs a job here: on this process's heavy executor, its answer written by the route's serialiser. */
  private readonly runner: JobRunner = async (payload, control) => {
    await this.work.start();
    const result = await this.work.executor.submit(payload.job, control);
    return this.writeAnswer(this.registry.get(payload.job.model), result, payload.answer);
  };

  /**
   * Answers a heavy request as a job: checks its cost, queues it, answers 202 with Location.
   * `job` decodes the inputs: bad input is a plain 400 now, not a failed job later.
   */
  async respondAsync(reply: FastifyReply, request: { cost: number | undefined; job: () => Promise<HeavyJob>; answer: AnswerSpec }): Promise<FastifyReply> {
    this.work.checkCost(request.cost);
    const view = await this.queue.submit({ job: await request.job(), answer: request.answer });
    this.log.info({ job: view.id, kind: view.kind, model: view.model }, `job ${view.id} queued (${this.queue.description})`);
    return reply.status(202).header('location', jobLocation(view.id)).header('preference-applied', 'respond-async').send(jobBody(view));
  }

  private draining: Promise<void> | undefined;

  /**
   * Drains this process's job worker (no new job; running ones get `--drain-ms`, then are handed
   * back). The server runs it beside the request drain on SIGTERM, so the two share one drain time.
   */
  drain(): Promise<void> {
    this.draining ??= this.worker?.close(this.config.work.drainMs) ?? Promise.resolve();
    return this.draining;
  }

  async close(): Promise<void> {
    await this.drain();
    await this.queue.close();
  }
}
