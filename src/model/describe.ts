/**
 * What `GET /v1/models` tells about a model: the public part (name, kind, labels, input) that
 * even black-box mode shows, and the full part (value range, preprocessing, provenance, layers,
 * backend) for white-box mode.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageModel } from './image-model.ts';
import type { SequenceModel } from '../sequence/sequence-model.ts';

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

/** The public description of a sequence model (black-box mode shows only this). */
export function describeSequencePublic(model: SequenceModel): PublicSequenceDescription {
  const m = model.manifest;
  return {
    name: model.name,
    kind: 'sequence',
    task: m.task,
    ...(m.labels ? { labels: m.labels } : {}),
    input: { type: m.input.type },
  };
}

/** Everything about a sequence model: input alphabet, construction (hand-wired), architecture, provenance. */
export function describeSequence(model: SequenceModel, backend: string): Record<string, unknown> {
  const m = model.manifest;
  const vocab = model.vocabulary?.entries;
  return {
    ...describeSequencePublic(model),
    ...(m.description ? { description: m.description } : {}),
    format: m.format,
    input: {
      type: m.input.type,
      encoding: m.input.encoding,
      ...(vocab ? { vocabularySize: vocab.length } : {}),
      ...(vocab && m.input.type === 'characters' ? { vocabulary: vocab } : {}),
      ...(m.input.unknown !== undefined ? { unknown: m.input.unknown } : {}),
      ...(m.input.lowercase !== undefined ? { lowercase: m.input.lowercase } : {}),
      ...(m.input.context !== undefined ? { context: m.input.context } : {}),
    },
    ...(m.construction ? { construction: m.construction } : {}),
    architecture: model.architecture(),
    ...(m.provenance ? { provenance: m.provenance } : {}),
    source: model.source,
    backend,
  };
}

export interface PublicSequenceDescription {
  name: string;
  kind: 'sequence';
  task: string;
  labels?: string[];
  input: { type: string };
}
