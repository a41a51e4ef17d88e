/**
 * Guided backpropagation (Springenberg et al. 2015): the backward pass of the score through the
 * network with every ReLU replaced by the guided ReLU (`dy * (x > 0) * (dy > 0)`). Not the gradient
 * of any function: a visualisation that keeps only positive evidence flowing back. Needs a
 * sequential Layers model with ReLUs; the forward function is built once per model (layer-walk.ts)
 * and no global gradient override is installed, so concurrent requests cannot affect each other.
 */
import { GradlabError } from '../errors.ts';
import { scoreGradient } from './gradient.ts';
import type { AttributionMethod } from './method.ts';

export const guidedBackprop: AttributionMethod = ({ model, walk }, x, { targets, score }) => {
  if (!walk || !walk.supportsGuided) {
    throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION', `guided backprop needs a sequential Layers model with ReLU activations; '${model.name}' is not one`, 'method');
  }
  return scoreGradient((input) => model.logitsFromOutput(walk.run(input, { guided: true })), x, targets, score);
};
