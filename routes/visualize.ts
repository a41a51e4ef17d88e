/**
 * `POST /v1/models/:model/visualize`: activation maximisation for a class or a unit, from seeded
 * noise. Validates, runs the core as heavy work (src/http/work.ts), serialises the image as exact floats plus PNGs (or the PNG
 * alone for `Accept: image/png`). With `Accept: text/event-stream` it streams a `progress` event
 * per step (`step`, `steps`, `objective`; at most ~20 a second), then one `result` event (the JSON
 * answer) or an `error` event; a client that disconnects stops the ascent. With
 * `Prefer: respond-async` it is queued as a job (202 + Location).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { defaultScale, inputToRgb, rgbToPng } from '../src/images/encode.ts';
import type { AppContext } from '../src/http/context.ts';
import { wantsPng } from '../src/http/accept.ts';
import { checkSteps } from '../src/http/limits.ts';
import { checkParams } from '../src/http/request-images.ts';
import { clientGoneSignal, streamHeavyWork, wantsEventStream } from '../src/http/sse.ts';
import { wantsAsync } from '../src/http/jobs.ts';
import { visualizeCost } from '../src/work/cost.ts';
import { tensorJson, type EncodingFormat } from '../src/http/tensor-json.ts';
import type { ImageModel } from '../src/model/image-model.ts';
import { checkVisualizeRequest, type Visualization, type VisualizeProgress } from '../src/explain/visualize.ts';
import type { HeavyJob, HeavyResult } from '../src/work/jobs.ts';
import { ModelParams } from './schemas/common.ts';
import { VisualizeParams } from './schemas/visualize.ts';

/** The JSON answer: the image as exact floats and PNGs, with its snapshots (also written by jobs, routes/job-answers.ts). */
export async function visualizeAnswer(model: ImageModel, result: Visualization, scale: number, encodingFormat?: EncodingFormat) {
  const png = (image: Float32Array) => rgbToPng(inputToRgb(image, model.inputShape, model.manifest.input.range), scale);
  return {
    model: model.name,
    objective: result.objective,
    steps: result.steps,
    finalObjective: result.finalObjective,
    predictions: result.predictions,
    image: tensorJson(model.inputShape, result.image, encodingFormat),
    png: (await png(result.image)).toString('base64'),
    snapshots: await Promise.all(
      result.snapshots.map(async (s) => ({ step: s.step, objective: s.objective, top: s.top, png: (await png(s.image)).toString('base64') })),
    ),
  };
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const visualizeRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.post<{ Params: Static<typeof ModelParams> }>(
    '/v1/models/:model/visualize',
    { schema: { params: ModelParams } },
    async (request, reply) => {
      const name = request.params.model;
      const model = ctx.registry.get(name);
      const params = checkParams<VisualizeParams>(VisualizeParams, request.body ?? {});
      checkSteps(ctx.config.limits, 'steps', params.steps);
      const { scale: requestedScale, position, encodingFormat, ...rest } = params;
      const visualizeRequest = { ...rest, ...(position ? { position: position as [number, number] } : {}) };
      const cost = visualizeCost(visualizeRequest);
      const run = async (submit: (job: HeavyJob) => Promise<HeavyResult>) => {
        const done = await submit({ kind: 'visualize', model: name, request: visualizeRequest });
        return (done as Extract<typeof done, { kind: 'visualize' }>).visualization;
      };
      const scale = requestedScale ?? defaultScale(model.inputShape[0], model.inputShape[1]);
      const png = (image: Float32Array) => rgbToPng(inputToRgb(image, model.inputShape, model.manifest.input.range), scale);
      const answer = (result: Visualization) => visualizeAnswer(model, result, scale, encodingFormat);
      if (wantsAsync(request)) {
        checkVisualizeRequest(model, visualizeRequest);
        return ctx.jobs!.respondAsync(reply, { cost, job: () => Promise.resolve({ kind: 'visualize', model: name, request: visualizeRequest }), answer: { kind: 'visualize', options: { scale, encodingFormat } } });
      }
      if (!wantsPng(request) && wantsEventStream(request)) {
        // What the core would refuse is refused here, as a plain 400, before the stream opens.
        checkVisualizeRequest(model, visualizeRequest);
        return streamHeavyWork<VisualizeProgress>(ctx.work, request, reply, { label: 'visualize', model: name, cost, isLast: (e) => e.step === e.steps, run: async (submit) => answer(await run(submit)) });
      }
      const result = await ctx.work.heavyWork(request, cost, clientGoneSignal(reply), (submit) => run((job) => submit(job)));
      if (wantsPng(request)) return reply.type('image/png').send(await png(result.image));
      return answer(result);
    },
  );
};
