/**
 * `POST /v1/models/:model/attack`: white-box adversarial examples (FGSM, BIM, PGD, MI-FGSM, C&W,
 * DeepFool), one image or a batch, one ε or a curve. Plans (validates) the attack, decodes, runs it,
 * serialises exact floats and PNGs. With `Accept: text/event-stream` it streams `progress` events
 * and then one `result` event; a client that disconnects stops the attack.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { prepareAttack, runAttack, type AttackImageResult, type AttackReport, type AttackRequest, type ProgressEvent } from '../src/attacks/attack.ts';
import { Deadline } from '../src/deadline.ts';
import { defaultScale, inputToRgb, rgbToPng } from '../src/images/encode.ts';
import { renderMap } from '../src/images/heatmap.ts';
import type { ImageModel } from '../src/model/image-model.ts';
import type { AppContext } from '../src/http/context.ts';
import { errorResponse } from '../src/http/error-response.ts';
import { decodeRequestImages } from '../src/http/decode-request.ts';
import { readImageRequest } from '../src/http/request-images.ts';
import { clientGoneSignal, openEventStream, wantsEventStream } from '../src/http/sse.ts';
import { tensorJson, type EncodingFormat } from '../src/http/tensor-json.ts';
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

async function serialiseReport(model: ImageModel, report: AttackReport, batch: boolean, curve: boolean, scale: number, encodingFormat: EncodingFormat = 'float') {
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
      const plan = prepareAttack(model, attackRequest, { images: req.images.length, maxSteps: limits.maxSteps, maxStepsName: '--max-steps' });
      const inputs = await decodeRequestImages(req.images, model, limits);
      const scale = requestedScale ?? defaultScale(model.inputShape[0], model.inputShape[1]);
      const curve = attackRequest.epsilons !== undefined;
      const countStep = () => ctx.metrics.attackSteps.inc({ model: name, method: attackRequest.method });

      if (wantsEventStream(request)) {
        const stream = openEventStream(request, reply);
        const deadline = new Deadline(limits.requestTimeoutMs, stream.signal);
        let lastSent = 0;
        const onProgress = (e: ProgressEvent) => {
          countStep();
          const now = Date.now();
          if (now - lastSent < 50 && e.step !== e.steps) return; // at most ~20 events a second
          lastSent = now;
          stream.send('progress', { step: e.step, steps: e.steps, loss: e.loss, ...(e.epsilon !== undefined ? { epsilon: e.epsilon } : {}), ...(e.top ? { top: e.top } : {}) });
        };
        try {
          const report = await runAttack(model, inputs, plan, { deadline, onProgress, progressTop: true });
          stream.send('result', await serialiseReport(model, report, req.batch, curve, scale, encodingFormat));
        } catch (err) {
          // The same answer as the JSON error handler gives, as an `error` event.
          const answer = errorResponse(err, { clientGone: stream.signal.aborted });
          request.log[answer.level]({ err, model: name }, `attack stream: ${answer.logMessage}`);
          stream.send('error', answer.body);
        } finally {
          stream.end();
        }
        return reply;
      }

      const deadline = new Deadline(limits.requestTimeoutMs, clientGoneSignal(reply));
      const report = await runAttack(model, inputs, plan, { deadline, onProgress: countStep });
      return serialiseReport(model, report, req.batch, curve, scale, encodingFormat);
    },
  );
};
