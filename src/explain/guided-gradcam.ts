/**
 * Guided Grad-CAM (Selvaraju et al. 2017): guided backprop's fine-grained map multiplied by the
 * upsampled Grad-CAM map, so that only the evidence inside the class's region remains. Returns
 * [N, H, W, C]. Needs what both need: a model gradlab can run node by node, with replaceable
 * ReLUs and a convolution; two gradients per image.
 */
import * as tf from '@tensorflow/tfjs';
import { camLayerName, gradcam, layerParameter } from './gradcam.ts';
import { guidedBackprop } from './guided-backprop.ts';
import type { AttributionMethod } from './method.ts';
import { convLayer, nodeByNode, replaceableRelus } from './requirements.ts';
import { defineBase } from './spec.ts';

export const guidedGradcam: AttributionMethod = (ctx, x, options) => {
  const cam = gradcam(ctx, x, options);
  return tf.mul(guidedBackprop(ctx, x, options), cam) as tf.Tensor4D;
};

export const guidedGradcamSpec = defineBase({
  kind: 'base',
  name: 'guided-gradcam',
  paper: 'Selvaraju et al. 2017, Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization',
  attribute: guidedGradcam,
  defaultScore: 'logit',
  requires: [nodeByNode, replaceableRelus, convLayer],
  parameters: { layer: layerParameter },
  rendering: 'color',
  gradientsPerImage: () => 2,
  costParameters: [],
  explainedLayer: camLayerName,
});
