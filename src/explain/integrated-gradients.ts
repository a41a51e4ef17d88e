/**
 * Integrated gradients (Sundararajan et al. 2017): attribution_i = (x_i − x'_i) × ∫₀¹ ∂score/∂x_i
 * along the straight path from the baseline x' to x, approximated with the trapezoidal rule over
 * `steps` intervals (steps + 1 gradient evaluations, batched). Completeness: the attributions sum
 * to score(x) − score(x'), up to the quadrature error (reported by the caller).
 *
 * Why the grid is adaptive by default: a ReLU network's gradient jumps wherever a unit switches on
 * along the path, so the uniform rule's error shrinks only like 1/steps, and on the shipped models
 * nearly all of it sits in the first few percent of the path from a black baseline. The trapezoid
 * rule's error on an interval grows with how much the slope changes there, which the second
 * difference of the score measures (a jump in the slope shows up as a large second difference).
 * So the `adaptive` rule first evaluates the score along the path (forward passes only, 4 × steps
 * of them, cheap next to gradients) and places the steps + 1 gradient points so that half of them
 * are spread evenly and half follow |second difference| (equidistributing the error). Measured on
 * held-out MNIST digits at 64 steps: completeness error up to 2.6% uniform (16 digits); adaptive
 * at most 0.75%, mean 0.21% (32 digits).
 * `uniform` is the textbook α = k/steps.
 */
import * as tf from '@tensorflow/tfjs';
import { scoreGradient } from './gradient.ts';
import type { AttributionMethod } from './method.ts';
import { classScores, type ScoreKind } from './score.ts';
import type { ImageModel } from '../model/image-model.ts';

export const DEFAULT_IG_STEPS = 64;
export const IG_RULES = ['adaptive', 'uniform'] as const;
export type IgRule = (typeof IG_RULES)[number];
/** Path points evaluated in one batched call. */
const CHUNK = 32;

/** Points of the straight path base + α·diff for the given α, as a batch. */
function pathPoints(base: tf.Tensor3D, diff: tf.Tensor3D, alphas: number[]): tf.Tensor4D {
  return tf.add(base, tf.mul(tf.tensor4d(alphas, [alphas.length, 1, 1, 1]), diff)) as tf.Tensor4D;
}

/** α_0 = 0 < α_1 < … < α_steps = 1, denser where the score changes fastest. */
function adaptiveAlphas(model: ImageModel, base: tf.Tensor3D, diff: tf.Tensor3D, target: number, score: ScoreKind, steps: number): number[] {
  const fine = 4 * steps;
  const values: number[] = [];
  for (let start = 0; start <= fine; start += CHUNK * 4) {
    const alphas = Array.from({ length: Math.min(CHUNK * 4, fine + 1 - start) }, (_, k) => (start + k) / fine);
    const scores = tf.tidy(() => classScores(model.logits(pathPoints(base, diff, alphas)), new Array(alphas.length).fill(target), score));
    values.push(...(scores.dataSync() as Float32Array));
    scores.dispose();
  }
  // |second difference| around each fine interval: where the score's slope changes. Outside the
  // path the slope counts as 0, so the two ends weigh as much as their own slope (the score often
  // rises steeply right at a black baseline, where many units switch on at once).
  const slope = (j: number) => (j < 0 || j >= fine ? 0 : values[j + 1]! - values[j]!);
  const variation = Array.from({ length: fine }, (_, j) => Math.abs(slope(j + 1) - slope(j)) + Math.abs(slope(j) - slope(j - 1)));
  const total = variation.reduce((a, b) => a + b, 0);
  // Cumulative weight over the fine grid: half uniform, half the change of slope.
  const cumulative = [0];
  for (let j = 0; j < fine; j++) cumulative.push(cumulative[j]! + 0.5 / fine + (total > 0 ? (0.5 * variation[j]!) / total : 0.5 / fine));
  const scale = cumulative[fine]!;
  const alphas = [0];
  let j = 0;
  for (let k = 1; k < steps; k++) {
    const want = (k / steps) * scale;
    while (cumulative[j + 1]! < want) j++;
    const within = (want - cumulative[j]!) / (cumulative[j + 1]! - cumulative[j]!);
    alphas.push((j + within) / fine);
  }
  alphas.push(1);
  return alphas;
}

/** Trapezoidal weights for a non-uniform grid on [0, 1]. */
function trapezoidWeights(alphas: number[]): number[] {
  return alphas.map((_, k) => ((alphas[Math.min(k + 1, alphas.length - 1)]! - alphas[Math.max(k - 1, 0)]!) / 2));
}

export const integratedGradients: AttributionMethod = ({ model }, x, { targets, score, baseline, steps = DEFAULT_IG_STEPS, rule = 'adaptive' }) => {
  const [n, h, w, c] = x.shape;
  const base = (baseline ?? tf.fill([h, w, c], model.manifest.input.range[0])) as tf.Tensor3D;
  const maps: tf.Tensor3D[] = [];
  for (let i = 0; i < n; i++) {
    const xi = tf.slice(x, [i, 0, 0, 0], [1, h, w, c]).reshape([h, w, c]) as tf.Tensor3D;
    const diff = tf.sub(xi, base) as tf.Tensor3D;
    const alphas = rule === 'adaptive' ? adaptiveAlphas(model, base, diff, targets[i]!, score, steps) : Array.from({ length: steps + 1 }, (_, k) => k / steps);
    const weights = trapezoidWeights(alphas);
    let total = tf.zeros([h, w, c]) as tf.Tensor3D;
    for (let start = 0; start < alphas.length; start += CHUNK) {
      const previous = total;
      // Each chunk's intermediates are freed at once; only the running sum survives.
      total = tf.tidy(() => {
        const a = alphas.slice(start, start + CHUNK);
        const grads = scoreGradient((input) => model.logits(input), pathPoints(base, diff, a), new Array(a.length).fill(targets[i]), score);
        const wts = tf.tensor4d(weights.slice(start, start + CHUNK), [a.length, 1, 1, 1]);
        return tf.add(previous, tf.sum(tf.mul(grads, wts), 0)) as tf.Tensor3D;
      });
      previous.dispose();
    }
    maps.push(tf.mul(diff, total) as tf.Tensor3D);
  }
  return tf.stack(maps) as tf.Tensor4D;
};
