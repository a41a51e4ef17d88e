/**
 * Guided backpropagation (Springenberg et al. 2015): the backward pass of the score through the
 * network with every ReLU replaced by the guided ReLU (`dy * (x > 0) * (dy > 0)`). Not the gradient
 * of any function: a visualisation that keeps only positive evidence flowing back. Runs on every
 * model gradlab can run node by node (features.ts): sequential Layers models through their layer
 * walk, functional ones (residual networks) through their gradient forward, graph models through
 * the graph interpreter, which decomposes fused conv/matmul+ReLU ops so that their ReLU is guided
 * too. Each is built once per model and no global gradient override is installed, so concurrent
 * requests cannot affect each other.
 */
import { GradlabError } from '../errors.ts';
import { runnableFeatures } from './features.ts';
import { directScoreGradient, scoreGradient } from './gradient.ts';
import { guidedRelu } from './guided-relu.ts';
import type { AttributionMethod } from './method.ts';
import { nodeByNode, replaceableRelus } from './requirements.ts';
import { defineBase } from './spec.ts';

export const guidedBackprop: AttributionMethod = (ctx, x, { targets, score }) => {
  const features = runnableFeatures(ctx);
  if (!features?.supportsReluSwap) {
    throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION', `guided backprop needs a model with ReLUs it can replace; '${ctx.model.name}' is not one`, 'method');
  }
  return directScoreGradient(ctx.model, x, targets, score, 'guided') ??
    scoreGradient((input) => ctx.model.logitsFromOutput(features.forward(input, { relu: guidedRelu }).output!), x, targets, score);
};

export const guidedBackpropSpec = defineBase({
  kind: 'base',
  name: 'guided-backprop',
  paper: 'Springenberg, Dosovitskiy, Brox, Riedmiller 2015, Striving for Simplicity: The All Convolutional Net',
  attribute: guidedBackprop,
  defaultScore: 'logprob',
  requires: [nodeByNode, replaceableRelus],
  parameters: {},
  rendering: 'color',
  gradientsPerImage: () => 1,
  costParameters: [],
});
