/**
 * Per-image losses for APGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness
 * with an ensemble of diverse parameter-free attacks"), computed from logits [N, K] → [N]:
 * - cross-entropy (the criterion's own loss, criteria.ts);
 * - DLR, the Difference of Logits Ratio: −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3), invariant to
 *   shifting and rescaling the logits, so a model whose logits are scaled up (or that outputs
 *   saturated probabilities) cannot flatten it the way it flattens cross-entropy;
 * - targeted DLR: −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2), for APGD-T.
 * π is the logits sorted in decreasing order. Both DLR forms need at least 3 (targeted: 4) classes;
 * with fewer, the missing order statistics are the smallest logit.
 * All losses are to be maximised.
 */
import * as tf from '@tensorflow/tfjs';
import { classMask } from '../model/class-mask.ts';

const DLR_EPSILON = 1e-12;

/**
 * The logits ranked per image, as a function k → the k-th largest logit [N] (k = 1 the largest;
 * clamped to the class count). The ranking is read out as numbers, so the order is a constant to
 * the gradient (as a sort's permutation is) and the values stay differentiable; TopK itself has no
 * gradient in tfjs.
 */
function ranked(logits: tf.Tensor2D): (k: number) => tf.Tensor1D {
  const classes = logits.shape[1];
  const order = tf.tidy(() => tf.topk(logits, classes).indices.arraySync());
  return (k) => logitOf(logits, order.map((row) => row[Math.min(k, classes) - 1]!));
}

function logitOf(logits: tf.Tensor2D, classes: number[]): tf.Tensor1D {
  return tf.sum(tf.mul(logits, classMask(classes, logits.shape[1])), 1) as tf.Tensor1D;
}

/** Untargeted DLR for true labels `labels`. */
export function dlrLoss(logits: tf.Tensor2D, labels: number[]): tf.Tensor1D {
  return tf.tidy(() => {
    const kth = ranked(logits);
    const own = logitOf(logits, labels);
    // max over i ≠ y: the largest logit unless it is y's own, then the second largest.
    const first = kth(1);
    const isOwn = tf.cast(tf.greaterEqual(own, first), 'float32');
    const bestOther = tf.add(tf.mul(kth(2), isOwn), tf.mul(first, tf.sub(1, isOwn)));
    const scale = tf.add(tf.sub(first, kth(3)), DLR_EPSILON);
    return tf.neg(tf.div(tf.sub(own, bestOther), scale)) as tf.Tensor1D;
  });
}

/** Targeted DLR: pushes class `targets[i]` above `labels[i]`. */
export function targetedDlrLoss(logits: tf.Tensor2D, labels: number[], targets: number[]): tf.Tensor1D {
  return tf.tidy(() => {
    const kth = ranked(logits);
    const margin = tf.sub(logitOf(logits, labels), logitOf(logits, targets));
    const scale = tf.add(tf.sub(kth(1), tf.div(tf.add(kth(3), kth(4)), 2)), DLR_EPSILON);
    return tf.neg(tf.div(margin, scale)) as tf.Tensor1D;
  });
}

/** Per image, the true class's margin over the best other class (negative: misclassified), [N]. */
export function marginLoss(logits: tf.Tensor2D, labels: number[]): tf.Tensor1D {
  return tf.tidy(() => {
    const own = logitOf(logits, labels);
    const others = tf.add(logits, tf.mul(classMask(labels, logits.shape[1]), -1e9));
    return tf.sub(own, tf.max(others, 1)) as tf.Tensor1D;
  });
}
