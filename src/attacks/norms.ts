/**
 * The threat models, as small objects (Foolbox `distances.py` and the L∞/L2 halves of
 * `gradient_descent_base.py`): how a gradient becomes a step (`normalize`), how a point is put
 * back into the ε-ball (`project`), where a random start lands, and the distance itself.
 * All tensors are batches [N, H, W, C]; ε is per batch (one number), in the model's value units.
 */
import * as tf from '@tensorflow/tfjs';
import { seededNormal } from '../model/seeded-noise.ts';

export const NORMS = ['linf', 'l2'] as const;
export type NormName = (typeof NORMS)[number];

export interface Norm {
  name: NormName;
  /** The steepest-ascent direction of unit norm for a gradient. */
  normalize(grad: tf.Tensor4D): tf.Tensor4D;
  /** Projects x onto the ε-ball around x0. */
  project(x0: tf.Tensor4D, x: tf.Tensor4D, epsilon: number): tf.Tensor4D;
  /**
   * One projected ascent step, clip(project(x0, x + stepSize · normalize(grad), ε), bounds), as
   * one pass where the norm has one (L∞); undefined: compose the methods above.
   */
  ascend?(x0: tf.Tensor4D, x: tf.Tensor4D, grad: tf.Tensor4D, stepSize: number, epsilon: number, bounds: [number, number]): tf.Tensor4D;
  /** A uniformly random point of the ε-ball around x0 (seeded). */
  randomStart(x0: tf.Tensor4D, epsilon: number, seed: number): tf.Tensor4D;
  /** Per-image distance [N]. */
  distance(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor1D;
}

/**
 * sign(x) from comparisons. The stock wasm `Sign` kernel returns 0 for small magnitudes (measured:
 * sign(6.8e-9) = 0 on wasm, 1 on cpu), and the input gradient of a confidently classified image is
 * exactly that small, so FGSM-style steps built on `tf.sign` silently did nothing.
 */
export function exactSign<T extends tf.Tensor>(x: T): T {
  return tf.sub<T>(tf.cast(tf.greater(x, 0), 'float32'), tf.cast(tf.less(x, 0), 'float32'));
}

/** Per-image L2 norm, shaped [N, 1, 1, 1] for broadcasting. */
function l2PerImage(x: tf.Tensor4D): tf.Tensor4D {
  return tf.sqrt(tf.sum(tf.square(x), [1, 2, 3], true)) as tf.Tensor4D;
}

const f = Math.fround;

/**
 * The L∞ step on the host: x + α·sign(g), projected into [x0 − ε, x0 + ε], clipped to the bounds,
 * rounded to float32 after every operation exactly as the tensor ops (exactSign, mul, add, sub,
 * clipByValue, add, clipByValue) would, so the bits are theirs. Three reads and one upload instead
 * of eleven kernels: at batch 1 a PGD step's bookkeeping was a third of its time.
 */
function linfAscend(x0: tf.Tensor4D, x: tf.Tensor4D, grad: tf.Tensor4D, stepSize: number, epsilon: number, [lo, hi]: [number, number]): tf.Tensor4D {
  const [a, g, o] = [x.dataSync(), grad.dataSync(), x0.dataSync()];
  const alpha = f(stepSize);
  const [eps, lower, upper] = [f(epsilon), f(lo), f(hi)];
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const sign = g[i]! > 0 ? 1 : g[i]! < 0 ? -1 : 0;
    const moved = f(a[i]! + f(sign * alpha));
    const delta = Math.min(Math.max(f(moved - o[i]!), -eps), eps);
    out[i] = Math.min(Math.max(f(o[i]! + delta), lower), upper);
  }
  return tf.tensor4d(out, x.shape);
}

export const linf: Norm = {
  name: 'linf',
  normalize: (grad) => exactSign(grad),
  ascend: linfAscend,
  project: (x0, x, epsilon) => tf.add(x0, tf.clipByValue(tf.sub(x, x0), -epsilon, epsilon)) as tf.Tensor4D,
  randomStart: (x0, epsilon, seed) => tf.add(x0, tf.randomUniform(x0.shape, -epsilon, epsilon, 'float32', seed)) as tf.Tensor4D,
  distance: (a, b) => tf.max(tf.abs(tf.sub(a, b)), [1, 2, 3]) as tf.Tensor1D,
};

export const l2: Norm = {
  name: 'l2',
  normalize: (grad) => tf.div(grad, tf.maximum(l2PerImage(grad), 1e-12)) as tf.Tensor4D,
  project: (x0, x, epsilon) => {
    const delta = tf.sub(x, x0) as tf.Tensor4D;
    const factor = tf.minimum(1, tf.div(epsilon, tf.maximum(l2PerImage(delta), 1e-12)));
    return tf.add(x0, tf.mul(delta, factor)) as tf.Tensor4D;
  },
  randomStart: (x0, epsilon, seed) => {
    // Uniform in the ball: a Gaussian direction, radius ε·u^(1/d).
    const [n, h, w, c] = x0.shape;
    const d = h * w * c;
    const direction = seededNormal(x0.shape, 0, 1, seed) as tf.Tensor4D;
    const unit = tf.div(direction, tf.maximum(l2PerImage(direction), 1e-12));
    const radius = tf.mul(tf.pow(tf.randomUniform([n, 1, 1, 1], 0, 1, 'float32', seed + 1), 1 / d), epsilon);
    return tf.add(x0, tf.mul(unit, radius)) as tf.Tensor4D;
  },
  distance: (a, b) => tf.sqrt(tf.sum(tf.square(tf.sub(a, b)), [1, 2, 3])) as tf.Tensor1D,
};

export const NORM_BY_NAME: Record<NormName, Norm> = { linf, l2 };
