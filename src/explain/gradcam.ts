/**
 * Grad-CAM (Selvaraju et al. 2017): weight each channel k of a convolutional layer's activations
 * A by α_k = mean over positions of ∂score/∂A_k, take ReLU(Σ_k α_k A_k), and upsample it
 * bilinearly to the input size. Default layer: the last convolution (`layer` names another).
 * Returns [N, H, W, 1], ≥ 0. Explains the logit by default, as the paper does. Needs a sequential
 * Layers model with a convolution; one gradient per image.
 */
import * as tf from '@tensorflow/tfjs';
import { badParameter, GradlabError } from '../errors.ts';
import type { AttributionMethod, MethodContext, MethodOptions } from './method.ts';
import { convLayer, sequentialLayers } from './requirements.ts';
import { defineBase, type ParameterSpec } from './spec.ts';
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

/** `layer`: the layer whose activations are weighted, by name (default: the last convolution). */
export const layerParameter: ParameterSpec = {
  type: 'string',
  elsewhere: 'refuse',
  toOptions: (name, { walk }) => {
    if (typeof name !== 'string') throw badParameter('layer', 'must be a layer name');
    const layerIndex = walk!.indexOf(name);
    if (layerIndex < 0) throw badParameter('layer', `no layer named '${name}'; layers: ${walk!.layers.map((l) => l.name).join(', ')}`);
    return { layerIndex };
  },
};

/** The name of the layer a Grad-CAM map was computed at. */
export function camLayerName({ walk }: MethodContext, { layerIndex }: MethodOptions): string {
  return walk!.layers[layerIndex ?? walk!.lastConvIndex()]!.name;
}

export const gradcamSpec = defineBase({
  kind: 'base',
  name: 'gradcam',
  paper: 'Selvaraju et al. 2017, Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization',
  attribute: gradcam,
  defaultScore: 'logit',
  requires: [sequentialLayers, convLayer],
  parameters: { layer: layerParameter },
  rendering: 'heat',
  gradientsPerImage: () => 1,
  costParameters: [],
  explainedLayer: camLayerName,
});
