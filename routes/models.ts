/** `GET /v1/models` and `GET /v1/models/:model`: what is loaded (public fields only in black-box mode). */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { describeModel, describePublic } from '../src/model/describe.ts';
import { describeSequence } from '../src/sequence/describe.ts';
import { unknownModel } from '../src/errors.ts';
import type { AppContext } from '../src/http/context.ts';
import { ModelParams } from './schemas/common.ts';

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const modelRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  const describe = (name: string) => {
    if (ctx.registry.isSequence(name)) {
      // Black-box mode serves only classify, which sequence models do not answer: they stay hidden.
      if (ctx.config.mode === 'blackbox') throw unknownModel(name);
      return describeSequence(ctx.registry.getSequence(name), ctx.backend.name);
    }
    const model = ctx.registry.get(name);
    return ctx.config.mode === 'blackbox' ? describePublic(model) : describeModel(model, ctx.backend.name);
  };

  app.get('/v1/models', () => ({
    backend: ctx.config.mode === 'blackbox' ? undefined : ctx.backend.name,
    threads: ctx.config.mode === 'blackbox' ? undefined : ctx.backend.threads,
    nativeKernels: ctx.config.mode === 'blackbox' ? undefined : (ctx.backend.native?.kernels ?? []),
    models: (ctx.config.mode === 'blackbox' ? ctx.registry.list().map((m) => m.name) : ctx.registry.names()).map(describe),
  }));

  app.get<{ Params: Static<typeof ModelParams> }>(
    '/v1/models/:model',
    { schema: { params: ModelParams } },
    (request) => describe(request.params.model),
  );
};
