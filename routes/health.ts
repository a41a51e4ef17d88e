/**
 * Liveness (`/healthz`: the process answers) and readiness (`/readyz`: every model loaded and warm,
 * heavy workers started; while shutting down it answers 503 GRADLAB_SHUTTING_DOWN, see
 * src/http/work.ts). In black-box mode readiness says ready or not and nothing else: the models
 * (hidden ones included), the backend and its threads are the service's inside.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../src/http/context.ts';

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const healthRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.get('/healthz', () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const { registry, backend, work } = ctx;
    // Ready once every model is loaded and the heavy workers (when started) have loaded theirs.
    const ready = registry.ready && work.state !== 'starting' && work.state !== 'failed';
    const status = ready ? 'ready' : registry.ready ? (work.state === 'failed' ? 'failed' : 'loading') : registry.state;
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
    return reply.status(ready ? 200 : 503).send(body);
  });
};
