/** Prometheus scrape endpoint. */
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../src/http/context.ts';

export const metricsRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.get('/metrics', async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
};
