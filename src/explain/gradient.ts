/**
 * Vanilla gradient ("saliency", Simonyan et al. 2014): ∂ score(target | x) / ∂x, signed, with
 * respect to the input in the model's value range; the score is log p(target | x) by default or
 * the logit with `score: "logit"`. Needs nothing of the model; one gradient per image.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageModel } from '../model/image-model.ts';
import { pickedScoresOnHost } from '../model/picked-scores.ts';
import type { ReluKind } from '../model/relu-for-gradient.ts';
import type { AttributionMethod } from './method.ts';
import { defineBase } from './spec.ts';
import { classScoreSum, type ScoreKind } from './score.ts';

/** Gradient of the summed target scores of `forward(x)` (logits) with respect to x. */
export function scoreGradient(forward: (x: tf.Tensor4D) => tf.Tensor2D, x: tf.Tensor4D, targets: number[], score: ScoreKind): tf.Tensor4D {
  return tf.grad((input: tf.Tensor) => classScoreSum(forward(input as tf.Tensor4D), targets, score))(x) as tf.Tensor4D;
}

/**
 * The same gradient through the model's direct input gradient (no gradient tape,
 * model/input-gradient-program.ts), or undefined where the model has none.
 */
export function directScoreGradient(model: ImageModel, x: tf.Tensor4D, targets: number[], score: ScoreKind, relu: ReluKind = 'plain'): tf.Tensor4D | undefined {
  const ones = new Array<number>(targets.length).fill(1);
  return model.directInputGradient(x, (logits, rows, classes) => pickedScoresOnHost(logits, rows, classes, targets, score, ones).grad, relu)?.grad;
}

export const gradient: AttributionMethod = ({ model }, x, { targets, score }) =>
  directScoreGradient(model, x, targets, score) ?? scoreGradient((input) => model.logits(input), x, targets, score);

export const gradientSpec = defineBase({
  kind: 'base',
  name: 'gradient',
  paper: 'Simonyan, Vedaldi, Zisserman 2014, Deep Inside Convolutional Networks',
  attribute: gradient,
  defaultScore: 'logprob',
  requires: [],
  parameters: {},
  rendering: 'signed',
  gradientsPerImage: () => 1,
  costParameters: [],
});
