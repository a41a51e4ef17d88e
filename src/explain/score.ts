/**
 * What is explained, separate from how (tf-keras-vis `scores.py`): a class score per image — the
 * log-probability `log p(target | x)` (default) or the pre-softmax logit — summed over the batch
 * so that one gradient call gives every image its own map (images do not interact at inference).
 * Picked as one op with its own gradient (model/picked-scores.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { pickedScores } from '../model/picked-scores.ts';

export const SCORE_KINDS = ['logprob', 'logit'] as const;
export type ScoreKind = (typeof SCORE_KINDS)[number];

/** Per-image target scores [N] from logits [N, classes]. */
export function classScores(logits: tf.Tensor2D, targets: number[], kind: ScoreKind): tf.Tensor1D {
  return pickedScores(logits, targets, kind);
}

/** Sum over the batch of the per-image target scores (the scalar every gradient is taken of). */
export function classScoreSum(logits: tf.Tensor2D, targets: number[], kind: ScoreKind): tf.Scalar {
  return tf.sum(classScores(logits, targets, kind)) as tf.Scalar;
}
