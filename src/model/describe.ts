/**
 * What the model list tells about an image classifier: the public part (name, kind, labels,
 * input) that even black-box mode shows, and the full part (value range, preprocessing,
 * provenance, layers, backend) for white-box mode. Sequence models: src/sequence/describe.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageModel } from './image-model.ts';

export interface LayerDescription {
  name: string;
  type: string;
  outputShape: (number | null)[];
  activation?: string;
  parameters: number;
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
    ...(layers ? { parameters: layers.reduce((s, l) => s + l.parameters, 0), layers } : {}),
  };
}
