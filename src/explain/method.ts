/**
 * The one interface every explanation method implements (Captum's `attribute`): given the model,
 * a batch x [N, H, W, C] and one target class per image, return a map tensor [N, H, W, C] (or
 * [N, H, W, 1] for Grad-CAM). Methods run inside the caller's `tf.tidy`. What each method needs,
 * takes and costs is declared in its spec (spec.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import type { Deadline } from '../deadline.ts';
import type { ImageModel } from '../model/image-model.ts';
import type { LayerWalk } from './layer-walk.ts';
import type { GradientMeter } from './progress.ts';
import type { ScoreKind } from './score.ts';

export interface MethodContext {
  model: ImageModel;
  /** Present for sequential Layers models (their feature graph); others use the model's own (features.ts). */
  walk: LayerWalk | undefined;
  /** The request's time limit and cancellation: long methods check it at every step (IG's path chunks, SmoothGrad's samples). */
  deadline?: Deadline;
  /** This call's share of the request's progress (progress.ts): long loops count their gradients as they go. */
  progress?: GradientMeter;
}

export interface MethodOptions {
  targets: number[];
  score: ScoreKind;
  /** Grad-CAM: name of the layer (or graph node) whose activations are weighted; default the last convolution. */
  layer?: string;
  /** Integrated gradients: the baseline image (H×W×C values; default black) and the number of steps. */
  baseline?: Float32Array;
  steps?: number;
  /** Integrated gradients: where the path points go (see integrated-gradients.ts). */
  rule?: 'adaptive' | 'uniform';
}

export type AttributionMethod = (ctx: MethodContext, x: tf.Tensor4D, options: MethodOptions) => tf.Tensor4D;
