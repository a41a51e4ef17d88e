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

export const classifyRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.post<{ Params: Static<typeof ModelParams> }>(
    '/v1/models/:model/classify',
    { schema: { params: ModelParams } },
    async (request) => {
      const name = request.params.model;
      const model = ctx.registry.get(name);
      const req = await readImageRequest<ClassifyParams>(request, ClassifyParams, ctx.config.limits.maxBatchSize);
      const inputs = await decodeRequestImages(req.images, model, ctx.config.limits);
      const predictions = await classifyImages(ctx.registry, name, inputs, req.params.topK ?? 5);
      if (!req.batch) return { model: name, predictions: predictions[0] };
      return { model: name, results: predictions.map((p) => ({ predictions: p })) };
    },
  );
};
