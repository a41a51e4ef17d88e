/**
 * `POST /v1/models/:model/score`: runs a sequence model over one sequence and answers the
 * per-step outputs, the prediction, the unrolled trace (`trace: true`) and, for language models,
 * per-token log-probabilities, bits per token and perplexity.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { badParameter, GradlabError } from '../src/errors.ts';
import type { AppContext } from '../src/http/context.ts';
import { checkParams } from '../src/http/request-images.ts';
import { scoreSequence } from '../src/sequence/score.ts';
import { ModelParams } from './schemas/common.ts';
import { ScoreParams } from './schemas/score.ts';

/** The JSON body of a sequence request; an image sent to a sequence model is named as such. */
export function sequenceBody(body: unknown, name: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GradlabError('GRADLAB_BAD_REQUEST', 'the body must be a JSON object with a sequence');
  }
  const b = body as Record<string, unknown>;
  for (const field of ['image', 'images']) {
    if (b[field] !== undefined) throw badParameter(field, `'${name}' is a sequence model: send 'sequence', not an image (images go to an image model's /classify, /explain or /attack route)`);
  }
  return b;
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const scoreRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.post<{ Params: Static<typeof ModelParams> }>(
    '/v1/models/:model/score',
    { schema: { params: ModelParams } },
    (request) => {
      const name = request.params.model;
      const model = ctx.registry.getSequence(name);
      const params = checkParams<ScoreParams>(ScoreParams, sequenceBody(request.body, name));
      const result = scoreSequence(model, params.sequence, {
        trace: params.trace ?? false,
        maxLength: ctx.config.limits.maxSequenceLength,
      });
      return { model: name, ...result };
    },
  );
};
