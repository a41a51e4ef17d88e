/**
 * What the model list tells about a sequence model: the public part (name, task, labels, input
 * type) that even black-box mode shows, and everything else (input alphabet, construction of
 * hand-wired models, architecture, provenance) for white-box mode.
 */
import type { SequenceModel } from './sequence-model.ts';

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
