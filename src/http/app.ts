/**
 * Builds the gradlab Fastify app from a configuration, a model registry and the backend in use.
 * It never listens (`server.ts` does): tests build it and use `inject` or supertest.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import multipart from '@fastify/multipart';
import type { Config } from '../config.ts';
import type { BackendInfo } from '../backend/index.ts';
import { attackRoutes } from '../../routes/attack.ts';
import { classifyRoutes } from '../../routes/classify.ts';
import { docsRoutes } from '../../routes/docs.ts';
import { explainRoutes } from '../../routes/explain.ts';
import { visualizeRoutes } from '../../routes/visualize.ts';
import { healthRoutes } from '../../routes/health.ts';
import { labRoutes } from '../../routes/lab.ts';
import { teacherRoutes } from '../../routes/teacher.ts';
import { jobRoutes } from '../../routes/jobs.ts';
import { writeJobAnswer } from '../../routes/job-answers.ts';
import { metricsRoutes } from '../../routes/metrics.ts';
import { modelRoutes } from '../../routes/models.ts';
import { scoreRoutes } from '../../routes/score.ts';
import { v2Routes } from '../../routes/v2/index.ts';
import { kserveV1Routes } from '../../routes/kserve-v1.ts';
import { installBlackbox } from './blackbox.ts';
import type { AppContext } from './context.ts';
import { errorHandler, handleNotFound } from './error-handler.ts';
import { Metrics } from './metrics.ts';
import { busboyLimits } from './multipart-body.ts';
import type { AppModelRegistry } from './model-registry.ts';
import { clientLeft, installWorkClasses, WorkRuntime } from './work.ts';
import { JobsRuntime } from './jobs.ts';

export interface AppOptions {
  config: Config;
  registry: AppModelRegistry;
  backend: BackendInfo;
  /** Pino options or `false`; defaults to JSON logs at the configured level. */
  logger?: FastifyServerOptions['logger'];
  /** Called for every route as it is registered (the OpenAPI agreement test lists them this way). */
  onRoute?: (route: { method: string | string[]; url: string }) => void;
}

/** Route paths whose answers must not be counted per model (no `:model` param). */
const trustHops = (hops: number) => (_address: string, hop: number) => hop < hops;

/**
 * A route's metrics label: its path as declared, without parameter regexes and with Fastify's
 * escaped colon unescaped (`/v1/models/:model(^[^:/]+)::predict` → `/v1/models/:model:predict`).
 */
export function routeLabel(url: string | undefined): string {
  return url === undefined ? 'unmatched' : url.replace(/\((?:[^()\\]|\\.)*\)/g, '').replace(/::/g, ':');
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The work classes and heavy executor: the server starts the executor and drains it on SIGTERM. */
    work: WorkRuntime;
    /** The jobs runtime, when heavy routes may answer asynchronously (white-box mode). */
    jobs: JobsRuntime | undefined;
  }
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, registry, backend } = options;
  const onError = errorHandler(config.limits, config.mode === 'blackbox');
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    bodyLimit: config.limits.maxBodyBytes,
    // request.ip (per-address limits, the log) from X-Forwarded-For only for the proxies configured.
    // A hop count as proxy-addr reads one: the first `hops` addresses from the socket are proxies.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    requestTimeout: config.limits.requestTimeoutMs,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
    // Errors Fastify raises before routing (a URL that does not decode) get gradlab's answer too.
    frameworkErrors: (err, request, reply) => onError(err, request, reply),
    // While closing, requests get gradlab's own 503 GRADLAB_SHUTTING_DOWN (work.ts), not Fastify's.
    return503OnClosing: false,
    // By the time the app closes, the drain has answered or stopped every request: close idle and
    // kept-alive sockets at once instead of waiting for clients to drop them.
    forceCloseConnections: true,
  });

  if (options.onRoute) {
    const observe = options.onRoute;
    app.addHook('onRoute', (route) => observe({ method: route.method, url: route.url }));
  }

  const metrics = new Metrics();
  registry.observeBatches(metrics.observeBatch);
  const work = new WorkRuntime(config, () => registry.list(), (name) => registry.get(name), metrics);
  const ctx: AppContext = { config, registry, backend, metrics, work };
  app.decorate('work', work);

  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    // How long the server spent on the request up to sending (parsing, decoding, compute,
    // serialising), for clients, browsers' dev tools and bench-overhead.ts. Not in black-box mode,
    // whose answers show nothing of the service's inside.
    if (config.mode === 'whitebox') void reply.header('server-timing', `app;dur=${reply.elapsedTime.toFixed(2)}`);
  });
  // Each request is counted once: when its answer is sent, or when its client leaves first (status
  // 499, nginx's "client closed request": no server fault, and no answer was sent).
  const counted = new WeakSet<object>();
  const count = (request: FastifyRequest, status: string, seconds: number) => {
    if (counted.has(request)) return;
    counted.add(request);
    const route = routeLabel(request.routeOptions.url);
    const model = (request.params as { model?: string } | undefined)?.model;
    const modelLabel = model && registry.has(model) ? model : '';
    metrics.requests.inc({ method: request.method, route, model: modelLabel, status });
    metrics.latency.observe({ method: request.method, route, model: modelLabel }, seconds);
  };
  app.addHook('onResponse', async (request, reply) => count(request, clientLeft.has(request) ? '499' : String(reply.statusCode), reply.elapsedTime / 1000));
  app.addHook('onRequest', async (request, reply) => {
    const started = Date.now();
    // Fastify runs no onResponse for an answer that could not be written to a closed connection.
    reply.raw.once('close', () => {
      if (reply.raw.writableFinished) return;
      clientLeft.add(request);
      count(request, '499', (Date.now() - started) / 1000);
    });
  });

  // Only JSON and multipart carry images; anything else is a 415, not a string body.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(onError);
  app.setNotFoundHandler(handleNotFound);

  // Multipart bodies are read by src/http/multipart-body.ts, which holds them to the same body
  // limit as JSON and to the field limits; busboy's own limits sit just above ours.
  app.decorate('requestLimits', config.limits);
  await app.register(multipart, { limits: busboyLimits(config.limits), throwFileSizeLimit: true });

  installWorkClasses(app, work);

  // Keys, rate limits and budgets hook in before the routes they guard are registered.
  if (config.mode === 'blackbox') ctx.blackbox = await installBlackbox(app, config, registry);
  else app.log.info({ mode: 'whitebox' }, 'mode: whitebox (every route, full answers, no keys)');

  await app.register(healthRoutes, ctx);
  await app.register(metricsRoutes, ctx);
  await app.register(modelRoutes, ctx);
  await app.register(classifyRoutes, ctx);
  // The lab page at `/` in both modes (the student's view in black-box mode).
  await app.register(labRoutes, ctx);
  await app.register(teacherRoutes, ctx);
  await app.register(v2Routes, ctx);
  await app.register(kserveV1Routes, ctx);
  // Black-box mode hides everything that is not needed to query the model.
  if (config.mode === 'whitebox') {
    // Jobs are heavy work run later (`Prefer: respond-async`): white-box only, like the heavy routes.
    ctx.jobs = new JobsRuntime(config, work, registry, metrics, writeJobAnswer, app.log);
    await app.register(docsRoutes);
    await app.register(explainRoutes, ctx);
    await app.register(visualizeRoutes, ctx);
    await app.register(attackRoutes, ctx);
    await app.register(scoreRoutes, ctx);
    await app.register(jobRoutes, ctx);
  }

  app.decorate('jobs', ctx.jobs);
  app.addHook('onClose', async () => {
    await ctx.jobs?.close();
    await work.close();
    registry.dispose();
  });
  return app;
}
