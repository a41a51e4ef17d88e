/**
 * OIP v2 server endpoints: `GET /v2` (server metadata and the extensions gradlab speaks),
 * `GET /v2/health/live` and `GET /v2/health/ready` (200 when true, 400 when not, as the protocol
 * says; readiness as `/readyz`: every model loaded and warm, heavy workers started).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../src/http/context.ts';

/** The protocol extensions this server implements. */
export const OIP_EXTENSIONS = ['binary_tensor_data', 'classification', 'model_configuration'];
export const SERVER_VERSION = '0.1.0';

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const v2HealthRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  const ready = () => ctx.registry.ready && ctx.work.state !== 'starting' && ctx.work.state !== 'failed' && !ctx.work.draining;
  app.get('/v2', () => ({ name: 'gradlab', version: SERVER_VERSION, extensions: OIP_EXTENSIONS }));
  app.get('/v2/health/live', () => ({ live: true }));
  app.get('/v2/health/ready', async (_request, reply) => reply.status(ready() ? 200 : 400).send({ ready: ready() }));
};
