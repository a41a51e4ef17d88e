/**
 * Checks against gradient masking, run before an AutoAttack evaluation as the reference code does
 * (`autoattack/checks.py`): each finding is a warning in the answer, so a robustness number that
 * may be optimistic says so instead of silently standing.
 * - randomness: the same input gives different outputs across two identical calls (a randomised
 *   defence: gradients and the final check disagree; use expectation over transformations);
 * - probabilities declared as logits: every output row lies in [0, 1] and sums to 1 although the
 *   manifest says `logits`, so cross-entropy is taken on probabilities and its gradient vanishes;
 * - zero gradients: images whose cross-entropy gradient is exactly zero (saturated or
 *   non-differentiable models); gradient attacks cannot move them;
 * - too few classes for the DLR losses (3 for DLR, 4 for targeted DLR).
 * After the run, `squareWarning` flags a black-box attack that succeeded where the white-box ones
 * failed, AutoAttack's own sign that the gradients were misleading.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageModel } from '../model/image-model.ts';
import type { Criterion } from './criteria.ts';

export function maskingWarnings(model: ImageModel, x0: tf.Tensor4D, criterion: Criterion): string[] {
  const warnings: string[] = [];
  const n = x0.shape[0];
  const [first, second] = [0, 1].map(() => tf.tidy(() => model.logits(x0).dataSync() as Float32Array));
  const scale = first!.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-12);
  const drift = first!.reduce((m, v, i) => Math.max(m, Math.abs(v - second![i]!)), 0);
  if (drift > 1e-5 * scale) {
    warnings.push(`randomness: two identical calls gave outputs up to ${drift.toPrecision(3)} apart; the model is randomised, ` +
      'so gradients and the final check see different models (AutoAttack\'s "rand" version with expectation over transformations is needed)');
  }
  const classes = first!.length / n;
  if (model.manifest.output !== 'probabilities') {
    let looksLikeProbabilities = true;
    for (let i = 0; i < n && looksLikeProbabilities; i++) {
      const row = first!.subarray(i * classes, (i + 1) * classes);
      const sum = row.reduce((a, b) => a + b, 0);
      looksLikeProbabilities = row.every((v) => v >= 0 && v <= 1) && Math.abs(sum - 1) < 1e-3;
    }
    if (looksLikeProbabilities) {
      warnings.push('softmax output: every output row is in [0, 1] and sums to 1 although the manifest says "logits"; ' +
        'cross-entropy on probabilities has vanishing gradients and understates attacks (set output: "probabilities" in the manifest)');
    }
  }
  const gradientSizes = tf.tidy(() => {
    const grad = tf.grad((x: tf.Tensor) => tf.sum(criterion.loss(model.logits(x as tf.Tensor4D))) as tf.Scalar)(x0);
    return tf.max(tf.abs(grad), [1, 2, 3]).dataSync();
  });
  const zero = Array.from(gradientSizes).filter((g) => g === 0).length;
  if (zero > 0) {
    warnings.push(`zero gradients: ${zero} of ${n} images have an exactly zero cross-entropy gradient; gradient attacks cannot move them, ` +
      'so their robustness rests on the black-box stage (possible gradient masking)');
  }
  if (classes < 4) {
    warnings.push(`few classes: the model has ${classes}; the DLR loss needs 3 and targeted DLR 4, so APGD-T runs with a degenerate scale`);
  }
  return warnings;
}

/** AutoAttack's post-run check: Square breaking images the gradient stages could not. */
export function squareWarning(brokenBySquare: number, images: number): string | undefined {
  if (brokenBySquare === 0) return undefined;
  return `black-box success: Square broke ${brokenBySquare} of ${images} images that APGD-CE, APGD-T and FAB-T did not; ` +
    'gradient-based attacks were misled on them, so the white-box figures alone would be optimistic (possible gradient masking)';
}
