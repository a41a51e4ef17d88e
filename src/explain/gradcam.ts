/**
 * Grad-CAM (Selvaraju et al. 2017): weight each channel k of a convolutional layer's activations
 * A by α_k = mean over positions of ∂score/∂A_k, take ReLU(Σ_k α_k A_k), and upsample it
 * bilinearly to the input size. Default layer: the last convolution. Guided Grad-CAM multiplies
 * guided backprop by the upsampled Grad-CAM map. Returns [N, H, W, 1] (Grad-CAM, ≥ 0) and
 * [N, H, W, C] (guided Grad-CAM).
 */
import * as tf from '@tensorflow/tfjs';
import { GradlabError } from '../errors.ts';
import { guidedBackprop } from './guided-backprop.ts';
import type { AttributionMethod, MethodContext } from './method.ts';
import { classScoreSum } from './score.ts';

function requireConvLayer({ model, walk }: MethodContext, layerIndex: number | undefined): { index: number; walk: NonNullable<MethodContext['walk']> } {
  if (!walk) {
    throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION', `Grad-CAM needs a sequential Layers model; '${model.name}' is not one`, 'method');
  }
  const index = layerIndex ?? walk.lastConvIndex();
  if (index < 0) {
    throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION', `Grad-CAM needs a convolutional layer; '${model.name}' has none`, 'method');
  }
  return { index, walk };
}

export const gradcam: AttributionMethod = (ctx, x, { targets, score, layerIndex }) => {
  const { index, walk } = requireConvLayer(ctx, layerIndex);
  const activations = walk.run(x, { to: index + 1 });
  if (activations.rank !== 4) {
    throw new GradlabError('GRADLAB_BAD_PARAMETER', `layer: '${walk.layers[index]!.name}' has no spatial output (rank ${activations.rank}); choose a convolutional layer`, 'layer');
  }
  const head = (a: tf.Tensor) => ctx.model.logitsFromOutput(walk.run(a, { from: index + 1 }));
  const grads = tf.grad((a: tf.Tensor) => classScoreSum(head(a), targets, score))(activations);
  const alpha = tf.mean(grads, [1, 2], true);
  const cam = tf.relu(tf.sum(tf.mul(activations, alpha), 3, true)) as tf.Tensor4D;
  const [, height, width] = x.shape;
  return tf.image.resizeBilinear(cam, [height, width]);
};

export const guidedGradcam: AttributionMethod = (ctx, x, options) => {
  const cam = gradcam(ctx, x, options);
  return tf.mul(guidedBackprop(ctx, x, options), cam) as tf.Tensor4D;
};
