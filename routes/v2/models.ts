/**
 * OIP v2 model endpoints, each also under `/versions/{v}` (a gradlab model has one version, `1`):
 * metadata (`GET /v2/models/{m}`: input `input` FP32 [-1, H, W, C], output `probabilities`),
 * readiness (`…/ready`) and the model configuration extension (`…/config`: Triton's fields,
 * `max_batch_size`, input `format` FORMAT_NHWC). What the output looks like follows the answer
 * form black-box mode allows (src/http/oip-response.ts), so the metadata never promises more
 * than infer answers.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { GradlabError } from '../../src/errors.ts';
import type { AppContext } from '../../src/http/context.ts';
import { INPUT_NAME, OUTPUT_NAME } from '../../src/http/oip-request.ts';
import { answerForm, outputMetadata } from '../../src/http/oip-response.ts';
import type { ImageModel } from '../../src/model/image-model.ts';

export const MODEL_VERSION = '1';
export const PLATFORM = 'gradlab_tensorflowjs';

export const VersionParams = Type.Object({
  model: Type.String({ minLength: 1, maxLength: 64 }),
  version: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
});
export type VersionParams = Static<typeof VersionParams>;

/** The model, after checking the version asked for (if any) is the one it has. */
export function modelAt(ctx: AppContext, params: VersionParams): ImageModel {
  const model = ctx.registry.get(params.model);
  if (params.version !== undefined && params.version !== MODEL_VERSION) {
    throw new GradlabError('GRADLAB_UNKNOWN_MODEL', `model '${params.model}' has no version '${params.version}' (it has version ${MODEL_VERSION})`, 'version');
  }
  return model;
}

/** Both paths of a model endpoint: `/v2/models/:model<suffix>` and `/v2/models/:model/versions/:version<suffix>`. */
export const bothPaths = (suffix: string) => [`/v2/models/:model${suffix}`, `/v2/models/:model/versions/:version${suffix}`];

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const v2ModelRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  const form = (model: ImageModel) => answerForm(ctx.blackbox?.outputShape(model.manifest.name), model.manifest.labels.length);
  const schema = { params: VersionParams };

  for (const url of bothPaths('')) {
    app.get<{ Params: VersionParams }>(url, { schema }, (request) => {
      const model = modelAt(ctx, request.params);
      const [h, w, c] = model.manifest.input.shape;
      return {
        name: model.manifest.name,
        versions: [MODEL_VERSION],
        platform: PLATFORM,
        inputs: [{ name: INPUT_NAME, datatype: 'FP32', shape: [-1, h, w, c] }],
        outputs: [outputMetadata(form(model), model.manifest.labels.length)],
      };
    });
  }

  for (const url of bothPaths('/ready')) {
    app.get<{ Params: VersionParams }>(url, { schema }, async (request, reply) => {
      modelAt(ctx, request.params);
      const ready = ctx.registry.ready && !ctx.work.draining;
      return reply.status(ready ? 200 : 400).send({ name: request.params.model, ready });
    });
  }

  for (const url of bothPaths('/config')) {
    app.get<{ Params: VersionParams }>(url, { schema }, (request) => {
      const model = modelAt(ctx, request.params);
      const output = outputMetadata(form(model), model.manifest.labels.length);
      return {
        name: model.manifest.name,
        platform: PLATFORM,
        max_batch_size: ctx.config.limits.maxBatchSize,
        input: [{ name: INPUT_NAME, data_type: 'TYPE_FP32', format: 'FORMAT_NHWC', dims: model.manifest.input.shape }],
        output: [{ name: OUTPUT_NAME, data_type: output.datatype === 'FP32' ? 'TYPE_FP32' : 'TYPE_STRING', dims: output.shape.slice(1) }],
        ...(ctx.config.mode === 'whitebox' ? { parameters: { value_range: model.manifest.input.range, labels: model.manifest.labels } } : {}),
      };
    });
  }
};
