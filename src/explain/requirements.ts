/**
 * What explanation methods need of a model, as small objects the specs list (spec.ts). Methods
 * that replace ReLUs or read an inner layer need the model as a feature graph it can run node by
 * node (features.ts): every sequential or functional Layers model without shared layers, and every
 * graph model made of ops the graph interpreter knows. What a model lacks is said in the refusal.
 */
import { lastConvNode } from '../model/feature-graph.ts';
import { featuresOf, runnableFeatures } from './features.ts';
import type { MethodContext } from './method.ts';
import type { Requirement } from './spec.ts';

/** Why the model cannot be run node by node, for the refusal. */
function notRunnable(ctx: MethodContext): string | undefined {
  const features = featuresOf(ctx);
  const { name, format } = ctx.model.manifest;
  if (!features) {
    return format === 'graph'
      ? `'${name}' was loaded without its graph topology`
      : `'${name}' is a layers model with shared layers, nested models or several inputs, which gradlab cannot follow layer by layer`;
  }
  return features.unsupported === undefined ? undefined : `'${name}': ${features.unsupported}`;
}

/** A model gradlab can run node by node: Grad-CAM reads an inner node, guided backprop swaps its ReLUs. */
export const nodeByNode: Requirement = {
  needs: 'a model that gradlab can run node by node',
  missing: notRunnable,
  suggestUnrestricted: true,
};

/** ReLUs that the feature graph can replace by the guided ReLU (fused ones included). */
export const replaceableRelus: Requirement = {
  needs: 'ReLU activations that it can replace',
  missing: (ctx) => {
    const features = runnableFeatures(ctx);
    if (!features || features.supportsReluSwap) return undefined; // `nodeByNode` says what is wrong
    if (!features.hasRelu) return `'${ctx.model.name}' has none`;
    return `'${ctx.model.name}' has a ReLU inside a layer whose activation gradlab cannot replace`;
  },
};

/** A convolution (Grad-CAM's default layer is the last one). */
export const convLayer: Requirement = {
  needs: 'a convolutional layer',
  missing: (ctx) => {
    const features = runnableFeatures(ctx);
    return !features || lastConvNode(features) ? undefined : `'${ctx.model.name}' has none`;
  },
};
