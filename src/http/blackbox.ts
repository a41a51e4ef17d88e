/**
 * Black-box mode's HTTP side: who is asking (API key from `x-api-key` or `Authorization: Bearer`),
 * whether they may (rate limit per key with @fastify/rate-limit, query budget from the store), what
 * they are told (output shaping) and what the defender keeps (the query log). The decisions live in
 * src/blackbox/; this file only wires them into Fastify's hooks.
 *
 * Only the API routes (`/v1/...`, `/v2/...` but its health probes) are guarded; a path that is not served (every white-box route
 * in this mode) reaches the plain 404 handler with no hook of ours in between, so it answers
 * exactly as an unknown path does, and a model that is not public (sequence models: this mode
 * serves only classify) answers exactly as an unknown name. Everything a request is charged for
 * is settled before its images are decoded: key (with failed keys throttled per address), rate
 * limit and budget; a request whose images then do not decode gets its queries back.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Config } from '../config.ts';
import { GradlabError, unknownModel } from '../errors.ts';
import type { Prediction } from '../model/classes.ts';
import type { AppModelRegistry } from './model-registry.ts';
import type { BudgetStore, WindowStore } from '../blackbox/budget-store.ts';
import { KeyRing, type ApiKey } from '../blackbox/keys.ts';
import { answeredClasses, shapePredictions, type OutputShape, type PublicPrediction } from '../blackbox/output-shaping.ts';
import { toBytes, type QueryLog } from '../blackbox/query-log.ts';
import { RedisStore } from '../blackbox/redis-store.ts';
import { SqliteStore } from '../blackbox/sqlite-store.ts';
import { keyGuessThrottle, rateLimitStore } from './blackbox-limits.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's key in black-box mode with keys configured (set before any handler runs). */
    apiKey: ApiKey | null;
  }
}

export const BUDGET_LIMIT_HEADER = 'x-budget-limit';
export const BUDGET_REMAINING_HEADER = 'x-budget-remaining';

/** What the classify route asks of black-box mode. */
export interface BlackboxGate {
  /**
   * Counts `images` queries against the caller's key before anything is decoded, or throws 429
   * GRADLAB_BUDGET_EXHAUSTED; sets the remaining-budget header. Returns the refund to call if the
   * images then turn out not to decode (they cost nothing).
   */
  charge(request: FastifyRequest, reply: FastifyReply, images: number): Promise<Refund>;
  /** How much answers about this model may reveal (the inference protocols pick their output form from it). */
  outputShape(model: string): OutputShape;
  /** How many classes to rank for this model and request under its output shaping. */
  answeredClasses(model: string, classes: number, requestedTopK?: number): number;
  /** Shapes the predictions for the answer and records the request in the query log. */
  publish(request: FastifyRequest, model: string, inputs: Float32Array[], predictions: Prediction[][], requestedTopK?: number): PublicPrediction[][];
}

export type Refund = () => Promise<void>;

/**
 * Every protocol's API routes are guarded alike: gradlab's `/v1`, KServe v1 (`/v1/...:predict`)
 * and the Open Inference Protocol's `/v2` (its health probes aside, which answer as /healthz).
 */
const isApiRoute = (request: FastifyRequest) => {
  const url = request.routeOptions.url;
  return url !== undefined && (url.startsWith('/v1/') || url === '/v2' || (url.startsWith('/v2/') && !url.startsWith('/v2/health/')));
};
/** The routes that spend queries: refused before their body is read once the budget is spent. */
const QUERY_ROUTES = new Set(['/v1/models/:model/classify', '/v1/models/:model(^[^:/]+)::predict', '/v2/models/:model/infer', '/v2/models/:model/versions/:version/infer']);
const isClassify = (request: FastifyRequest) => QUERY_ROUTES.has(request.routeOptions.url ?? '');

/** The secret a client sent, from `x-api-key` or `Authorization: Bearer <key>`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.trim()) return header.trim();
  const auth = request.headers.authorization;
  const bearer = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  return bearer ? bearer[1] : undefined;
}

function budgetExhausted(key: ApiKey, wanted: number, remaining: number): GradlabError {
  const message =
    remaining === 0
      ? `the query budget of ${key.budget} queries for this key is spent`
      : `this request needs ${wanted} queries (one per image) but only ${remaining} of the budget remain; send fewer images`;
  return new GradlabError('GRADLAB_BUDGET_EXHAUSTED', message);
}

/** Adds black-box hooks and plugins to the app (before its routes) and returns the gate for classify. */
export async function installBlackbox(app: FastifyInstance, config: Config, registry: AppModelRegistry): Promise<BlackboxGate> {
  const settings = config.blackbox;
  const keys = new KeyRing(settings.apiKeys);
  const shapeFor = (model: string): OutputShape => settings.modelOutput[model] ?? settings.output;
  let store: (BudgetStore & Pick<QueryLog, 'record'>) | undefined;
  logMode(app, config, keys.size);

  if (keys.size > 0) {
    const opened = await openStore(app, config);
    store = opened;
    app.addHook('onClose', async () => opened.close());
    app.decorateRequest('apiKey', null);
    const guesses = keyGuessThrottle(opened, settings.keyGuessLimit);

    app.addHook('onRequest', async (request, reply) => {
      if (!isApiRoute(request)) return;
      const secret = presentedKey(request);
      if (secret !== undefined) await guesses.check(request, reply);
      const key = secret === undefined ? undefined : keys.lookup(secret);
      if (!key) {
        if (secret !== undefined) await guesses.failed(request);
        void reply.header('www-authenticate', 'Bearer realm="gradlab"');
        throw new GradlabError(
          'GRADLAB_UNAUTHORIZED',
          secret === undefined ? 'an API key is required: send it in x-api-key or as Authorization: Bearer <key>' : 'the API key is not valid',
        );
      }
      request.apiKey = key;
      const remaining = Math.max(0, key.budget - (await opened.used(key.id)));
      void reply.header(BUDGET_LIMIT_HEADER, key.budget).header(BUDGET_REMAINING_HEADER, remaining);
      // Refuse a spent key before reading a possibly large body.
      if (remaining === 0 && isClassify(request)) throw budgetExhausted(key, 1, 0);
    });

    // Registered after the key hook: the limiter's per-route hooks run after app-level ones, so it
    // sees `request.apiKey`. Unknown keys never reach it (401 first) and so cannot fill its table.
    await app.register(rateLimit, {
      global: true,
      hook: 'onRequest',
      allowList: (request) => !isApiRoute(request) || request.apiKey === null,
      keyGenerator: (request) => request.apiKey?.id ?? request.ip,
      // Windows live in the store beside the budgets (SQLite or Redis): a restart does not reset them.
      store: rateLimitStore(opened),
      max: (request) => (request.apiKey?.rateLimit ?? settings.rateLimit).max,
      timeWindow: (request) => (request.apiKey?.rateLimit ?? settings.rateLimit).windowMs,
      errorResponseBuilder: (request, context) => {
        const rate = request.apiKey?.rateLimit ?? settings.rateLimit;
        return new GradlabError('GRADLAB_RATE_LIMITED', `rate limit of ${rate.text} exceeded for this key; retry in ${context.after} (Retry-After)`);
      },
    });
  }

  // After the key and the rate limit (both onRequest), as the route's own lookup would be.
  // eslint-disable-next-line @typescript-eslint/require-await -- a Fastify async hook: its throws must reach Fastify as rejections
  app.addHook('preHandler', async (request) => {
    const model = (request.params as { model?: string } | undefined)?.model;
    if (!isApiRoute(request) || model === undefined || !registry.isSequence(model)) return;
    if (registry.state === 'loading') throw new GradlabError('GRADLAB_NOT_READY', `models are still loading; '${model}' is not available yet`, 'model');
    throw unknownModel(model);
  });

  return {
    async charge(request, reply, images) {
      const key = request.apiKey;
      const budgets = store;
      if (!budgets || !key) return () => Promise.resolve();
      const result = await budgets.charge(key.id, images, key.budget);
      void reply.header(BUDGET_REMAINING_HEADER, result.remaining);
      if (!result.granted) throw budgetExhausted(key, images, result.remaining);
      return async () => {
        await budgets.refund(key.id, images);
        void reply.header(BUDGET_REMAINING_HEADER, result.remaining + images);
      };
    },
    outputShape: shapeFor,
    answeredClasses: (model, classes, requestedTopK) => answeredClasses(shapeFor(model), classes, requestedTopK),
    publish(request, model, inputs, predictions, requestedTopK) {
      const shape = shapeFor(model);
      const key = request.apiKey;
      if (store && key && settings.queryLog !== 'off') {
        const withImages = settings.queryLog === 'images';
        const input = registry.get(model).manifest.input;
        store.record({
          time: Date.now(),
          keyId: key.id,
          keyName: key.name,
          model,
          count: inputs.length,
          labels: predictions.map((p) => p[0]?.label ?? ''),
          ...(withImages ? { shape: input.shape, pixels: concatBytes(inputs.map((x) => toBytes(x, input.range))) } : {}),
        });
      }
      return predictions.map((p) => shapePredictions(p, shape, requestedTopK));
    },
  };
}

/**
 * Budgets, windows and the query log: in Redis when `--redis-url` is given (every replica shares
 * them; unreachable Redis fails closed with 503), else in the SQLite file under `--data-dir`.
 */
async function openStore(app: FastifyInstance, config: Config): Promise<BudgetStore & WindowStore & Pick<QueryLog, 'record'>> {
  const url = config.jobs.redisUrl;
  if (!url) return new SqliteStore(config.blackbox.dataDir);
  const redis = new RedisStore(url);
  redis.onLogError = (err) => app.log.error({ err }, 'query log write to Redis failed after the answer was sent');
  const where = url.replace(/\/\/[^@/]*@/, '//***@');
  // Starting while Redis is away is allowed: requests fail closed (503) until it is reachable.
  await redis.ready(3_000).then(
    () => app.log.info(`black-box budgets, rate limits and query log in Redis (${where})`),
    () => app.log.warn(`Redis (${where}) is not reachable yet: black-box requests are answered 503 until it is`),
  );
  return redis;
}

/** The start-up line: the mode, how many keys, how answers are shaped; an open server is a warning. */
function logMode(app: FastifyInstance, config: Config, keys: number): void {
  const settings = config.blackbox;
  const shaping = [describeShape(settings.output), ...Object.entries(settings.modelOutput).map(([m, s]) => `${m}=${describeShape(s)}`)].join(', ');
  const details = { mode: 'blackbox', keys, output: shaping, queryLog: settings.queryLog, rateLimit: settings.rateLimit.text, keyGuessLimit: settings.keyGuessLimit.text, metrics: settings.metricsKey ? 'key' : 'off' };
  if (keys === 0) {
    app.log.warn(details, `mode: blackbox WITHOUT API KEYS (--allow-no-keys yes): open to anyone, no budgets, no rate limits, no query log; answers: ${shaping}`);
  } else {
    app.log.info(details, `mode: blackbox, ${keys} API key${keys === 1 ? '' : 's'}, answers: ${shaping}, query log: ${settings.queryLog}`);
  }
}

function describeShape(shape: OutputShape): string {
  const decimals = 'decimals' in shape && shape.decimals !== undefined ? `:${shape.decimals}` : '';
  return shape.kind === 'topk' ? `topk:${shape.k}${decimals}` : `${shape.kind}${decimals}`;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
