/**
 * Black-box mode's HTTP side: who is asking (API key from `x-api-key` or `Authorization: Bearer`),
 * whether they may (rate limit per key with @fastify/rate-limit, query budget from the store), what
 * they are told (output shaping) and what the defender keeps (the query log). The decisions live in
 * src/blackbox/; this file only wires them into Fastify's hooks.
 *
 * Only the API routes (`/v1/...`) are guarded: health and metrics answer without a key, and a path
 * that is not served (every white-box route in this mode) reaches the plain 404 handler with no
 * hook of ours in between, so it answers exactly as an unknown path does.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Config } from '../config.ts';
import { GradlabError } from '../errors.ts';
import type { Prediction } from '../model/classes.ts';
import type { AppModelRegistry } from './model-registry.ts';
import type { BudgetStore } from '../blackbox/budget-store.ts';
import { KeyRing, type ApiKey } from '../blackbox/keys.ts';
import { answeredClasses, shapePredictions, type OutputShape, type PublicPrediction } from '../blackbox/output-shaping.ts';
import { toBytes, type QueryLog } from '../blackbox/query-log.ts';
import { SqliteStore } from '../blackbox/sqlite-store.ts';

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
  /** Counts `images` queries against the caller's key, or throws 429 GRADLAB_BUDGET_EXHAUSTED; sets the remaining-budget header. */
  charge(request: FastifyRequest, reply: FastifyReply, images: number): Promise<void>;
  /** How many classes to rank for this model and request under its output shaping. */
  answeredClasses(model: string, classes: number, requestedTopK?: number): number;
  /** Shapes the predictions for the answer and records the request in the query log. */
  publish(request: FastifyRequest, model: string, inputs: Float32Array[], predictions: Prediction[][], requestedTopK?: number): PublicPrediction[][];
}

const isApiRoute = (request: FastifyRequest) => request.routeOptions.url?.startsWith('/v1/') === true;
const isClassify = (request: FastifyRequest) => request.routeOptions.url === '/v1/models/:model/classify';

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
  let store: (BudgetStore & QueryLog) | undefined;

  if (keys.size > 0) {
    store = new SqliteStore(settings.dataDir);
    const opened = store;
    app.addHook('onClose', async () => opened.close());
    app.decorateRequest('apiKey', null);

    app.addHook('onRequest', async (request, reply) => {
      if (!isApiRoute(request)) return;
      const secret = presentedKey(request);
      const key = secret === undefined ? undefined : keys.lookup(secret);
      if (!key) {
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
      max: (request) => (request.apiKey?.rateLimit ?? settings.rateLimit).max,
      timeWindow: (request) => (request.apiKey?.rateLimit ?? settings.rateLimit).windowMs,
      errorResponseBuilder: (request, context) => {
        const rate = request.apiKey?.rateLimit ?? settings.rateLimit;
        return new GradlabError('GRADLAB_RATE_LIMITED', `rate limit of ${rate.text} exceeded for this key; retry in ${context.after} (Retry-After)`);
      },
    });
  }

  return {
    async charge(request, reply, images) {
      const key = request.apiKey;
      if (!store || !key) return;
      const result = await store.charge(key.id, images, key.budget);
      void reply.header(BUDGET_REMAINING_HEADER, result.remaining);
      if (!result.granted) throw budgetExhausted(key, images, result.remaining);
    },
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

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
