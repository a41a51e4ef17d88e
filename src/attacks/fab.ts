/**
 * FAB-T, the targeted Fast Adaptive Boundary attack (Croce & Hein 2020, "Minimally distorted
 * adversarial examples with a fast adaptive boundary attack", ICML) — AutoAttack's third stage.
 * A minimization attack, L∞ and L2: it looks for the smallest perturbation that changes the
 * class, so its answer is judged at every ε of a request (and at ε inside AutoAttack).
 *
 * For each of the `targets` most likely other classes t (ranked at the clean image, one after
 * another on the images not yet broken), from x = x₀ for `steps` iterations: linearise
 * f = z_t − z_y at x (gradient w), project both x and x₀ onto the hyperplane f + w·(·) = 0
 * (δ and δ₀), and step to (1 − α)(x + η·δ) + α(x₀ + η·δ₀) with α = min(‖δ‖/(‖δ‖ + ‖δ₀‖), αmax),
 * clipped to the value range; when the point is adversarial, keep it if it is the smallest so far
 * and step back towards x₀: x ← (1 − β)x₀ + βx. Defaults as in AutoAttack: 100 steps, 9 targets,
 * η = 1.05, αmax = 0.1, β = 0.9, no random restarts.
 * Simplification, said plainly: the projection onto the hyperplane ignores the box [lo, hi] and
 * the result is clipped afterwards; the paper projects onto the hyperplane ∩ box exactly.
 * Images it never breaks are answered with x₀ (no perturbation found).
 * Cost: steps × targets gradient iterations.
 */
import * as tf from '@tensorflow/tfjs';
import { classMask } from '../model/class-mask.ts';
import { nextTick } from './gradient-descent.ts';
import { exactSign, type NormName } from './norms.ts';
import { adversarialMask, APGD_STEPS, rankedOthers, TARGETS } from './apgd.ts';
import { defineAttack, type AttackContext } from './spec.ts';

const ETA = 1.05;
const ALPHA_MAX = 0.1;
const BETA = 0.9;

function sizes(d: tf.Tensor2D, norm: NormName): tf.Tensor1D {
  return (norm === 'linf' ? tf.max(tf.abs(d), 1) : tf.sqrt(tf.sum(tf.square(d), 1))) as tf.Tensor1D;
}

/** The step onto the hyperplane f + w·δ = 0 of smallest `norm`, per row ([N, D], f [N]). */
function toHyperplane(f: tf.Tensor1D, w: tf.Tensor2D, norm: NormName): tf.Tensor2D {
  if (norm === 'linf') {
    const l1 = tf.maximum(tf.sum(tf.abs(w), 1, true), 1e-12);
    return tf.mul(exactSign(w), tf.div(tf.neg(tf.expandDims(f, 1)), l1)) as tf.Tensor2D;
  }
  const sq = tf.maximum(tf.sum(tf.square(w), 1, true), 1e-12);
  return tf.mul(w, tf.div(tf.neg(tf.expandDims(f, 1)), sq)) as tf.Tensor2D;
}

/** One FAB-T run against one target per image, on a sub-batch; returns the smallest adversarial per image (or null). */
async function fabTarget(c: AttackContext, x0: tf.Tensor2D, shape: [number, number, number], labels: number[], targets: number[], rows: number[], steps: number, progress: (step: number) => void) {
  const [lo, hi] = c.bounds;
  const n = labels.length;
  const classes = c.model.manifest.labels.length;
  const diff = tf.tidy(() => tf.sub(classMask(targets, classes), classMask(labels, classes)));
  const margins = (flat: tf.Tensor) => tf.sum(tf.mul(c.model.logits(tf.reshape(flat, [n, ...shape]) as tf.Tensor4D), diff), 1) as tf.Tensor1D;
  const bestNorm = new Array<number>(n).fill(Infinity);
  const best = new Array<Float32Array | null>(n).fill(null);
  let x = tf.clone(x0);
  try {
    for (let step = 1; step <= steps; step++) {
      c.deadline.check();
      const next = tf.tidy(() => {
        // f is kept past the gradient's own scope, then left to this tidy.
        let f: tf.Tensor1D | undefined;
        const { grad } = tf.valueAndGrad((input: tf.Tensor) => {
          f = tf.keep(margins(input));
          return tf.sum(f) as tf.Scalar;
        })(x);
        const kept = f!;
        f = tf.clone(kept);
        kept.dispose();
        const w = grad as tf.Tensor2D;
        const delta = toHyperplane(f, w, c.norm);
        const deltaOrig = toHyperplane(tf.add(f, tf.sum(tf.mul(w, tf.sub(x0, x)), 1)) as tf.Tensor1D, w, c.norm);
        const a = sizes(delta, c.norm);
        const b = sizes(deltaOrig, c.norm);
        const alpha = tf.expandDims(tf.minimum(tf.div(a, tf.maximum(tf.add(a, b), 1e-12)), ALPHA_MAX), 1);
        const moved = tf.add(tf.mul(tf.add(x, tf.mul(delta, ETA)), tf.sub(1, alpha)), tf.mul(tf.add(x0, tf.mul(deltaOrig, ETA)), alpha));
        return tf.clipByValue(moved, lo, hi) as tf.Tensor2D;
      });
      x.dispose();
      x = next;
      const predicted = tf.tidy(() => tf.argMax(c.model.logits(tf.reshape(x, [n, ...shape]) as tf.Tensor4D), 1).dataSync());
      const adversarial = Array.from(predicted, (p, j) => c.criterion.isAdversarial(p, rows[j]!));
      if (adversarial.some(Boolean)) {
        const norms = tf.tidy(() => sizes(tf.sub(x, x0) as tf.Tensor2D, c.norm).dataSync());
        const data = x.dataSync() as Float32Array;
        const d = data.length / n;
        adversarial.forEach((adv, j) => {
          if (adv && norms[j]! < bestNorm[j]!) {
            bestNorm[j] = norms[j]!;
            best[j] = data.slice(j * d, (j + 1) * d);
          }
        });
        // Step back towards x₀ where adversarial, to look for a smaller perturbation.
        const back = tf.tidy(() => {
          const m = tf.tensor2d(adversarial.map(Number), [n, 1]);
          return tf.add(tf.mul(tf.add(tf.mul(x0, 1 - BETA), tf.mul(x, BETA)), m), tf.mul(x, tf.sub(1, m))) as tf.Tensor2D;
        });
        x.dispose();
        x = back;
      }
      progress(step);
      await nextTick();
    }
  } finally {
    x.dispose();
    diff.dispose();
  }
  return best;
}

export const fabT = defineAttack<{ [k: string]: number; steps: number; targets: number }>({
  name: 'fab-t',
  paper: 'Croce & Hein 2020 (FAB), targeted version as in AutoAttack',
  kind: 'minimization',
  norms: ['linf', 'l2'],
  defaultNorm: 'linf',
  targetable: false,
  params: { steps: APGD_STEPS, targets: TARGETS },
  iterationFactors: ['steps', 'targets'],
  run: async (c, p) => {
    const [n, h, w, ch] = c.x0.shape;
    const shape: [number, number, number] = [h, w, ch];
    const d = shape.reduce((a, b) => a * b, 1);
    const labels = c.criterion.classes;
    const others = rankedOthers(c, labels);
    const targetCount = Math.min(p.targets, others[0]!.length);
    const result = Float32Array.from(c.x0.dataSync());
    const found = adversarialMask(c, c.x0);
    let iterations = 0;
    for (let t = 0; t < targetCount; t++) {
      const open = found.flatMap((f, i) => (f ? [] : [i]));
      if (open.length === 0) break;
      const x0 = tf.tidy(() => tf.reshape(tf.gather(c.x0, tf.tensor1d(open, 'int32')), [open.length, d]) as tf.Tensor2D);
      let best: (Float32Array | null)[];
      try {
        best = await fabTarget(c, x0, shape, open.map((i) => labels[i]!), open.map((i) => others[i]![t]!), open, p.steps, (s) =>
          c.onStep({ step: t * p.steps + s, steps: targetCount * p.steps, loss: open.length }));
      } finally {
        x0.dispose();
      }
      iterations += p.steps;
      best.forEach((b, j) => {
        if (!b) return;
        result.set(b, open[j]! * d);
        found[open[j]!] = true;
      });
    }
    return { adversarial: tf.tensor4d(result, [n, h, w, ch]), iterations };
  },
});
