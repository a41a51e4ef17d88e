/**
 * Integrated gradients (Sundararajan et al. 2017): attribution_i = (x_i − x'_i) × ∫₀¹ ∂score/∂x_i
 * along the straight path from the baseline x' to x, approximated with the trapezoidal rule over
 * `steps` intervals (steps + 1 gradient evaluations, batched). Completeness: the attributions sum
 * to score(x) − score(x'), up to the approximation error (reported by the caller).
 */
import * as tf from '@tensorflow/tfjs';
import { scoreGradient } from './gradient.ts';
import type { AttributionMethod } from './method.ts';

export const DEFAULT_IG_STEPS = 64;
/** Path points evaluated in one batched gradient call. */
const CHUNK = 32;

export const integratedGradients: AttributionMethod = ({ model }, x, { targets, score, baseline, steps = DEFAULT_IG_STEPS }) => {
  const [n, h, w, c] = x.shape;
  const base = (baseline ?? tf.fill([h, w, c], model.manifest.input.range[0])) as tf.Tensor3D;
  const maps: tf.Tensor3D[] = [];
  for (let i = 0; i < n; i++) {
    const xi = tf.slice(x, [i, 0, 0, 0], [1, h, w, c]).reshape([h, w, c]) as tf.Tensor3D;
    const diff = tf.sub(xi, base);
    let total = tf.zeros([h, w, c]) as tf.Tensor3D;
    for (let start = 0; start <= steps; start += CHUNK) {
      const count = Math.min(CHUNK, steps + 1 - start);
      const previous = total;
      // Each chunk's intermediates are freed at once; only the running sum survives.
      total = tf.tidy(() => {
        const alphas = Array.from({ length: count }, (_, k) => (start + k) / steps);
        const weights = alphas.map((_, k) => (start + k === 0 || start + k === steps ? 0.5 : 1) / steps);
        const path = tf.add(base, tf.mul(tf.tensor4d(alphas, [count, 1, 1, 1]), diff)) as tf.Tensor4D;
        const grads = scoreGradient((input) => model.logits(input), path, new Array(count).fill(targets[i]), score);
        return tf.add(previous, tf.sum(tf.mul(grads, tf.tensor4d(weights, [count, 1, 1, 1])), 0)) as tf.Tensor3D;
      });
      previous.dispose();
    }
    maps.push(tf.mul(diff, total) as tf.Tensor3D);
  }
  return tf.stack(maps) as tf.Tensor4D;
};
