/**
 * Guided backpropagation (Springenberg et al. 2015): the backward pass of the score through the
 * network with every ReLU replaced by the guided ReLU (`dy * (x > 0) * (dy > 0)`). Not the gradient
 * of any function: a visualisation that keeps only positive evidence flowing back. Needs a Layers
 * model with ReLUs: sequential models run through their layer walk (layer-walk.ts), other graphs
 * (residual networks) through the model's gradient forward (model/gradient-forward.ts). Both are
 * built once per model and no global gradient override is installed, so concurrent requests cannot
 * affect each other.
 */
import { GradlabError } from '../errors.ts';
import { scoreGradient } from './gradient.ts';
import { guidedRelu } from './guided-relu.ts';
import type { AttributionMethod } from './method.ts';
import { orFunctionalReluSwap, replaceableRelus, sequentialLayers } from './requirements.ts';
import { defineBase } from './spec.ts';

export const guidedBackprop: AttributionMethod = ({ model, walk }, x, { targets, score }) => {
  if (walk?.supportsGuided) {
    return scoreGradient((input) => model.logitsFromOutput(walk.run(input, { guided: true })), x, targets, score);
  }
  // Functional models (e.g. residual networks): the model's own graph, with every ReLU guided.
  const graph = model.gradientForward();
  if (graph?.supportsReluSwap) {
    return scoreGradient((input) => model.logitsFromOutput(graph.run(input, guidedRelu)), x, targets, score);
  }
  throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION', `guided backprop needs a Layers model with ReLU activations; '${model.name}' is not one`, 'method');
};

export const guidedBackpropSpec = defineBase({
  kind: 'base',
  name: 'guided-backprop',
  paper: 'Springenberg, Dosovitskiy, Brox, Riedmiller 2015, Striving for Simplicity: The All Convolutional Net',
  attribute: guidedBackprop,
  defaultScore: 'logprob',
  // A sequential model whose ReLUs the walk replaces, or a functional one whose graph swaps them.
  requires: [orFunctionalReluSwap(sequentialLayers), orFunctionalReluSwap(replaceableRelus)],
  parameters: {},
  rendering: 'color',
  gradientsPerImage: () => 1,
  costParameters: [],
});
