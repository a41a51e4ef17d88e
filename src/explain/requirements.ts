/**
 * What explanation methods need of a model, as small objects the specs list (spec.ts). Methods
 * that replace ReLUs or cut the network at a layer need a model they can walk layer by layer.
 */
import type { Requirement } from './spec.ts';

/** A sequential Layers model (layer-walk.ts): Grad-CAM cuts it at a layer, guided backprop swaps its ReLUs. */
export const sequentialLayers: Requirement = {
  needs: 'a sequential Layers model',
  missing: ({ model, walk }) => (walk ? undefined : `'${model.name}' is a ${model.manifest.format} model`),
  suggestUnrestricted: true,
};

/** ReLUs that the layer walk can replace by the guided ReLU. */
export const replaceableRelus: Requirement = {
  needs: 'ReLU activations that it can replace',
  missing: ({ model, walk }) => (walk?.supportsGuided ? undefined : `'${model.name}' has none`),
};

/** A convolutional layer (Grad-CAM's default layer is the last one). */
export const convLayer: Requirement = {
  needs: 'a convolutional layer',
  missing: ({ model, walk }) => (walk && walk.lastConvIndex() >= 0 ? undefined : `'${model.name}' has none`),
};

/**
 * The requirement, or else a functional graph (residual networks) whose ReLUs the model's own
 * gradient forward can swap (model/gradient-forward.ts): guided backprop runs on either.
 */
export function orFunctionalReluSwap(requirement: Requirement): Requirement {
  return {
    ...requirement,
    missing: (ctx) => {
      const missing = requirement.missing(ctx);
      return missing === undefined || ctx.model.gradientForward()?.supportsReluSwap ? undefined : missing;
    },
  };
}
