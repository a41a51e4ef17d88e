/**
 * The attack driver (Foolbox's `Attack.__call__`): one call shape for every white-box attack.
 * `prepareAttack` (plan.ts) validates a request once; `runAttack` takes the plan, builds the
 * criterion, runs the spec — once per ε for fixed-ε attacks, once in all for minimization
 * attacks (C&W, DeepFool), whose answer does not depend on ε — with restarts where asked, and
 * does the bookkeeping once (report.ts): bounds, ε-ball, success, success after 8-bit
 * quantisation, perturbation norms, timings. Specs only produce adversarial candidates (an
 * ensemble adds its per-stage account and warnings, passed through to the run).
 */
import { Deadline } from '../deadline.ts';
import { topPredictions } from '../model/classes.ts';
import type { ImageModel } from '../model/image-model.ts';
import { misclassification, targetedMisclassification } from './criteria.ts';
import type { StepInfo } from './gradient-descent.ts';
import type { NormName } from './norms.ts';
import type { AttackPlan } from './plan.ts';
import { judge, measure, type AttackRun, type CleanBatch } from './report.ts';
import { withRestarts } from './restarts.ts';
import type { AttackMethod } from './specs.ts';

export { prepareAttack, type AttackPlan, type AttackRequest, type PlanOptions } from './plan.ts';
export type { AttackImageResult, AttackRun, ClassRef } from './report.ts';
export { ATTACK_METHODS, ATTACK_SPECS, type AttackMethod } from './specs.ts';

export interface AttackReport {
  method: AttackMethod;
  norm: NormName;
  targeted: boolean;
  runs: AttackRun[];
}

export interface ProgressEvent extends StepInfo {
  /** The ε being attacked (absent for a minimization attack judged at several ε). */
  epsilon?: number;
  /** Per image, the label of the current top class (when known). */
  top?: string[];
}

export interface AttackHooks {
  deadline?: Deadline;
  onProgress?: (event: ProgressEvent) => void;
  /** Report each image's current top class in progress events (costs one extra forward pass a step). */
  progressTop?: boolean;
}

/** Runs a prepared attack on each image; the plan was validated by `prepareAttack` for this many images. */
export async function runAttack(model: ImageModel, inputs: Float32Array[], plan: AttackPlan, hooks: AttackHooks = {}): Promise<AttackReport> {
  if (inputs.length !== plan.images) throw new Error(`the attack plan was made for ${plan.images} images, not ${inputs.length}`);
  const deadline = hooks.deadline ?? Deadline.none();
  const labels = model.manifest.labels;
  const clean = model.predictProbabilities(inputs);
  const trueLabels = plan.labels ?? clean.map((p) => topPredictions(p, labels, 1)[0]!.index);
  const targets = plan.target !== undefined ? inputs.map(() => plan.target!) : undefined;
  const batch: CleanBatch = { inputs, clean, trueLabels, ...(targets ? { targets } : {}), criterion: targets ? targetedMisclassification(targets) : misclassification(trueLabels) };
  const runs: AttackRun[] = [];
  const x0 = model.batchTensor(inputs);
  try {
    for (const planned of plan.runs) {
      // Progress names the ε only when the run answers exactly one.
      const epsilon = planned.judgedAt.length === 1 ? planned.judgedAt[0] : undefined;
      const started = performance.now();
      const onStep = (s: StepInfo) =>
        hooks.onProgress?.({ ...s, ...(epsilon !== undefined ? { epsilon } : {}), ...(s.predicted ? { top: s.predicted.map((p) => labels[p]!) } : {}) });
      const context = {
        model,
        x0,
        criterion: batch.criterion,
        norm: plan.norm,
        epsilon: planned.epsilon,
        seed: plan.seed,
        bounds: model.manifest.input.range,
        deadline,
        onStep,
        wantPredictions: hooks.progressTop ?? false,
      };
      const restarts = typeof planned.params.restarts === 'number' ? planned.params.restarts : 1;
      const { adversarial, iterations, ...account } = await withRestarts(context, restarts, (c) => plan.spec.run(c, planned.params));
      const elapsedMs = performance.now() - started;
      let data: Float32Array;
      try {
        data = adversarial.dataSync() as Float32Array;
      } finally {
        adversarial.dispose();
      }
      const found = measure(model, batch, data, iterations, elapsedMs);
      for (const at of planned.judgedAt) runs.push(judge(model, batch, found, plan.norm, at, account));
    }
  } finally {
    x0.dispose();
  }
  return { method: plan.method, norm: plan.norm, targeted: targets !== undefined, runs };
}
