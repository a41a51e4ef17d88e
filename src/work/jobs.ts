/**
 * Heavy work as data: what to run (explain, attack, visualize), on which model, with decoded
 * Float32Array inputs, and what comes back. A job description is plain enough to cross a thread
 * (structured clone, Float32Arrays transferred) or, later, a queue; `runHeavyJob` runs one with a
 * Deadline and a progress hook, the same in the process and in a worker thread.
 */
import { prepareAttack, runAttack, type AttackReport, type AttackRequest, type PlanOptions, type ProgressEvent } from '../attacks/attack.ts';
import type { Deadline } from '../deadline.ts';
import { explainImages, type Explanation, type ExplainProgress, type ExplainRequest } from '../explain/explain.ts';
import { visualize, type Visualization, type VisualizeProgress, type VisualizeRequest } from '../explain/visualize.ts';
import type { ImageModel } from '../model/image-model.ts';

export type HeavyJob =
  | { kind: 'explain'; model: string; inputs: Float32Array[]; request: ExplainRequest }
  | { kind: 'attack'; model: string; inputs: Float32Array[]; request: AttackRequest; plan: PlanOptions; progressTop: boolean }
  | { kind: 'visualize'; model: string; request: VisualizeRequest };

export type HeavyResult =
  | { kind: 'explain'; explanations: Explanation[] }
  | { kind: 'attack'; report: AttackReport }
  | { kind: 'visualize'; visualization: Visualization };

/**
 * Progress of a long job, as its core reports it (the worker forwards it unchanged): an attack's
 * steps, an explanation's gradient evaluations `{ done, total }`, a visualisation's `{ step, steps,
 * objective }`. Each job kind reports only its own.
 */
export type HeavyProgress = ProgressEvent | ExplainProgress | VisualizeProgress;

/** Runs a job on its model; the attack is planned again here (plans hold functions, not data). */
export async function runHeavyJob(model: ImageModel, job: HeavyJob, deadline: Deadline, onProgress?: (e: HeavyProgress) => void): Promise<HeavyResult> {
  switch (job.kind) {
    case 'explain':
      return { kind: 'explain', explanations: await explainImages(model, job.inputs, job.request, { deadline, ...(onProgress ? { onProgress } : {}) }) };
    case 'attack': {
      const plan = prepareAttack(model, job.request, job.plan);
      const report = await runAttack(model, job.inputs, plan, { deadline, ...(onProgress ? { onProgress } : {}), progressTop: job.progressTop });
      return { kind: 'attack', report };
    }
    case 'visualize':
      return { kind: 'visualize', visualization: await visualize(model, job.request, { deadline, ...(onProgress ? { onProgress } : {}) }) };
  }
}

/** The Float32Arrays of a value that own their whole buffer: safe to transfer instead of copying. */
export function transferables(value: unknown, out = new Set<ArrayBuffer>()): ArrayBuffer[] {
  if (value instanceof Float32Array) {
    if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && value.buffer instanceof ArrayBuffer) out.add(value.buffer);
  } else if (Array.isArray(value)) {
    for (const v of value) transferables(v, out);
  } else if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value)) transferables(v, out);
  }
  return [...out];
}

/** Buffers become plain Uint8Arrays when cloned across threads: the PNGs are made Buffers again. */
export function restoreBuffers(result: HeavyResult): HeavyResult {
  const buffer = (u: Uint8Array) => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));
  if (result.kind !== 'explain') return result;
  return { kind: 'explain', explanations: result.explanations.map((e) => ({ ...e, png: buffer(e.png) })) };
}
