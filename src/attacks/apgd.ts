/**
 * APGD-CE and APGD-T (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an
 * ensemble of diverse parameter-free attacks", ICML), the first two stages of AutoAttack; the
 * loop is apgd-core.ts. Fixed-ε, L∞ and L2.
 *
 * - `apgd-ce`: the criterion's cross-entropy (untargeted: −log p_y; with `target`: log p_t).
 *   Defaults: 100 steps, one run (the AutoAttack "standard" setting).
 * - `apgd-t`: targeted DLR against each of the `targets` most likely other classes in turn
 *   (ranked at the clean image), each target on the images the previous ones did not break;
 *   success is any misclassification. Defaults: 100 steps, 9 targets (AutoAttack "standard").
 *   Untargeted as a request (its targets are its own).
 * Cost: steps × targets gradient iterations (+1 per run for the starting gradient).
 */
import * as tf from '@tensorflow/tfjs';
import { adversarialMask as criterionMask } from './criteria.ts';
import { apgd } from './apgd-core.ts';
import { targetedDlrLoss } from './losses.ts';
import type { AttackContext } from './spec.ts';
import { defineAttack, type ParamSpec } from './spec.ts';

export const APGD_STEPS: ParamSpec = { type: 'integer', minimum: 1, maximum: 10_000, default: 100, description: 'iterations per run (APGD, FAB)' };
export const TARGETS: ParamSpec = {
  type: 'integer',
  minimum: 1,
  maximum: 999,
  default: 9,
  description: 'how many of the most likely other classes to try as targets, one after another (at most classes − 1)',
};

export const apgdCe = defineAttack<{ [k: string]: number; steps: number }>({
  name: 'apgd-ce',
  paper: 'Croce & Hein 2020 (AutoAttack), APGD with cross-entropy',
  kind: 'fixed-epsilon',
  norms: ['linf', 'l2'],
  defaultNorm: 'linf',
  targetable: true,
  params: { steps: APGD_STEPS },
  iterationFactors: ['steps'],
  run: async (c, p) => {
    const adversarial = await apgd(c.model, c.x0, {
      norm: c.norm,
      epsilon: c.epsilon!,
      steps: p.steps,
      loss: (logits) => c.criterion.loss(logits),
      isAdversarial: (predicted, i) => c.criterion.isAdversarial(predicted, i),
      seed: c.seed,
      bounds: c.bounds,
      deadline: c.deadline,
      onStep: c.onStep,
    });
    return { adversarial, iterations: p.steps };
  },
});

/** The images of a batch not yet broken, as a sub-batch, with a way to write results back. */
export function subBatch(x: tf.Tensor4D, indices: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.gather(x, tf.tensor1d(indices, 'int32')) as tf.Tensor4D);
}

/** Writes `part` (rows for `indices`) into `whole`, returning a new tensor; disposes neither. */
export function scatterRows(whole: tf.Tensor4D, part: tf.Tensor4D, indices: number[]): tf.Tensor4D {
  return tf.tidy(() => {
    const rows = tf.unstack(whole);
    const parts = tf.unstack(part);
    indices.forEach((row, j) => {
      rows[row] = parts[j]!;
    });
    return tf.stack(rows) as tf.Tensor4D;
  });
}

/** The classes ranked by clean logit per image, without the image's own label. */
export function rankedOthers(c: AttackContext, labels: number[]): number[][] {
  const ranked = tf.tidy(() => {
    const logits = c.model.logits(c.x0);
    return tf.topk(logits, logits.shape[1]).indices.arraySync();
  });
  return ranked.map((row, i) => row.filter((k) => k !== labels[i]));
}

/** Whether each image of `x` is adversarial under the context's criterion. */
export function adversarialMask(c: AttackContext, x: tf.Tensor4D): boolean[] {
  return criterionMask(c.model, c.criterion, x);
}

export const apgdT = defineAttack<{ [k: string]: number; steps: number; targets: number }>({
  name: 'apgd-t',
  paper: 'Croce & Hein 2020 (AutoAttack), APGD with the targeted DLR loss',
  kind: 'fixed-epsilon',
  norms: ['linf', 'l2'],
  defaultNorm: 'linf',
  targetable: false,
  params: { steps: APGD_STEPS, targets: TARGETS },
  iterationFactors: ['steps', 'targets'],
  run: async (c, p) => {
    const labels = c.criterion.classes;
    const others = rankedOthers(c, labels);
    const targetCount = Math.min(p.targets, others[0]!.length);
    let result = tf.clone(c.x0);
    let broken = adversarialMask(c, result);
    let iterations = 0;
    try {
      for (let t = 0; t < targetCount; t++) {
        const open = broken.flatMap((b, i) => (b ? [] : [i]));
        if (open.length === 0) break;
        const x = subBatch(c.x0, open);
        const openLabels = open.map((i) => labels[i]!);
        const targets = open.map((i) => others[i]![t]!);
        let found: tf.Tensor4D;
        try {
          found = await apgd(c.model, x, {
            norm: c.norm,
            epsilon: c.epsilon!,
            steps: p.steps,
            loss: (logits) => targetedDlrLoss(logits, openLabels, targets),
            isAdversarial: (predicted, j) => c.criterion.isAdversarial(predicted, open[j]!),
            seed: c.seed + t,
            bounds: c.bounds,
            deadline: c.deadline,
            onStep: (s) => c.onStep({ ...s, step: t * p.steps + s.step, steps: targetCount * p.steps }),
          });
        } finally {
          x.dispose();
        }
        iterations += p.steps;
        const merged = scatterRows(result, found, open);
        found.dispose();
        result.dispose();
        result = merged;
        broken = adversarialMask(c, result);
      }
      const out = result;
      result = undefined as unknown as tf.Tensor4D;
      return { adversarial: out, iterations };
    } finally {
      result?.dispose();
    }
  },
});
