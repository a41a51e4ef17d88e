/**
 * `POST /v1/models/:model/classify`: one image or a batch (JSON or multipart) → top-k labels.
 * Validates, decodes through the core, classifies through the dynamic batcher, serialises.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { classifyImages } from '../src/model/classify.ts';
import type { AppContext } from '../src/http/context.ts';
import { decodeRequestImages } from '../src/http/decode-request.ts';
import { readImageRequest } from '../src/http/request-images.ts';
import { ModelParams } from './schemas/common.ts';
import { ClassifyParams } from './schemas/classify.ts';

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const classifyRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.post<{ Params: Static<typeof ModelParams> }>(
    '/v1/models/:model/classify',
    { schema: { params: ModelParams } },
    async (request, reply) => {
      const name = request.params.model;
      const model = ctx.registry.get(name);
      const req = await readImageRequest<ClassifyParams>(request, ClassifyParams, ctx.config.limits.maxBatchSize);
      // Black-box mode: each image is one query from the key's budget, charged before any image
      // is decoded (and given back if they do not decode); the answer is shaped.
      const gate = ctx.blackbox;
      const refund = gate ? await gate.charge(request, reply, req.images.length) : undefined;
      const inputs = await decodeRequestImages(req.images, model, ctx.config.limits).catch(async (err: unknown) => {
        await refund?.();
        throw err;
      });
      const topK = gate ? gate.answeredClasses(name, model.manifest.labels.length, req.params.topK) : req.params.topK ?? 5;
      const ranked = await classifyImages(ctx.registry, name, inputs, topK);
      const predictions = gate ? gate.publish(request, name, inputs, ranked, req.params.topK) : ranked;
      if (!req.batch) return { model: name, predictions: predictions[0] };
      return { model: name, results: predictions.map((p) => ({ predictions: p })) };
    },
  );
};
