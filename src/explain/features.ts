/**
 * The feature graph (model/feature-graph.ts) an explanation method works on: for a sequential
 * Layers model its layer walk (layer-walk.ts, unchanged behaviour since the first version), for
 * every other model the model's own: the gradient forward of a functional Layers model, the graph
 * interpreter of a graph model. Built once per walk or model.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureGraph, FeatureNode, FeatureRun, FeatureRunOptions } from '../model/feature-graph.ts';
import type { ImageModel } from '../model/image-model.ts';
import { CONV_LAYERS, type LayerWalk } from './layer-walk.ts';

/** A sequential model's layer walk seen as a feature graph: nodes are its layers. */
class WalkFeatures implements FeatureGraph {
  readonly nodes: FeatureNode[];
  readonly hasRelu: boolean;
  readonly supportsReluSwap: boolean;

  constructor(private readonly walk: LayerWalk) {
    this.nodes = walk.layers.map((layer) => {
      const shape = layer.outputShape;
      const cls = layer.getClassName();
      return { name: layer.name, type: cls, outputShape: (Array.isArray(shape[0]) ? shape[0] : shape) as (number | null)[], conv: CONV_LAYERS.has(cls) };
    });
    this.hasRelu = walk.hasRelu;
    this.supportsReluSwap = walk.supportsGuided;
  }

  private index(name: string): number {
    const i = this.walk.indexOf(name);
    if (i < 0) throw new Error(`layer walk: no layer named '${name}'`);
    return i;
  }

  forward(x: tf.Tensor, { relu = tf.relu, capture, substitute }: FeatureRunOptions = {}): FeatureRun {
    const captured = capture === undefined ? undefined : this.walk.run(x, { to: this.index(capture) + 1, relu });
    if (substitute) return { output: this.walk.run(substitute.value, { from: this.index(substitute.name) + 1, relu }), ...(captured ? { captured } : {}) };
    if (captured) return { captured };
    return { output: this.walk.run(x, { relu }) };
  }
}

const walkFeatures = new WeakMap<LayerWalk, WalkFeatures>();

/** The feature graph for a method's context: the walk where there is one, else the model's own. */
export function featuresOf({ model, walk }: { model: ImageModel; walk: LayerWalk | undefined }): FeatureGraph | undefined {
  if (!walk) return model.featureGraph();
  let features = walkFeatures.get(walk);
  if (!features) walkFeatures.set(walk, (features = new WalkFeatures(walk)));
  return features;
}

/** The usable feature graph, or undefined when the model has none or it cannot run (see `unsupported`). */
export function runnableFeatures(ctx: { model: ImageModel; walk: LayerWalk | undefined }): FeatureGraph | undefined {
  const features = featuresOf(ctx);
  return features && features.unsupported === undefined ? features : undefined;
}
