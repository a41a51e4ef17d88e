/**
 * What counts as success, as small objects (Foolbox `criteria.py`): untargeted misclassification
 * of the true (or predicted) label, or targeted classification as a chosen class. Each also gives
 * the loss that gradient attacks ascend: the cross-entropy of the true label (untargeted) or the
 * log-probability of the target (targeted).
 */
import * as tf from '@tensorflow/tfjs';
import { pickedScores, pickedScoresOnHost } from '../model/picked-scores.ts';
import type { ImageModel } from '../model/image-model.ts';

export interface Criterion {
  targeted: boolean;
  /** Per image: the true label (untargeted) or the target class (targeted). */
  classes: number[];
  // Function properties, not methods: criteria are plain objects whose functions use no `this`,
  // so `criterion.loss` may be passed on by itself.
  /** Per-image loss [N] to maximise, from logits [N, K]. */
  loss: (logits: tf.Tensor2D) => tf.Tensor1D;
  /** Whether each image's predicted class counts as adversarial. */
  isAdversarial: (predicted: number, index: number) => boolean;
  /**
   * `loss` on host logits [rows · classes]: each image's loss and ∂(Σ loss)/∂logits, the same
   * float32 values as `loss` and its recorded gradient (for ImageModel.directInputGradient).
   */
  hostLoss: (logits: Float32Array, rows: number, classes: number) => { losses: Float32Array; dLogits: Float32Array };
}

/** The host form of ±log p(class): sign −1 for the untargeted loss (as `tf.neg` backpropagates −1). */
function hostLogProb(classes: number[], sign: 1 | -1): Criterion['hostLoss'] {
  return (logits, rows, depth) => {
    const { scores, grad } = pickedScoresOnHost(logits, rows, depth, classes, 'logprob', new Array<number>(rows).fill(sign));
    return { losses: sign === 1 ? scores : scores.map((v) => -v), dLogits: grad };
  };
}

function logProbOf(logits: tf.Tensor2D, classes: number[]): tf.Tensor1D {
  return pickedScores(logits, classes, 'logprob');
}

export function misclassification(labels: number[]): Criterion {
  return {
    targeted: false,
    classes: labels,
    loss: (logits) => tf.neg(logProbOf(logits, labels)) as tf.Tensor1D,
    hostLoss: hostLogProb(labels, -1),
    isAdversarial: (predicted, i) => predicted !== labels[i],
  };
}

export function targetedMisclassification(targets: number[]): Criterion {
  return {
    targeted: true,
    classes: targets,
    loss: (logits) => logProbOf(logits, targets),
    hostLoss: hostLogProb(targets, 1),
    isAdversarial: (predicted, i) => predicted === targets[i],
  };
}

/** A criterion for a subset of the images (indices into the original batch). */
export function subsetCriterion(criterion: Criterion, indices: number[]): Criterion {
  const classes = indices.map((i) => criterion.classes[i]!);
  return criterion.targeted ? targetedMisclassification(classes) : misclassification(classes);
}

/** Whether each image of the batch `x` is adversarial for `model` under `criterion` (one forward pass). */
export function adversarialMask(model: ImageModel, criterion: Criterion, x: tf.Tensor4D): boolean[] {
  const predicted = tf.tidy(() => tf.argMax(model.logits(x), 1).dataSync());
  return Array.from(predicted, (p, i) => criterion.isAdversarial(p, i));
}
