/**
 * The work classes in the HTTP layer. Cheap requests (classify, score, the model list) take a
 * cheap slot before their handler runs; heavy ones (explain, visualize, attack) are checked against
 * the cost limit, then take a heavy slot, then run on the heavy executor (worker threads by
 * default) with the request's deadline and a cancel signal that fires when the client leaves or
 * the server shuts down. Refusals are immediate 503s (429 for a key over its share) with
 * `Retry-After`. Shutdown (drain) is here too: new requests get 503 GRADLAB_SHUTTING_DOWN, work in
 * flight may finish for `--drain-ms`, then it is stopped and answered with that error.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { GradlabError, RetryableError } from '../errors.ts';
import type { ImageModel } from '../model/image-model.ts';
import { WorkClass } from '../work/admission.ts';
import { cancelError, CANCEL_CODES } from '../work/cancel.ts';
import type { HeavyExecutor } from '../work/executor.ts';
import { InProcessExecutor } from '../work/in-process.ts';
import type { HeavyJob, HeavyProgress, HeavyResult } from '../work/jobs.ts';
import { WorkerPoolExecutor } from '../work/worker-pool.ts';
import { errorBody } from './error-response.ts';
import type { Metrics } from './metrics.ts';

/** Routes in the cheap class; every other `/v1` route is heavy and admitted by `heavyWork`. */
const CHEAP_ROUTES = new Set(['/v1/models', '/v1/models/:model', '/v1/models/:model/classify', '/v1/models/:model/score', '/v1/models/:model(^[^:/]+)::predict', '/v2/models/:model/infer', '/v2/models/:model/versions/:version/infer']);
/** Answered even while shutting down: the process is alive, and its metrics are worth scraping. */
const ALWAYS_ANSWERED = new Set(['/healthz', '/metrics', '/v2/health/live']);
/** Seconds a client refused during shutdown should wait (another replica, or this one restarted). */
const SHUTDOWN_RETRY_AFTER_S = 5;

/** Requests whose client left before the answer: logged at info and counted as status 499. */
export const clientLeft = new WeakSet<FastifyRequest>();

export class WorkRuntime {
  readonly cheap: WorkClass;
  readonly heavy: WorkClass;
  readonly executor: HeavyExecutor;
  /** Heavy requests holding a slot, to be stopped when the drain time is over. */
  private readonly inFlight = new Set<AbortController>();
  private starting: Promise<void> | undefined;
  state: 'idle' | 'starting' | 'ready' | 'failed' = 'idle';
  draining = false;

  constructor(
    private readonly config: Config,
    private readonly models: () => ImageModel[],
    modelOf: (name: string) => ImageModel,
    metrics: Metrics,
  ) {
    const { work } = config;
    this.executor = work.heavyWorkers > 0 ? new WorkerPoolExecutor(work.heavyWorkers, config.backend, config.native) : new InProcessExecutor(modelOf);
    this.heavy = new WorkClass({ name: 'heavy', concurrency: this.executor.slots, queueSize: work.heavyQueue, maxQueueWaitMs: work.heavyQueueWaitMs }, metrics.admission);
    this.cheap = new WorkClass({ name: 'cheap', concurrency: work.cheapConcurrency, queueSize: work.cheapQueue, maxQueueWaitMs: work.cheapQueueWaitMs }, metrics.admission);
  }

  /** Starts the executor on the resident image models (once; the server awaits it before it is ready). */
  start(): Promise<void> {
    this.starting ??= (async () => {
      this.state = 'starting';
      try {
        await this.executor.start(this.models().map((m) => ({ name: m.name, source: m.source })));
        this.state = 'ready';
      } catch (err) {
        this.state = 'failed';
        throw err;
      }
    })();
    return this.starting;
  }

  /**
   * Runs heavy work for a request: refuses it if it costs more than `--max-cost`, waits for a heavy
   * slot, then calls `work` with a `submit` that runs jobs on the executor under the request's
   * deadline. `clientGone` fires when the client leaves (JSON: the socket; SSE: the stream).
   */
  async heavyWork<T>(request: FastifyRequest, cost: number | undefined, clientGone: AbortSignal, work: (submit: (job: HeavyJob, onProgress?: (e: HeavyProgress) => void) => Promise<HeavyResult>) => Promise<T>): Promise<T> {
    this.checkCost(cost);
    // The request's clock starts here: time spent queued counts against its limit.
    const startedAt = Date.now();
    const controller = new AbortController();
    const onGone = () => {
      clientLeft.add(request);
      controller.abort();
    };
    if (clientGone.aborted) onGone();
    clientGone.addEventListener('abort', onGone, { once: true });
    try {
      const release = await this.heavy.acquire(undefined, controller.signal);
      this.inFlight.add(controller);
      try {
        await this.start();
        return await work((job, onProgress) =>
          this.executor.submit(job, { limitMs: this.config.limits.requestTimeoutMs, startedAt, signal: controller.signal, ...(onProgress ? { onProgress } : {}) }));
      } finally {
        this.inFlight.delete(controller);
        release();
      }
    } finally {
      clientGone.removeEventListener('abort', onGone);
    }
  }

  /** Refuses (400 GRADLAB_TOO_COSTLY) work that would cost more than `--max-cost`; jobs are held to it too. */
  checkCost(cost: number | undefined): void {
    const { maxCost } = this.config.work;
    if (cost !== undefined && cost > maxCost) {
      throw new GradlabError('GRADLAB_TOO_COSTLY', `this request would cost about ${cost} gradient evaluations (steps × samples × images), over the configured maximum of ${maxCost} (--max-cost); ask for fewer steps, samples or images`);
    }
  }

  /**
   * Graceful shutdown: refuse new and queued work, let work in flight run for `drainMs`, then stop
   * it (its requests end with GRADLAB_SHUTTING_DOWN) and wait briefly for the answers to go out.
   */
  async drain(drainMs: number): Promise<void> {
    this.draining = true;
    const shutdown = cancelError(CANCEL_CODES.shutdown);
    this.heavy.close(shutdown);
    this.cheap.close(shutdown);
    const idle = Promise.all([this.heavy.idle(), this.cheap.idle()]);
    const timeout = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
    await Promise.race([idle, timeout(drainMs)]);
    for (const controller of this.inFlight) controller.abort(shutdown);
    await Promise.race([idle, timeout(5_000)]);
  }

  async close(): Promise<void> {
    await this.executor.close();
  }
}

/** The answer to any request that arrives while the server drains. */
function refuseWhileDraining(reply: FastifyReply): void {
  void reply
    .status(503)
    .header('retry-after', SHUTDOWN_RETRY_AFTER_S)
    .header('connection', 'close')
    .send(errorBody('GRADLAB_SHUTTING_DOWN', `the server is shutting down and takes no new requests; retry after ${SHUTDOWN_RETRY_AFTER_S} s (Retry-After), on another replica or once it is back`));
}

/** Hooks: the drain refusal first, then a cheap slot for cheap routes, given back when the response closes. */
export function installWorkClasses(app: FastifyInstance, work: WorkRuntime): void {
  app.addHook('onRequest', async (request, reply) => {
    if (work.draining && !ALWAYS_ANSWERED.has(request.routeOptions.url ?? '')) return refuseWhileDraining(reply);
  });
  app.addHook('preHandler', async (request, reply) => {
    if (!CHEAP_ROUTES.has(request.routeOptions.url ?? '')) return;
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) {
        clientLeft.add(request);
        gone.abort();
      }
    };
    reply.raw.once('close', onClose);
    const release = await work.cheap.acquire(request.apiKey?.id, gone.signal);
    reply.raw.off('close', onClose);
    if (reply.raw.destroyed) release();
    else reply.raw.once('close', release);
  });
}

/** The Retry-After header of a refusal that may succeed later. */
export function retryAfterOf(err: unknown): number | undefined {
  return err instanceof RetryableError ? err.retryAfterS : err instanceof GradlabError && err.code === 'GRADLAB_SHUTTING_DOWN' ? SHUTDOWN_RETRY_AFTER_S : undefined;
}
