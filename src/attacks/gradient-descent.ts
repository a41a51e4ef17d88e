/**
 * The one descent loop behind every gradient attack (Foolbox `gradient_descent_base.py`): from x0
 * (or a random point of the ε-ball), repeat `steps` times: take the gradient of the criterion's
 * loss, turn it into a step with the norm's `normalize` (optionally through MI-FGSM's momentum),
 * move by `stepSize`, project back into the ε-ball and clip to the value range. FGSM, BIM, PGD and
 * MI-FGSM are settings of this loop.
 *
 * The loop yields to the event loop after each step, so long attacks do not block other requests,
 * progress can be streamed, and a cancelled request (deadline or client gone) stops within a step.
 * Tensors: x0 [N, H, W, C] is the caller's; the returned tensor is the caller's to dispose.
 */
import * as tf from '@tensorflow/tfjs';
import type { Deadline } from '../deadline.ts';
import type { ImageModel } from '../model/image-model.ts';
import type { Criterion } from './criteria.ts';
import type { Norm } from './norms.ts';

export interface StepInfo {
  step: number;
  steps: number;
  /** Mean loss over the batch before the step. */
  loss: number;
  /** Per-image predicted class before the step (only when `wantPredictions`). */
  predicted?: number[];
}

export interface DescentOptions {
  norm: Norm;
  epsilon: number;
  steps: number;
  stepSize: number;
  randomStart: boolean;
  seed: number;
  /** MI-FGSM decay factor μ; 0 = plain gradient. */
  momentum: number;
  bounds: [number, number];
  deadline: Deadline;
  onStep?: (info: StepInfo) => void;
  wantPredictions?: boolean;
}

/** Each row's first largest value's index, as tf.argMax. */
export function argMaxRows(values: Float32Array, rows: number, classes: number): number[] {
  return Array.from({ length: rows }, (_, i) => {
    let best = 0;
    for (let j = 1; j < classes; j++) if (values[i * classes + j]! > values[i * classes + best]!) best = j;
    return best;
  });
}

export const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function gradientDescent(model: ImageModel, x0: tf.Tensor4D, criterion: Criterion, o: DescentOptions): Promise<tf.Tensor4D> {
  const [lo, hi] = o.bounds;
  let x = tf.tidy(() => (o.randomStart ? tf.clipByValue(o.norm.randomStart(x0, o.epsilon, o.seed), lo, hi) : tf.clone(x0)));
  let velocity: tf.Tensor4D | undefined = o.momentum > 0 ? tf.zerosLike(x0) : undefined;
  const lossAndGrad = tf.valueAndGrad((input: tf.Tensor) => tf.sum(criterion.loss(model.logits(input as tf.Tensor4D))) as tf.Scalar);
  try {
    for (let step = 1; step <= o.steps; step++) {
      o.deadline.check();
      let loss = 0;
      let predicted: number[] | undefined;
      const [nextX, nextVelocity] = tf.tidy(() => {
        let direction: tf.Tensor4D;
        // The model's direct input gradient where it has one (no gradient tape; the same values).
        const direct = model.directInputGradient(x, (logits, rows, classes) => {
          const { losses, dLogits } = criterion.hostLoss(logits, rows, classes);
          loss = losses.reduce((a, b) => a + b, 0) / rows;
          if (o.wantPredictions) predicted = argMaxRows(logits, rows, classes);
          return dLogits;
        });
        if (direct) {
          direction = direct.grad;
        } else {
          const { value, grad } = lossAndGrad(x);
          loss = value.dataSync()[0]! / x0.shape[0];
          if (o.wantPredictions) predicted = Array.from(tf.argMax(model.logits(x), 1).dataSync());
          direction = grad as tf.Tensor4D;
        }
        let v: tf.Tensor4D | undefined;
        if (velocity) {
          // MI-FGSM: g ← μ·g + ∇/‖∇‖₁ (per image), then step along normalize(g).
          const l1 = tf.maximum(tf.mean(tf.abs(direction), [1, 2, 3], true), 1e-12);
          v = tf.add(tf.mul(velocity, o.momentum), tf.div(direction, l1)) as tf.Tensor4D;
          direction = v;
        }
        const projected = o.norm.ascend
          ? o.norm.ascend(x0, x, direction, o.stepSize, o.epsilon, o.bounds)
          : (tf.clipByValue(o.norm.project(x0, tf.add(x, tf.mul(o.norm.normalize(direction), o.stepSize)) as tf.Tensor4D, o.epsilon), lo, hi) as tf.Tensor4D);
        return v ? [projected, v] : [projected];
      });
      x.dispose();
      x = nextX!;
      if (velocity) {
        velocity.dispose();
        velocity = nextVelocity;
      }
      o.onStep?.({ step, steps: o.steps, loss, ...(predicted ? { predicted } : {}) });
      await nextTick();
    }
    return x;
  } catch (err) {
    x.dispose();
    throw err;
  } finally {
    velocity?.dispose();
  }
}
