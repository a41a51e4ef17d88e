/**
 * `POST /v1/models/:model/explain`: which pixels move a class score. Validates, decodes the
 * image(s) and the IG baseline, runs the explanation driver as heavy work (src/http/work.ts: cost
 * limit, heavy slot, executor), serialises maps as exact floats plus a PNG (or answers the PNG
 * alone for `Accept: image/png`). With `Accept: text/event-stream` it streams `progress` events in
 * gradient evaluations (`done`, `total`), then one `result` event (the JSON answer) or an `error`
 * event; a client that disconnects stops the explanation. With `Prefer: respond-async` it is
 * queued as a job (202 + Location; the job's answer is the JSON one).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { checkExplainRequest, type Explanation, type ExplainProgress, type ExplainRequest } from '../src/explain/explain.ts';
import { COST_PARAMETERS } from '../src/explain/registry.ts';
import { toModelInput } from '../src/images/decode.ts';
import type { ImageModel } from '../src/model/image-model.ts';
import type { Limits } from '../src/config.ts';
import type { AppContext } from '../src/http/context.ts';
import { requireSingleForPng, wantsPng } from '../src/http/accept.ts';
import { decodeRequestImages } from '../src/http/decode-request.ts';
import { checkSteps } from '../src/http/limits.ts';
import { readImageRequest } from '../src/http/request-images.ts';
import { clientGoneSignal, streamHeavyWork, wantsEventStream } from '../src/http/sse.ts';
import { wantsAsync } from '../src/http/jobs.ts';
import { tensorJson, type EncodingFormat } from '../src/http/tensor-json.ts';
import { explainCost } from '../src/work/cost.ts';
import type { HeavyJob, HeavyResult } from '../src/work/jobs.ts';
import { ModelParams } from './schemas/common.ts';
import { ExplainParams } from './schemas/explain.ts';
import { explainSequenceRequest } from './explain-sequence.ts';

async function decodeBaseline(baseline: ExplainParams['baseline'], model: ImageModel, limits: Limits): Promise<Float32Array | undefined> {
  if (baseline === undefined || baseline === 'black') return undefined;
  if (baseline === 'white') return new Float32Array(model.pixelsPerImage).fill(model.manifest.input.range[1]);
  return toModelInput(baseline, model.manifest.input, limits, 'baseline');
}

export function serialiseExplanation(e: Explanation, encodingFormat: EncodingFormat = 'float') {
  return {
    method: e.method,
    ...(e.base ? { base: e.base } : {}),
    score: e.score,
    target: e.target,
    prediction: e.prediction,
    ...(e.layer ? { layer: e.layer } : {}),
    ...(e.completeness ? { completeness: e.completeness } : {}),
    map: tensorJson(e.map.shape, e.map.data, encodingFormat),
    rendering: e.rendering,
    png: e.png.toString('base64'),
  };
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const explainRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.post<{ Params: Static<typeof ModelParams> }>(
    '/v1/models/:model/explain',
    { schema: { params: ModelParams } },
    async (request, reply) => {
      const name = request.params.model;
      // Sequence classifiers: per-token gradient attribution (routes/explain-sequence.ts).
      if (ctx.registry.isSequence(name)) return explainSequenceRequest(ctx, name, request.body);
      const model = ctx.registry.get(name);
      const { limits } = ctx.config;
      const req = await readImageRequest<ExplainParams>(request, ExplainParams, limits.maxBatchSize);
      const { baseline, encodingFormat, ...params } = req.params;
      // What multiplies the work (IG's steps, SmoothGrad's samples), each held to the maximum on its own.
      for (const name of COST_PARAMETERS) checkSteps(limits, name, (params as Record<string, unknown>)[name] as number | undefined);
      const png = wantsPng(request);
      if (png) requireSingleForPng(req.images.length);
      const cost = explainCost(params, req.images.length);
      // Decoded once the request holds its heavy slot; a bad image or baseline is a plain 400 even when streaming.
      const explainJob = async (): Promise<HeavyJob> => {
        const inputs = await decodeRequestImages(req.images, model, limits);
        const decodedBaseline = await decodeBaseline(baseline, model, limits);
        const explainRequest: ExplainRequest = { ...params, ...(decodedBaseline ? { baseline: decodedBaseline } : {}) };
        return { kind: 'explain', model: name, inputs, request: explainRequest };
      };
      const explain = async (submit: (job: HeavyJob) => Promise<HeavyResult>) => {
        const result = await submit(await explainJob());
        return (result as Extract<typeof result, { kind: 'explain' }>).explanations;
      };
      const answer = (results: Explanation[]) =>
        req.batch ? { model: name, results: results.map((r) => serialiseExplanation(r, encodingFormat)) } : { model: name, ...serialiseExplanation(results[0]!, encodingFormat) };
      if (wantsAsync(request)) {
        checkExplainRequest(model, params);
        return ctx.jobs!.respondAsync(reply, { cost, job: explainJob, answer: { kind: 'explain', options: { batch: req.batch, encodingFormat } } });
      }
      if (!png && wantsEventStream(request)) {
        // What the driver would refuse is refused here, as a plain 400, before the stream opens.
        checkExplainRequest(model, params);
        return streamHeavyWork<ExplainProgress>(ctx.work, request, reply, { label: 'explain', model: name, cost, isLast: (e) => e.done === e.total, run: async (submit) => answer(await explain(submit)) });
      }
      const results = await ctx.work.heavyWork(request, cost, clientGoneSignal(reply), (submit) => explain((job) => submit(job)));
      if (png) return reply.type('image/png').send(results[0]!.png);
      return answer(results);
    },
  );
};
