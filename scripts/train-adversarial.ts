/**
 * PGD adversarial training's inner maximisation (Madry et al., "Towards Deep Learning Models
 * Resistant to Adversarial Attacks", ICLR 2018): for each training batch, L∞ PGD from a uniform
 * random start in the ε-ball, `steps` signed-gradient steps of cross-entropy, each projected back
 * into the ball and into [0, 1]; the optimiser then trains on the result only.
 *
 * The schedule is the one `scripts/train.ts` states in its header: ε ramps linearly from 0 to its
 * target over the first `rampEpochs` epochs (per step, as in the fast-adversarial-training
 * literature: a model that has not yet learnt digits cannot be trained against ε = 0.3 at once),
 * and the step size is 2.5·ε/steps, Madry's rule (it lets PGD travel the ball's diameter).
 *
 * The random start comes from a seeded generator in JavaScript, so a resumed run draws the same
 * starts as an uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../src/datasets/image-set.ts';
import { seededRandom, type Random } from '../src/datasets/seeded.ts';

export interface AdversarialRecipe {
  /** The target L∞ radius in pixel units ([0, 1] images). */
  epsilon: number;
  /** PGD iterations per training batch. */
  steps: number;
  /** Epochs over which ε grows linearly from 0 to `epsilon`. */
  rampEpochs: number;
  /**
   * TRADES (Zhang et al. 2019) instead of Madry's objective: the inner maximisation pushes the
   * KL divergence from the clean prediction, and the model trains on CE(clean) + β·KL(clean‖adv).
   * Absent: Madry's PGD training (cross-entropy on the PGD examples only).
   */
  tradesBeta?: number;
}

/** ε for optimiser step `step` (0-based) of a run with `batchesPerEpoch` batches an epoch. */
export function epsilonAt(recipe: AdversarialRecipe, step: number, batchesPerEpoch: number): number {
  const rampSteps = recipe.rampEpochs * batchesPerEpoch;
  if (rampSteps <= 0) return recipe.epsilon;
  return recipe.epsilon * Math.min(1, (step + 1) / rampSteps);
}

/**
 * L∞ PGD examples for `pixels` ([n, 28, 28, 1] values) with labels `labels`, against `model` in
 * inference mode (no dropout while attacking). Returns a new Float32Array; no tensor survives.
 */
export function pgdExamples(
  model: tf.LayersModel,
  pixels: Float32Array,
  labels: Int32Array,
  classes: number,
  epsilon: number,
  steps: number,
  random: Random,
): Float32Array {
  const n = labels.length;
  const start = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) start[i] = Math.min(1, Math.max(0, pixels[i]! + (2 * random() - 1) * epsilon));
  if (epsilon === 0 || steps === 0) return start;
  const stepSize = (2.5 * epsilon) / steps;
  const result = tf.tidy(() => {
    const x0 = tf.tensor4d(pixels, [n, 28, 28, 1]);
    const lower = tf.maximum(x0.sub(epsilon), 0);
    const upper = tf.minimum(x0.add(epsilon), 1);
    const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
    const lossGradient = tf.grad((x: tf.Tensor) => tf.losses.softmaxCrossEntropy(oneHot, model.apply(x, { training: false }) as tf.Tensor2D) as tf.Scalar);
    let x: tf.Tensor = tf.tensor4d(start, [n, 28, 28, 1]);
    for (let s = 0; s < steps; s++) {
      const previous = x;
      x = tf.tidy(() => tf.minimum(tf.maximum(previous.add(tf.sign(lossGradient(previous)).mul(stepSize)), lower), upper));
      previous.dispose();
    }
    return x;
  });
  const values = result.dataSync() as Float32Array;
  result.dispose();
  return Float32Array.from(values);
}

/**
 * TRADES' inner maximisation (Zhang et al. 2019, Algorithm 1): from x + 0.001·N(0, 1) (a seeded
 * Box–Muller draw, so a resumed run draws the same), `steps` signed-gradient steps of
 * KL(softmax(f(x)) ‖ softmax(f(x'))) with step 2.5·ε/steps, each projected into the ε-ball and
 * [0, 1]; the model runs in inference mode while attacking. Returns a new Float32Array; no tensor
 * survives.
 */
export function tradesExamples(
  model: tf.LayersModel,
  pixels: Float32Array,
  epsilon: number,
  steps: number,
  random: Random,
): Float32Array {
  const n = pixels.length / (28 * 28);
  const start = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const gaussian = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    start[i] = Math.min(1, Math.max(0, pixels[i]! + 0.001 * gaussian));
  }
  if (epsilon === 0 || steps === 0) return start;
  const stepSize = (2.5 * epsilon) / steps;
  const result = tf.tidy(() => {
    const x0 = tf.tensor4d(pixels, [n, 28, 28, 1]);
    const lower = tf.maximum(x0.sub(epsilon), 0);
    const upper = tf.minimum(x0.add(epsilon), 1);
    const cleanProbabilities = tf.softmax(model.apply(x0, { training: false }) as tf.Tensor2D);
    const klGradient = tf.grad((x: tf.Tensor) => klFrom(cleanProbabilities, model.apply(x, { training: false }) as tf.Tensor2D));
    let x: tf.Tensor = tf.tensor4d(start, [n, 28, 28, 1]);
    for (let s = 0; s < steps; s++) {
      const previous = x;
      x = tf.tidy(() => tf.minimum(tf.maximum(previous.add(tf.sign(klGradient(previous)).mul(stepSize)), lower), upper));
      previous.dispose();
    }
    return x;
  });
  const values = result.dataSync() as Float32Array;
  result.dispose();
  return Float32Array.from(values);
}

/** Σ KL(p ‖ softmax(logits)) over the batch, divided by the batch size (PyTorch's 'batchmean'). */
export function klFrom(p: tf.Tensor2D, logits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const logQ = tf.logSoftmax(logits);
    const logP = tf.log(tf.maximum(p, 1e-12));
    return tf.sum(tf.mul(p, tf.sub(logP, logQ))).div(p.shape[0]) as tf.Scalar;
  });
}

/**
 * Accuracy of `model` on `set` under L∞ PGD-`steps` at `epsilon` (random start from `seed`, step
 * 2.5·ε/steps), in batches of 100; disposes `model`. An image counts robust when the PGD example
 * is still classified correctly (a misclassified clean image usually stays misclassified).
 */
export function pgdAccuracy(model: tf.LayersModel, set: ImageSet, classes: number, epsilon: number, steps: number, seed: string): { correct: number; total: number; accuracy: number } {
  const random = seededRandom(seed);
  const size = set.height * set.width;
  let correct = 0;
  try {
    for (let start = 0; start < set.count; start += 100) {
      const n = Math.min(100, set.count - start);
      const labels = Int32Array.from(set.labels.subarray(start, start + n));
      const adversarial = pgdExamples(model, set.images.subarray(start * size, (start + n) * size), labels, classes, epsilon, steps, random);
      correct += tf.tidy(() => {
        const predicted = tf.argMax(model.predict(tf.tensor4d(adversarial, [n, set.height, set.width, 1])) as tf.Tensor2D, -1);
        return tf.sum(tf.cast(tf.equal(predicted, tf.tensor1d(labels, 'int32')), 'int32')).dataSync()[0]!;
      });
    }
  } finally {
    model.dispose();
  }
  return { correct, total: set.count, accuracy: correct / set.count };
}
