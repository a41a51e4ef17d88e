/**
 * `POST /v2/models/{m}[/versions/{v}]/infer`: OIP v2 inference on an image classifier — pixels
 * (FP32/FP64/UINT8, NHWC) or encoded images (BYTES), JSON or binary tensors, the classification
 * extension; the request `id` is echoed. Black-box mode meters it as `/v1/.../classify`: one
 * query per image charged before anything is decoded (given back if the images do not decode),
 * the answer shaped and the request logged.
 */
import type { FastifyPluginAsync } from 'fastify';
import { GradlabError } from '../../src/errors.ts';
import { classifyImages } from '../../src/model/classify.ts';
import type { AppContext } from '../../src/http/context.ts';
import { HEADER_LENGTH, splitBody } from '../../src/http/oip-binary.ts';
import { parseInferRequest } from '../../src/http/oip-request.ts';
import { answerForm, inferAnswer } from '../../src/http/oip-response.ts';
import { bothPaths, MODEL_VERSION, modelAt, VersionParams } from './models.ts';

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const v2InferRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  for (const url of bothPaths('/infer')) {
    app.post<{ Params: VersionParams }>(url, { schema: { params: VersionParams } }, async (request, reply) => {
      const model = modelAt(ctx, request.params);
      const name = model.manifest.name;
      if (!Buffer.isBuffer(request.body)) throw new GradlabError('GRADLAB_BAD_REQUEST', 'the body is empty: send the inference request as JSON');
      const parsed = parseInferRequest(splitBody(request.body, request.headers[HEADER_LENGTH]), model, ctx.config.limits);
      const gate = ctx.blackbox;
      const refund = gate ? await gate.charge(request, reply, parsed.count) : undefined;
      const inputs = await parsed.decode().catch(async (err: unknown) => {
        await refund?.();
        throw err;
      });
      const classes = model.manifest.labels.length;
      const form = answerForm(gate?.outputShape(name), classes, parsed.output.classification);
      const topK = form.kind === 'vector' ? classes : form.k;
      const ranked = await classifyImages(ctx.registry, name, inputs, topK);
      const predictions = gate ? gate.publish(request, name, inputs, ranked, topK) : ranked;
      const answer = inferAnswer(predictions, form, classes, parsed.output, { model: name, version: MODEL_VERSION, ...(parsed.id !== undefined ? { id: parsed.id } : {}) });
      if (!answer.binary) return answer.json;
      return reply.header(HEADER_LENGTH, answer.binary.headerLength).type('application/octet-stream').send(answer.binary.body);
    });
  }
};
