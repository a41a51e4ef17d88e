/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: every model loaded and warm, heavy workers started; while shutting down it answers 503 GRADLAB_SHUTTING_DOWN, see src/http/work.ts). */
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../src/http/context.ts';

export const healthRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const { registry, backend, work } = ctx;
    // Ready once every model is loaded and the heavy workers (when started) have loaded theirs.
    const ready = registry.ready && work.state !== 'starting' && work.state !== 'failed';
    const body = {
      status: ready ? 'ready' : registry.ready ? (work.state === 'failed' ? 'failed' : 'loading') : registry.state,
      backend: backend.name,
      threads: backend.threads,
      models: registry.names(),
      ...(registry.failure ? { failure: registry.failure } : {}),
    };
    return reply.status(ready ? 200 : 503).send(body);
  });
};
