/**
 * What the model list tells about an image classifier: the public part (name, kind, labels,
 * input) that even black-box mode shows, and the full part (value range, preprocessing,
 * provenance, layers, backend) for white-box mode. Sequence models: src/sequence/describe.ts.
 *
 * `layers` lists, for every format, what a request's `layer` may name: a Layers model's layers or
 * a graph model's nodes (their op as `type`), with output shapes; `gradcamLayers` the ones with a
 * spatial output and `defaultGradcamLayer` the last convolution. A model that cannot be run node
 * by node says why in `nodeByNode` (Grad-CAM, guided backprop and unit visualisation refuse it).
 */
import * as tf from '@tensorflow/tfjs';
import { lastConvNode, spatialNodes } from './feature-graph.ts';
import type { ImageModel } from './image-model.ts';

export interface LayerDescription {
  name: string;
  type: string;
  outputShape: (number | null)[];
  activation?: string;
  /** Layers models only (a graph node's weights are separate nodes). */
  parameters?: number;
}

export interface PublicModelDescription {
  name: string;
  kind: string;
  labels: string[];
  input: { shape: number[] };
}

export interface ModelDescription extends PublicModelDescription {
  description?: string;
  format: string;
  input: { shape: number[]; range: [number, number]; layout: 'NHWC' };
  output: string;
  preprocessing?: string;
  provenance?: Record<string, unknown>;
  source: string;
  backend: string;
  parameters?: number;
  layers?: LayerDescription[];
  /** The layers Grad-CAM may weight (a spatial output), and its default (the last convolution). */
  gradcamLayers?: string[];
  defaultGradcamLayer?: string;
  /** Present when Grad-CAM, guided backprop and unit visualisation cannot run on the model: why. */
  nodeByNode?: { supported: false; reason: string };
}

/** What the model's feature graph says `layer` may name; graph models list their nodes as layers. */
function describeFeatures(model: ImageModel): Pick<ModelDescription, 'layers' | 'gradcamLayers' | 'defaultGradcamLayer' | 'nodeByNode'> {
  const features = model.featureGraph();
  if (!features || features.unsupported !== undefined) {
    const reason = features?.unsupported ?? (model.net instanceof tf.GraphModel ? 'loaded without its graph topology' : 'shared layers, nested models or several inputs');
    return { nodeByNode: { supported: false, reason } };
  }
  const graphNodes = model.net instanceof tf.GraphModel ? { layers: features.nodes.map((n) => ({ name: n.name, type: n.type, outputShape: n.outputShape })) } : {};
  const defaultLayer = lastConvNode(features)?.name;
  return { ...graphNodes, gradcamLayers: spatialNodes(features).map((n) => n.name), ...(defaultLayer ? { defaultGradcamLayer: defaultLayer } : {}) };
}

function describeLayers(net: tf.LayersModel): LayerDescription[] {
  return net.layers.map((layer) => {
    const config = layer.getConfig();
    const shape = layer.outputShape;
    const out: LayerDescription = {
      name: layer.name,
      type: layer.getClassName(),
      outputShape: (Array.isArray(shape[0]) ? shape[0] : shape) as (number | null)[],
      parameters: layer.countParams(),
    };
    if (typeof config.activation === 'string') out.activation = config.activation;
    return out;
  });
}

export function describePublic(model: ImageModel): PublicModelDescription {
  return {
    name: model.name,
    kind: model.manifest.kind,
    labels: model.manifest.labels,
    input: { shape: [...model.inputShape] },
  };
}

export function describeModel(model: ImageModel, backend: string): ModelDescription {
  const m = model.manifest;
  const net = model.net;
  const layers = net instanceof tf.LayersModel ? describeLayers(net) : undefined;
  return {
    ...describePublic(model),
    ...(m.description ? { description: m.description } : {}),
    format: m.format,
    input: { shape: [...m.input.shape], range: m.input.range, layout: 'NHWC' },
    output: m.output,
    ...(m.preprocessing ? { preprocessing: m.preprocessing } : {}),
    ...(m.provenance ? { provenance: m.provenance } : {}),
    source: model.source,
    backend,
    ...(layers ? { parameters: layers.reduce((s, l) => s + (l.parameters ?? 0), 0), layers } : {}),
    ...describeFeatures(model),
  };
}
