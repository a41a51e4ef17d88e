/**
 * The Open Inference Protocol v2 (KServe v2, Triton's HTTP API) beside gradlab's own `/v1`, so
 * that tritonclient, KServe's InferenceRESTClient, perf_analyzer and KServe/Seldon deployments
 * can talk to gradlab: health, server and model metadata, model configuration and infer. Its
 * bodies are JSON or the binary tensor extension (a JSON header, then raw tensors), so within
 * this plugin every body is read as bytes and split by `src/http/oip-binary.ts`; errors answer
 * in the protocol's `{"error": "..."}`. Black-box mode guards these routes exactly as `/v1`'s
 * (src/http/blackbox.ts): keys, rate limits, budgets, output shaping, query log.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../src/http/context.ts';
import { protocolErrorHandler } from '../../src/http/oip-errors.ts';
import { v2HealthRoutes } from './health.ts';
import { v2ModelRoutes } from './models.ts';
import { v2InferRoutes } from './infer.ts';

export const v2Routes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.setErrorHandler(protocolErrorHandler(ctx.config.limits, ctx.config.mode === 'blackbox'));
  // tritonclient sends binary bodies with no or any content type: read every body as bytes here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  await app.register(v2HealthRoutes, ctx);
  await app.register(v2ModelRoutes, ctx);
  await app.register(v2InferRoutes, ctx);
};
