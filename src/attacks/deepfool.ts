/**
 * DeepFool (Moosavi-Dezfooli, Fawzi & Frossard 2016, "DeepFool: a simple and accurate method to
 * fool deep neural networks"), untargeted, L2 and L∞. Each step linearises the classifier around
 * the current point and moves to the nearest linearised decision boundary among the `candidates`
 * most likely other classes: r = (|f'_k| + 1e-4) / ‖w'_k‖² · w'_k (L2) or
 * (|f'_k| + 1e-4) / ‖w'_k‖₁ · sign(w'_k) (L∞), where f'_k = Z_k − Z_y and w'_k its input gradient.
 * The final perturbation is (1 + overshoot) × the accumulated r, clipped to the value range; an
 * image stops as soon as it is misclassified. Defaults: 50 steps, overshoot 0.02, 10 candidates.
 * All candidate gradients of a batch come from one batched backward pass (the batch replicated
 * once per candidate). A minimization attack: it runs once per request, and with `epsilon` (or
 * `epsilons`) success also requires the distance to be ≤ ε. Costs `steps` iterations (each one
 * batched backward pass); under a step limit the default `steps` shrink to the limit.
 * Shapes: images [N, H, W, C] in the model's value range.
 */
import * as tf from '@tensorflow/tfjs';
import { classMask } from '../model/class-mask.ts';
import type { Deadline } from '../deadline.ts';
import type { ImageModel } from '../model/image-model.ts';
import type { Criterion } from './criteria.ts';
import { nextTick, type StepInfo } from './gradient-descent.ts';
import { exactSign, type NormName } from './norms.ts';
import { defineAttack } from './spec.ts';

export interface DeepFoolOptions {
  norm: NormName;
  steps: number;
  overshoot: number;
  candidates: number;
  bounds: [number, number];
  deadline: Deadline;
  onStep?: (info: StepInfo) => void;
}

export async function deepFool(model: ImageModel, x0: tf.Tensor4D, criterion: Criterion, o: DeepFoolOptions): Promise<{ adversarial: tf.Tensor4D; iterations: number }> {
  const [lo, hi] = o.bounds;
  const [n, h, w, c] = x0.shape;
  const labels = criterion.classes;
  const classes = model.manifest.labels.length;
  // The candidate classes per image: the most likely others at the start.
  const ranked = tf.tidy(() => tf.topk(model.logits(x0), Math.min(classes, o.candidates + 1)).indices.arraySync());
  const candidates = ranked.map((row, i) => row.filter((k) => k !== labels[i]).slice(0, o.candidates));
  const k = candidates[0]!.length;
  let total = tf.zerosLike(x0) as tf.Tensor4D;
  let active = new Array<boolean>(n).fill(true);
  let iterations = 0;
  const perturbed = (r: tf.Tensor4D) => tf.clipByValue(tf.add(x0, tf.mul(r, 1 + o.overshoot)), lo, hi) as tf.Tensor4D;
  try {
    for (let step = 1; step <= o.steps; step++) {
      o.deadline.check();
      const predicted = tf.tidy(() => tf.argMax(model.logits(perturbed(total)), 1).dataSync());
      active = active.map((a, i) => a && !criterion.isAdversarial(predicted[i]!, i));
      if (!active.some(Boolean)) break;
      iterations = step;
      const next = tf.tidy(() => {
        const x = perturbed(total);
        // Replicate each image once per candidate: row i*k + j is image i against candidate j.
        const tiled = tf.reshape(tf.tile(tf.expandDims(x, 1), [1, k, 1, 1, 1]), [n * k, h, w, c]) as tf.Tensor4D;
        const own = labels.flatMap((y) => new Array<number>(k).fill(y));
        const other = candidates.flat();
        const otherMask = classMask(other, classes);
        const ownMask = classMask(own, classes);
        const margins = (logits: tf.Tensor2D) => tf.sub(tf.sum(tf.mul(logits, otherMask), 1), tf.sum(tf.mul(logits, ownMask), 1));
        const f = tf.reshape(margins(model.logits(tiled)), [n, k]);
        const grad = tf.grad((input: tf.Tensor) => tf.sum(margins(model.logits(input as tf.Tensor4D))) as tf.Scalar)(tiled);
        const g = tf.reshape(grad, [n, k, h * w * c]);
        const size = o.norm === 'l2' ? tf.sqrt(tf.sum(tf.square(g), 2)) : tf.sum(tf.abs(g), 2);
        const distance = tf.div(tf.add(tf.abs(f), 1e-4), tf.add(size, 1e-8)); // [n, k]
        const best = tf.argMin(distance, 1); // [n]
        const bestMask = tf.oneHot(best, k); // [n, k]
        const bestDistance = tf.sum(tf.mul(distance, bestMask), 1); // [n]
        const bestGrad = tf.sum(tf.mul(g, tf.expandDims(bestMask, 2)), 1); // [n, d]
        const direction = o.norm === 'l2'
          ? tf.div(bestGrad, tf.add(tf.sqrt(tf.sum(tf.square(bestGrad), 1, true)), 1e-8))
          : exactSign(bestGrad);
        const r = tf.mul(direction, tf.expandDims(bestDistance, 1));
        const activeMask = tf.tensor2d(active.map((a) => (a ? 1 : 0)), [n, 1]);
        return tf.add(total, tf.reshape(tf.mul(r, activeMask), [n, h, w, c])) as tf.Tensor4D;
      });
      total.dispose();
      total = next;
      o.onStep?.({ step, steps: o.steps, loss: active.filter(Boolean).length, predicted: Array.from(predicted) });
      await nextTick();
    }
    const adversarial = tf.tidy(() => perturbed(total));
    return { adversarial, iterations };
  } finally {
    total.dispose();
  }
}

export interface DeepFoolParams {
  [name: string]: number;
  steps: number;
  overshoot: number;
  candidates: number;
}

export const deepFoolAttack = defineAttack<DeepFoolParams>({
  name: 'deepfool',
  paper: 'Moosavi-Dezfooli, Fawzi & Frossard 2016',
  kind: 'minimization',
  norms: ['l2', 'linf'],
  defaultNorm: 'linf',
  targetable: false,
  params: {
    steps: { type: 'integer', minimum: 1, default: 50, description: 'at most this many linearisation steps' },
    overshoot: { type: 'number', minimum: 0, maximum: 1, default: 0.02, description: 'the final perturbation is (1 + overshoot) × the accumulated one' },
    candidates: { type: 'integer', minimum: 1, default: 10, description: 'classes considered (the most likely others)' },
  },
  iterationFactors: ['steps'],
  run: (c, p) => deepFool(c.model, c.x0, c.criterion, { ...p, norm: c.norm, bounds: c.bounds, deadline: c.deadline, onStep: c.onStep }),
});
