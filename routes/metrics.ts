/**
 * Prometheus scrape endpoint. In black-box mode the numbers (per-model counts and timings) are the
 * operator's alone: `/metrics` answers only with `Authorization: Bearer <--metrics-key>`, and to
 * anyone else (or when no metrics key is set) exactly as a path that is not served.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AppContext } from '../src/http/context.ts';
import { handleNotFound } from '../src/http/error-handler.ts';

function bearerMatches(request: FastifyRequest, secret: string): boolean {
  const auth = request.headers.authorization;
  const given = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
  if (given === undefined) return false;
  const [a, b] = [Buffer.from(given), Buffer.from(secret)];
  return a.length === b.length && timingSafeEqual(a, b);
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const metricsRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  const { mode, blackbox } = ctx.config;
  app.get('/metrics', async (request, reply) => {
    if (mode === 'blackbox' && (blackbox.metricsKey === undefined || !bearerMatches(request, blackbox.metricsKey))) {
      handleNotFound(request, reply);
      return reply;
    }
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
};
