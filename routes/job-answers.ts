/**
 * How a job's answer is written: the same serialisers the synchronous heavy routes use, named by
 * the job's `answer.kind`, so that `GET /v1/jobs/{id}` gives exactly the JSON that the route would
 * have answered. Used by the API process that runs in-process jobs and by `npm run worker`.
 */
import type { ImageModel } from '../src/model/image-model.ts';
import type { EncodingFormat } from '../src/http/tensor-json.ts';
import type { AnswerSpec } from '../src/jobs/types.ts';
import type { HeavyResult } from '../src/work/jobs.ts';
import { serialiseReport } from './attack.ts';
import { serialiseExplanation } from './explain.ts';
import { visualizeAnswer } from './visualize.ts';

/** Options each route records for its answer. */
export interface AttackAnswerOptions { batch: boolean; curve: boolean; scale: number; encodingFormat?: EncodingFormat }
export interface ExplainAnswerOptions { batch: boolean; encodingFormat?: EncodingFormat }
export interface VisualizeAnswerOptions { scale: number; encodingFormat?: EncodingFormat }

export async function writeJobAnswer(model: ImageModel, result: HeavyResult, answer: AnswerSpec): Promise<unknown> {
  if (result.kind !== answer.kind) throw new Error(`a ${answer.kind} job produced a ${result.kind} result`);
  switch (result.kind) {
    case 'attack': {
      const o = answer.options as unknown as AttackAnswerOptions;
      return serialiseReport(model, result.report, o.batch, o.curve, o.scale, o.encodingFormat ?? 'float');
    }
    case 'explain': {
      const o = answer.options as unknown as ExplainAnswerOptions;
      const all = result.explanations.map((e) => serialiseExplanation(e, o.encodingFormat ?? 'float'));
      return o.batch ? { model: model.name, results: all } : { model: model.name, ...all[0]! };
    }
    case 'visualize': {
      const o = answer.options as unknown as VisualizeAnswerOptions;
      return visualizeAnswer(model, result.visualization, o.scale, o.encodingFormat);
    }
  }
}
