/**
 * KServe's v1 protocol (TF Serving's REST shape) beside gradlab's `/v1`:
 * `POST /v1/models/{m}:predict` with `{"instances": [...]}` (or `"inputs"`), each instance an image
 * as `{"b64": "<PNG/JPEG base64>"}` (TF Serving's binary form), a base64 string, a pixel array
 * [H][W][C], or an object with one such field (`{"image_bytes": {"b64": …}}`); the answer is
 * `{"predictions": [...]}`, each every class's probability, or, where black-box mode reveals less,
 * gradlab's shaped `[{label, index, probability?}]`. `POST /v1/models/{m}:explain` (white-box
 * only) takes the same instances plus `parameters` (gradlab's explain parameters) and answers
 * `{"explanations": [...]}` with gradlab's maps. Metered as classify in black-box mode; errors
 * answer `{"error": "..."}`.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { badParameter, GradlabError, tooLarge } from '../src/errors.ts';
import type { Explanation, ExplainRequest } from '../src/explain/explain.ts';
import { COST_PARAMETERS } from '../src/explain/registry.ts';
import { toModelInput } from '../src/images/decode.ts';
import { classifyImages } from '../src/model/classify.ts';
import type { AppContext } from '../src/http/context.ts';
import { decodeRequestImages } from '../src/http/decode-request.ts';
import { checkSteps } from '../src/http/limits.ts';
import { protocolErrorHandler } from '../src/http/oip-errors.ts';
import { checkParams, type RawImage } from '../src/http/request-images.ts';
import { clientGoneSignal } from '../src/http/sse.ts';
import { explainCost } from '../src/work/cost.ts';
import { ModelParams } from './schemas/common.ts';
import { ExplainParams } from './schemas/explain.ts';
import { serialiseExplanation } from './explain.ts';
import type { Static } from '@sinclair/typebox';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One instance → the image in a form the decoder takes (base64 string or pixel array). */
function instanceImage(instance: unknown, field: string): RawImage {
  if (isObject(instance) && typeof instance.b64 === 'string') return { value: instance.b64, field };
  if (typeof instance === 'string' || Array.isArray(instance)) return { value: instance, field };
  if (isObject(instance)) {
    const keys = Object.keys(instance);
    if (keys.length === 1) return instanceImage(instance[keys[0]!], `${field}.${keys[0]}`);
  }
  throw badParameter(field, 'must be an image: {"b64": "<base64 PNG/JPEG>"}, a base64 string, a pixel array, or an object with one such field');
}

/** The images of a v1 body (`instances`, or `inputs` as a list or one named list) and the rest of it. */
function readInstances(body: unknown, maxImages: number): { images: RawImage[]; parameters: unknown } {
  if (!isObject(body)) throw new GradlabError('GRADLAB_BAD_REQUEST', 'the body must be a JSON object with instances');
  const { instances, inputs, parameters, ...rest } = body;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw badParameter(unknown, 'is not a known field (send instances and, for :explain, parameters)');
  if (instances !== undefined && inputs !== undefined) throw badParameter('instances', "send either 'instances' or 'inputs', not both");
  if (instances === undefined && inputs === undefined) throw badParameter('instances', 'is missing: send {"instances": [image, …]}');
  const field = instances !== undefined ? 'instances' : 'inputs';
  let list = instances ?? inputs;
  if (isObject(list) && Object.keys(list).length === 1) list = Object.values(list)[0];
  if (!Array.isArray(list) || list.length === 0) throw badParameter(field, 'must be a non-empty array of images');
  if (list.length > maxImages) throw tooLarge(field, `${field}: ${list.length} images is more than the limit of ${maxImages}`);
  return { images: list.map((instance: unknown, i) => instanceImage(instance, `${field}[${i}]`)), parameters };
}

type Params = Static<typeof ModelParams>;

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const kserveV1Routes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.setErrorHandler(protocolErrorHandler(ctx.config.limits, ctx.config.mode === 'blackbox'));
  const { limits } = ctx.config;
  // KServe and TF Serving bodies are JSON whatever the content type says (curl -d sends a form type).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new GradlabError('GRADLAB_BAD_REQUEST', 'the body is not valid JSON'), undefined);
    }
  });

  // `::` is Fastify's escaped colon; the model name stops at the first colon: /v1/models/<model>:predict.
  app.post<{ Params: Params }>('/v1/models/:model(^[^:/]+)::predict', { schema: { params: ModelParams } }, async (request: FastifyRequest<{ Params: Params }>, reply) => {
    const name = request.params.model;
    const model = ctx.registry.get(name);
    const { images, parameters } = readInstances(request.body, limits.maxBatchSize);
    if (parameters !== undefined) throw badParameter('parameters', ':predict takes no parameters');
    const gate = ctx.blackbox;
    const refund = gate ? await gate.charge(request, reply, images.length) : undefined;
    const inputs = await decodeRequestImages(images, model, limits).catch(async (err: unknown) => {
      await refund?.();
      throw err;
    });
    const classes = model.manifest.labels.length;
    const shape = gate?.outputShape(name);
    const full = !shape || shape.kind === 'probabilities';
    const topK = gate ? gate.answeredClasses(name, classes) : classes;
    const ranked = await classifyImages(ctx.registry, name, inputs, topK);
    const predictions = gate ? gate.publish(request, name, inputs, ranked) : ranked;
    if (!full) return { predictions };
    return {
      predictions: predictions.map((ranked) => {
        const vector = new Array<number>(classes).fill(0);
        for (const p of ranked) vector[p.index] = p.probability ?? 0;
        return vector;
      }),
    };
  });

  if (ctx.config.mode !== 'whitebox') return;
  app.post<{ Params: Params }>('/v1/models/:model(^[^:/]+)::explain', { schema: { params: ModelParams } }, async (request: FastifyRequest<{ Params: Params }>, reply) => {
    const name = request.params.model;
    const model = ctx.registry.get(name);
    const { images, parameters } = readInstances(request.body, limits.maxBatchSize);
    const { baseline, encodingFormat, ...params } = checkParams<ExplainParams>(ExplainParams, parameters ?? {});
    for (const p of COST_PARAMETERS) checkSteps(limits, p, (params as Record<string, unknown>)[p] as number | undefined);
    const explanations = await ctx.work.heavyWork(request, explainCost(params, images.length), clientGoneSignal(reply), async (submit) => {
      const inputs = await decodeRequestImages(images, model, limits);
      const decodedBaseline =
        baseline === undefined || baseline === 'black'
          ? undefined
          : baseline === 'white'
            ? new Float32Array(model.pixelsPerImage).fill(model.manifest.input.range[1])
            : await toModelInput(baseline, model.manifest.input, limits, 'parameters.baseline');
      const explainRequest: ExplainRequest = { ...params, ...(decodedBaseline ? { baseline: decodedBaseline } : {}) };
      const result = await submit({ kind: 'explain', model: name, inputs, request: explainRequest });
      return (result as Extract<typeof result, { kind: 'explain' }>).explanations;
    });
    return { explanations: explanations.map((e: Explanation) => serialiseExplanation(e, encodingFormat)) };
  });
};
