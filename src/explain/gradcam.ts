/**
 * Grad-CAM (Selvaraju et al. 2017): weight each channel k of a convolutional layer's activations
 * A by α_k = mean over positions of ∂score/∂A_k, take ReLU(Σ_k α_k A_k), and upsample it
 * bilinearly to the input size. Default layer: the last convolution (`layer` names any node with
 * a spatial output). Returns [N, H, W, 1], ≥ 0. Explains the logit by default, as the paper does.
 * Works on every model gradlab can run node by node (features.ts): sequential and functional
 * Layers models, graph models; the gradient is taken of the output as a function of the layer's
 * activations (the rest of the network, residual branches included, held at x). One gradient per image.
 */
import * as tf from '@tensorflow/tfjs';
import { badParameter, GradlabError } from '../errors.ts';
import { lastConvNode, spatialNodes, type FeatureGraph } from '../model/feature-graph.ts';
import { runnableFeatures } from './features.ts';
import type { AttributionMethod, MethodContext, MethodOptions } from './method.ts';
import { convLayer, nodeByNode } from './requirements.ts';
import { defineBase, type ParameterSpec } from './spec.ts';
import { classScoreSum } from './score.ts';

function camFeatures(ctx: MethodContext): FeatureGraph {
  const features = runnableFeatures(ctx);
  if (!features) throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION', `Grad-CAM needs a model that gradlab can run node by node; '${ctx.model.name}' is not one`, 'method');
  return features;
}

/** The layer the map is computed at: the request's, or the last convolution. */
function camLayer(ctx: MethodContext, layer: string | undefined): string {
  const name = layer ?? lastConvNode(camFeatures(ctx))?.name;
  if (name === undefined) throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION', `Grad-CAM needs a convolutional layer; '${ctx.model.name}' has none`, 'method');
  return name;
}

export const gradcam: AttributionMethod = (ctx, x, { targets, score, layer }) => {
  const features = camFeatures(ctx);
  const name = camLayer(ctx, layer);
  const activations = features.forward(x, { capture: name }).captured!;
  if (activations.rank !== 4) {
    throw new GradlabError('GRADLAB_BAD_PARAMETER', `layer: '${name}' has no spatial output (rank ${activations.rank}); choose a convolutional layer`, 'layer');
  }
  const head = (a: tf.Tensor) => ctx.model.logitsFromOutput(features.forward(x, { substitute: { name, value: a } }).output!);
  const grads = tf.grad((a: tf.Tensor) => classScoreSum(head(a) as tf.Tensor2D, targets, score))(activations);
  const alpha = tf.mean(grads, [1, 2], true);
  const cam = tf.relu(tf.sum(tf.mul(activations, alpha), 3, true)) as tf.Tensor4D;
  const [, height, width] = x.shape;
  return tf.image.resizeBilinear(cam, [height, width]);
};

/** `layer`: the layer (or graph node) whose activations are weighted, by name; it must have a spatial output. */
export const layerParameter: ParameterSpec = {
  type: 'string',
  elsewhere: 'refuse',
  toOptions: (name, ctx) => {
    if (typeof name !== 'string') throw badParameter('layer', 'must be a layer name');
    const features = runnableFeatures(ctx);
    if (!features) return { layer: name }; // the method's requirements refuse the model
    const spatial = spatialNodes(features).map((n) => n.name);
    const node = features.nodes.find((n) => n.name === name);
    if (!node) throw badParameter('layer', `no layer named '${name}'; layers with a spatial output: ${spatial.join(', ')}`);
    if (node.outputShape.length !== 4) {
      throw badParameter('layer', `'${name}' has no spatial output (shape [${node.outputShape.join(',')}]); layers with one: ${spatial.join(', ')}`);
    }
    return { layer: name };
  },
};

/** The name of the layer a Grad-CAM map was computed at. */
export function camLayerName(ctx: MethodContext, { layer }: MethodOptions): string {
  return camLayer(ctx, layer);
}

export const gradcamSpec = defineBase({
  kind: 'base',
  name: 'gradcam',
  paper: 'Selvaraju et al. 2017, Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization',
  attribute: gradcam,
  defaultScore: 'logit',
  requires: [nodeByNode, convLayer],
  parameters: { layer: layerParameter },
  rendering: 'heat',
  gradientsPerImage: () => 1,
  costParameters: [],
  explainedLayer: camLayerName,
});
