/**
 * The Auto-PGD loop (Croce & Hein 2020, Algorithm 1; `autopgd_base.py` of the AutoAttack code),
 * L∞ and L2, on any per-image loss. Differences from PGD that make it parameter-free:
 * - momentum: x⁽ᵏ⁺¹⁾ = P(x⁽ᵏ⁾ + α(z⁽ᵏ⁺¹⁾ − x⁽ᵏ⁾) + (1 − α)(x⁽ᵏ⁾ − x⁽ᵏ⁻¹⁾)), α = 0.75, where
 *   z⁽ᵏ⁺¹⁾ = P(x⁽ᵏ⁾ + η⁽ᵏ⁾·normalize(∇));
 * - step size per image, starting at η = 2ε, halved at checkpoints w_j (p₀ = 0, p₁ = 0.22,
 *   p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06), w_j = p_j·N; `apgdCheckpoints`) when the loss rose in fewer
 *   than ρ = 75% of the steps since the last checkpoint, or when the step was not halved last time
 *   and the best loss has not improved since; a halving restarts from the best point found;
 * - a uniformly random start, and the best-loss point kept (not the last).
 * Any iterate that the criterion calls adversarial is kept as that image's answer (the first
 * adversarial found is replaced only by later adversarial points, as in the reference code).
 * Costs `steps` + 1 gradient evaluations. Tensors: x0 is the caller's; the result is theirs.
 */
import * as tf from '@tensorflow/tfjs';
import type { Deadline } from '../deadline.ts';
import type { ImageModel } from '../model/image-model.ts';
import { lossOnHostLogits } from '../model/input-gradient-program.ts';
import { argMaxRows, nextTick, type StepInfo } from './gradient-descent.ts';
import { NORM_BY_NAME, type NormName } from './norms.ts';

export interface ApgdOptions {
  norm: NormName;
  epsilon: number;
  steps: number;
  /** Per-image loss to maximise, from logits [N, K]. */
  loss: (logits: tf.Tensor2D) => tf.Tensor1D;
  /** Whether each image's predicted class is adversarial. */
  isAdversarial: (predicted: number, index: number) => boolean;
  seed: number;
  bounds: [number, number];
  deadline: Deadline;
  onStep?: (info: StepInfo) => void;
}

export const APGD_MOMENTUM = 0.75;
export const APGD_RHO = 0.75;

/**
 * The iterations after which APGD checks its step size (w_j, without w₀ = 0), in the reference
 * code's integer form: the first interval is ⌊0.22·N⌋, each next one ⌊0.03·N⌋ shorter, never
 * under ⌊0.06·N⌋ (for N = 100: 22, 41, 57, 70, 80, 87, 93, 99).
 */
export function apgdCheckpoints(steps: number): number[] {
  const points: number[] = [];
  let interval = Math.max(Math.floor(0.22 * steps), 1);
  const shortest = Math.max(Math.floor(0.06 * steps), 1);
  const decrease = Math.max(Math.floor(0.03 * steps), 1);
  for (let at = interval; at < steps; at += interval) {
    points.push(at);
    interval = Math.max(interval - decrease, shortest);
  }
  return points;
}

/** A random start: uniform direction of L∞ (or L2) size ε around x0, clipped to the value range. */
function randomStart(x0: tf.Tensor4D, norm: NormName, epsilon: number, seed: number, bounds: [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const t = tf.sub(tf.mul(tf.randomUniform(x0.shape, 0, 1, 'float32', seed), 2), 1);
    const size = norm === 'linf' ? tf.max(tf.abs(t), [1, 2, 3], true) : tf.sqrt(tf.sum(tf.square(t), [1, 2, 3], true));
    return tf.clipByValue(tf.add(x0, tf.mul(tf.div(t, tf.maximum(size, 1e-12)), epsilon)), bounds[0], bounds[1]) as tf.Tensor4D;
  });
}

const column = (values: ArrayLike<number>, n: number) => tf.tensor4d(Float32Array.from(values), [n, 1, 1, 1]);

export async function apgd(model: ImageModel, x0: tf.Tensor4D, o: ApgdOptions): Promise<tf.Tensor4D> {
  const n = x0.shape[0];
  const norm = NORM_BY_NAME[o.norm];
  const [lo, hi] = o.bounds;
  // Each point's gradient, losses and predictions from one forward pass: through the model's
  // direct input gradient where it has one (no gradient tape, input-gradient-program.ts), the
  // loss differentiated on the logits alone; else recorded end to end.
  const read = (x: tf.Tensor4D): { grad: tf.Tensor4D; losses: number[]; predicted: number[] } => {
    let losses: number[] = [];
    let predicted: number[] = [];
    const direct = tf.tidy(() =>
      model.directInputGradient(x, (z, rows, classes) => {
        predicted = argMaxRows(z, rows, classes);
        const head = lossOnHostLogits(o.loss, z, rows, classes);
        losses = Array.from(head.losses);
        return head.dLogits;
      })?.grad,
    );
    if (direct) return { grad: direct, losses, predicted };
    const r = tf.tidy(() => {
      // (kept: the gradient's own scope would dispose it)
      let logits: tf.Tensor2D | undefined;
      const { grad } = tf.valueAndGrad((input: tf.Tensor) => {
        logits = tf.keep(model.logits(input as tf.Tensor4D));
        return tf.sum(o.loss(logits)) as tf.Scalar;
      })(x);
      try {
        return { grad: grad as tf.Tensor4D, losses: o.loss(logits!), predicted: tf.argMax(logits!, 1) as tf.Tensor1D };
      } finally {
        logits?.dispose();
      }
    });
    losses = Array.from(r.losses.dataSync());
    predicted = Array.from(r.predicted.dataSync());
    r.losses.dispose();
    r.predicted.dispose();
    return { grad: r.grad, losses, predicted };
  };
  const checkpoints = new Set(apgdCheckpoints(o.steps));
  const held: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T) => (held.push(t), t);
  const replace = <T extends tf.Tensor>(old: T, next: T) => {
    held.splice(held.indexOf(old), 1);
    old.dispose();
    return keep(next);
  };
  try {
    let x = keep(randomStart(x0, o.norm, o.epsilon, o.seed, o.bounds));
    const first = read(x);
    let grad = keep(first.grad);
    let xPrevious = keep(tf.clone(x));
    let xBest = keep(tf.clone(x));
    let gradBest = keep(tf.clone(grad));
    let xBestAdv = keep(tf.clone(x0));
    let lossBest = first.losses.slice();
    let lossCurrent = first.losses.slice();
    let fooled = first.predicted.map((p, i) => o.isAdversarial(p, i));
    const takeWhere = (mask: boolean[], from: tf.Tensor4D, into: tf.Tensor4D) =>
      tf.tidy(() => {
        const m = column(mask.map(Number), n);
        return tf.add(tf.mul(from, m), tf.mul(into, tf.sub(1, m))) as tf.Tensor4D;
      });
    if (fooled.some(Boolean)) xBestAdv = replace(xBestAdv, takeWhere(fooled, x, xBestAdv));
    const stepSize = new Array<number>(n).fill(2 * o.epsilon);
    let increases = new Array<number>(n).fill(0);
    let lossBestAtCheck = lossBest.slice();
    let reducedAtCheck = new Array<boolean>(n).fill(true);
    for (let k = 0; k < o.steps; k++) {
      o.deadline.check();
      const alpha = k === 0 ? 1 : APGD_MOMENTUM;
      const next = tf.tidy(() => {
        const eta = column(stepSize, n);
        const z = tf.clipByValue(norm.project(x0, tf.add(x, tf.mul(norm.normalize(grad), eta)) as tf.Tensor4D, o.epsilon), lo, hi);
        const moved = tf.add(tf.add(x, tf.mul(tf.sub(z, x), alpha)), tf.mul(tf.sub(x, xPrevious), 1 - alpha)) as tf.Tensor4D;
        return tf.clipByValue(norm.project(x0, moved, o.epsilon), lo, hi) as tf.Tensor4D;
      });
      const stale = xPrevious;
      xPrevious = x;
      x = keep(next);
      held.splice(held.indexOf(stale), 1);
      stale.dispose();
      const r = read(x);
      grad = replace(grad, r.grad);
      const newlyFooled = r.predicted.map((p, i) => o.isAdversarial(p, i));
      const improved = r.losses.map((l, i) => l > lossBest[i]!);
      r.losses.forEach((l, i) => {
        if (l > lossCurrent[i]!) increases[i]!++;
      });
      lossCurrent = r.losses;
      if (newlyFooled.some(Boolean)) {
        xBestAdv = replace(xBestAdv, takeWhere(newlyFooled, x, xBestAdv));
        fooled = fooled.map((f, i) => f || newlyFooled[i]!);
      }
      if (improved.some(Boolean)) {
        xBest = replace(xBest, takeWhere(improved, x, xBest));
        gradBest = replace(gradBest, takeWhere(improved, grad, gradBest));
        lossBest = lossBest.map((b, i) => (improved[i] ? r.losses[i]! : b));
      }
      if (checkpoints.has(k + 1)) {
        const sinceLast = Math.max(1, k + 1 - lastCheckpoint(checkpoints, k + 1));
        const halve = lossBest.map((b, i) => increases[i]! < APGD_RHO * sinceLast || (!reducedAtCheck[i] && lossBestAtCheck[i]! >= b));
        reducedAtCheck = halve;
        lossBestAtCheck = lossBest.slice();
        increases = increases.map(() => 0);
        if (halve.some(Boolean)) {
          halve.forEach((h, i) => {
            if (h) stepSize[i] = stepSize[i]! / 2;
          });
          x = replace(x, takeWhere(halve, xBest, x));
          grad = replace(grad, takeWhere(halve, gradBest, grad));
        }
      }
      o.onStep?.({ step: k + 1, steps: o.steps, loss: lossCurrent.reduce((a, b) => a + b, 0) / n, predicted: r.predicted });
      await nextTick();
    }
    // Adversarial images answer with their adversarial point, the others with their best-loss point.
    return takeWhere(fooled, xBestAdv, xBest);
  } finally {
    tf.dispose(held);
  }
}

/** The checkpoint before `w` (0 for the first). */
function lastCheckpoint(checkpoints: Set<number>, w: number): number {
  let previous = 0;
  for (const c of [...checkpoints].sort((a, b) => a - b)) {
    if (c >= w) break;
    previous = c;
  }
  return previous;
}
