/**
 * `POST /v1/models/:model/attack`: white-box adversarial examples (FGSM, BIM, PGD, MI-FGSM, C&W,
 * DeepFool), one image or a batch, one ε or a curve. Plans (validates) the attack, decodes, runs it,
 * serialises exact floats and PNGs. The attack runs as heavy work (src/http/work.ts: cost limit,
 * heavy slot, executor). With `Accept: text/event-stream` it streams `progress` events and then
 * one `result` event, or an `error` event (a shutdown ends the stream with GRADLAB_SHUTTING_DOWN);
 * a client that disconnects stops the attack. With `Prefer: respond-async` it is queued as a job (202).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { prepareAttack, type AttackImageResult, type AttackReport, type AttackRequest, type ProgressEvent } from '../src/attacks/attack.ts';
import { defaultScale, inputToRgb, rgbToPng } from '../src/images/encode.ts';
import { renderMap } from '../src/images/heatmap.ts';
import type { ImageModel } from '../src/model/image-model.ts';
import type { AppContext } from '../src/http/context.ts';
import { decodeRequestImages } from '../src/http/decode-request.ts';
import { readImageRequest } from '../src/http/request-images.ts';
import { clientGoneSignal, streamHeavyWork, wantsEventStream } from '../src/http/sse.ts';
import { wantsAsync } from '../src/http/jobs.ts';
import { tensorJson, type EncodingFormat } from '../src/http/tensor-json.ts';
import { attackCost } from '../src/work/cost.ts';
import type { HeavyJob, HeavyResult } from '../src/work/jobs.ts';
import { ModelParams } from './schemas/common.ts';
import { AttackParams } from './schemas/attack.ts';

async function serialiseResult(model: ImageModel, r: AttackImageResult, scale: number, encodingFormat: EncodingFormat) {
  const shape = [...model.inputShape];
  const image = rgbToPng(inputToRgb(r.adversarial.image, model.inputShape, model.manifest.input.range), scale);
  // The perturbation, amplified for viewing: signed rendering normalised to its own size.
  const delta = rgbToPng(renderMap(r.perturbation.delta, model.inputShape, 'signed'), scale);
  return {
    success: r.success,
    successQuantized: r.successQuantized,
    label: r.label,
    ...(r.target ? { target: r.target } : {}),
    original: r.original,
    adversarial: { predictions: r.adversarial.predictions, image: tensorJson(shape, r.adversarial.image, encodingFormat), png: (await image).toString('base64') },
    perturbation: { linf: r.perturbation.linf, l2: r.perturbation.l2, l0: r.perturbation.l0, png: (await delta).toString('base64') },
    iterations: r.iterations,
    elapsedMs: r.elapsedMs,
    ...(r.brokenBy !== undefined ? { brokenBy: r.brokenBy } : {}),
  };
}

export async function serialiseReport(model: ImageModel, report: AttackReport, batch: boolean, curve: boolean, scale: number, encodingFormat: EncodingFormat = 'float') {
  const head = { model: model.name, method: report.method, norm: report.norm, targeted: report.targeted };
  const runs = await Promise.all(
    report.runs.map(async (run) => ({
      ...(run.epsilon !== undefined ? { epsilon: run.epsilon } : {}),
      results: await Promise.all(run.results.map((r) => serialiseResult(model, r, scale, encodingFormat))),
      successRate: run.successRate,
      robustAccuracy: run.robustAccuracy,
      ...(run.stages ? { stages: run.stages } : {}),
      ...(run.warnings ? { warnings: run.warnings } : {}),
    })),
  );
  if (curve) return { ...head, epsilons: runs };
  const run = runs[0]!;
  if (batch) return { ...head, ...run };
  const ensemble = { ...(run.stages ? { stages: run.stages } : {}), ...(run.warnings ? { warnings: run.warnings } : {}) };
  return { ...head, ...(run.epsilon !== undefined ? { epsilon: run.epsilon } : {}), ...run.results[0]!, ...ensemble };
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const attackRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.post<{ Params: Static<typeof ModelParams> }>(
    '/v1/models/:model/attack',
    { schema: { params: ModelParams } },
    async (request, reply) => {
      const name = request.params.model;
      const model = ctx.registry.get(name);
      const { limits } = ctx.config;
      const req = await readImageRequest<AttackParams>(request, AttackParams, limits.maxBatchSize);
      const { scale: requestedScale, encodingFormat, ...params } = req.params;
      const attackRequest = params as AttackRequest;
      const planOptions = { images: req.images.length, maxSteps: limits.maxSteps, maxStepsName: '--max-steps' };
      const plan = prepareAttack(model, attackRequest, planOptions);
      const cost = attackCost(plan);
      const job = async (progressTop: boolean): Promise<HeavyJob> =>
        ({ kind: 'attack', model: name, inputs: await decodeRequestImages(req.images, model, limits), request: attackRequest, plan: planOptions, progressTop });
      const reportOf = (result: HeavyResult) => (result as Extract<HeavyResult, { kind: 'attack' }>).report;
      const scale = requestedScale ?? defaultScale(model.inputShape[0], model.inputShape[1]);
      const curve = attackRequest.epsilons !== undefined;
      const countStep = () => ctx.metrics.attackSteps.inc({ model: name, method: attackRequest.method });

      if (wantsAsync(request)) return ctx.jobs!.respondAsync(reply, { cost, job: () => job(true), answer: { kind: 'attack', options: { batch: req.batch, curve, scale, encodingFormat } } });
      if (wantsEventStream(request)) {
        // Decoding errors are plain JSON answers: the images are decoded before the slot is awaited.
        const attackJob = await job(true);
        return streamHeavyWork<ProgressEvent>(ctx.work, request, reply, {
          label: 'attack',
          model: name,
          cost,
          isLast: (e) => e.step === e.steps,
          progressData: (e) => ({ step: e.step, steps: e.steps, loss: e.loss, ...(e.epsilon !== undefined ? { epsilon: e.epsilon } : {}), ...(e.top ? { top: e.top } : {}) }),
          onEvery: countStep,
          run: async (submit) => serialiseReport(model, reportOf(await submit(attackJob)), req.batch, curve, scale, encodingFormat),
        });
      }

      const report = await ctx.work.heavyWork(request, cost, clientGoneSignal(reply), async (submit) => reportOf(await submit(await job(false), countStep)));
      return serialiseReport(model, report, req.batch, curve, scale, encodingFormat);
    },
  );
};
