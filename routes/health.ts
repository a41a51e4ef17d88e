/**
 * Liveness (`/healthz`: the process answers) and readiness (`/readyz`: every model loaded and warm).
 * In black-box mode readiness says ready or not and nothing else: the models (hidden ones
 * included), the backend and its threads are the service's inside.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../src/http/context.ts';

export const healthRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const { registry, backend } = ctx;
    const status = registry.ready ? 'ready' : registry.state;
    const body = ctx.config.mode === 'blackbox'
      ? { status }
      : {
          status,
          backend: backend.name,
          threads: backend.threads,
          nativeKernels: backend.native?.kernels ?? [],
          models: registry.names(),
          ...(registry.failure ? { failure: registry.failure } : {}),
        };
    return reply.status(registry.ready ? 200 : 503).send(body);
  });
};
