/**
 * The manifest that describes one model folder (`models/<name>/manifest.json`): what the model is,
 * how its input looks, where its weights are and where it came from. Validated at start-up: a bad
 * manifest stops gradlab with a message naming the file and the field.
 */

export const MODEL_KINDS = ['image-classifier', 'sequence'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export interface ImageInputSpec {
  /** [height, width, channels], channels 1 (grey) or 3 (RGB). */
  shape: [number, number, number];
  /** The value range the network expects, e.g. [0, 1] or [-1, 1]. */
  range: [number, number];
}

export interface Provenance {
  dataset: string;
  split: string;
  /** Measured accuracy on the held-out split, 0..1. */
  testAccuracy?: number;
  testExamples?: number;
  /** The command that trained the model, e.g. `npm run train -- mnist`. */
  trainedBy: string;
  [extra: string]: unknown;
}

export interface ImageModelManifest {
  name: string;
  kind: 'image-classifier';
  description?: string;
  /** `layers` (tf.LayersModel) or `graph` (tf.GraphModel). */
  format: 'layers' | 'graph';
  /** Path or URL of model.json, relative to the manifest; default `model.json`. */
  model: string;
  labels: string[];
  input: ImageInputSpec;
  /** What the network's output is: raw `logits` or softmax `probabilities`. */
  output: 'logits' | 'probabilities';
  /** How an encoded image is turned into the input, in words, for users. */
  preprocessing?: string;
  provenance?: Provenance;
}

export class ManifestError extends Error {
  constructor(file: string, field: string, problem: string) {
    super(`${file}: field '${field}' ${problem}`);
    this.name = 'ManifestError';
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates parsed manifest JSON for an image classifier; throws ManifestError naming the field. */
export function parseImageManifest(raw: unknown, file: string): ImageModelManifest {
  const fail = (field: string, problem: string): never => {
    throw new ManifestError(file, field, problem);
  };
  if (!isObject(raw)) fail('(root)', 'must be a JSON object');
  const m = raw as Json;
  if (typeof m.name !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(m.name)) {
    fail('name', 'must be 1-64 letters, digits, dots, dashes or underscores');
  }
  if (m.kind !== 'image-classifier') fail('kind', `must be 'image-classifier' (got ${JSON.stringify(m.kind)})`);
  const format = m.format ?? 'layers';
  if (format !== 'layers' && format !== 'graph') fail('format', "must be 'layers' or 'graph'");
  const model = m.model ?? 'model.json';
  if (typeof model !== 'string' || model.length === 0) fail('model', 'must be a path or URL string');
  if (!Array.isArray(m.labels) || m.labels.length < 2 || !m.labels.every((l) => typeof l === 'string')) {
    fail('labels', 'must be an array of at least two strings');
  }
  const labels = m.labels as string[];
  if (new Set(labels).size !== labels.length) fail('labels', 'must not repeat a label');
  if (!isObject(m.input)) fail('input', 'must be an object with shape and range');
  const input = m.input as Json;
  const shape = input.shape;
  if (
    !Array.isArray(shape) ||
    shape.length !== 3 ||
    !shape.every((d) => Number.isInteger(d) && d > 0 && d <= 4096) ||
    (shape[2] !== 1 && shape[2] !== 3)
  ) {
    fail('input.shape', 'must be [height, width, channels] with channels 1 or 3');
  }
  const range = input.range ?? [0, 1];
  if (
    !Array.isArray(range) ||
    range.length !== 2 ||
    !range.every((v) => typeof v === 'number' && Number.isFinite(v)) ||
    !(range[0] < range[1])
  ) {
    fail('input.range', 'must be [min, max] with min < max');
  }
  const output = m.output ?? 'logits';
  if (output !== 'logits' && output !== 'probabilities') fail('output', "must be 'logits' or 'probabilities'");
  if (m.preprocessing !== undefined && typeof m.preprocessing !== 'string') fail('preprocessing', 'must be a string');
  if (m.description !== undefined && typeof m.description !== 'string') fail('description', 'must be a string');
  if (m.provenance !== undefined) {
    if (!isObject(m.provenance)) fail('provenance', 'must be an object');
    const p = m.provenance as Json;
    for (const key of ['dataset', 'split', 'trainedBy'] as const) {
      if (typeof p[key] !== 'string') fail(`provenance.${key}`, 'must be a string');
    }
    if (p.testAccuracy !== undefined && !(typeof p.testAccuracy === 'number' && p.testAccuracy >= 0 && p.testAccuracy <= 1)) {
      fail('provenance.testAccuracy', 'must be a number between 0 and 1');
    }
  }
  return {
    name: m.name as string,
    kind: 'image-classifier',
    ...(typeof m.description === 'string' ? { description: m.description } : {}),
    format: format as 'layers' | 'graph',
    model: model as string,
    labels,
    input: { shape: shape as [number, number, number], range: range as [number, number] },
    output: output as 'logits' | 'probabilities',
    ...(typeof m.preprocessing === 'string' ? { preprocessing: m.preprocessing } : {}),
    ...(m.provenance ? { provenance: m.provenance as Provenance } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Sequence models (`kind: 'sequence'`): the hand-wired and trained recurrent networks of
// `src/sequence/`. Their manifests share name, description and provenance with image models and
// add what a sequence model needs: the task, the input alphabet and the weights.

export const SEQUENCE_TASKS = ['running-value', 'classifier', 'language-model'] as const;
export type SequenceTask = (typeof SEQUENCE_TASKS)[number];

/**
 * What one step of the input is: a number, a pair of numbers, a bit (0/1), a character of a text
 * or a word of a text.
 */
export const SEQUENCE_INPUT_TYPES = ['numbers', 'pairs', 'bits', 'characters', 'words'] as const;
export type SequenceInputType = (typeof SEQUENCE_INPUT_TYPES)[number];

export interface SequenceInputSpec {
  type: SequenceInputType;
  /** Characters or words the model knows (text inputs): inline, or a JSON file next to the manifest. */
  vocabulary?: string[] | string;
  /** Text inputs: the vocabulary entry that unknown words/characters become; absent: they are a 400. */
  unknown?: string;
  /** Text inputs: lower-case the text before tokenising. */
  lowercase?: boolean;
  /** How a step reaches the network: raw values, a one-hot vector over the vocabulary, or an id (Embedding). */
  encoding: 'values' | 'one-hot' | 'ids';
  /** Language models: the text is scored as if it followed this vocabulary entry (default: none). */
  context?: string;
}

export interface SequenceModelManifest {
  name: string;
  kind: 'sequence';
  description?: string;
  task: SequenceTask;
  /** `hand-wired` (weights written by hand, `weights` names the JSON) or `layers` (a tf.LayersModel). */
  format: 'hand-wired' | 'layers';
  /** model.json (layers) or the weights JSON (hand-wired), relative to the manifest. */
  model: string;
  input: SequenceInputSpec;
  /** Classifiers: one label per class (hand-wired: the output unit's value indexes them). */
  labels?: string[];
  /** Hand-wired models: how the weights compute the answer, in words, shown by GET /v1/models. */
  construction?: string;
  provenance?: Provenance;
}

/** Validates parsed manifest JSON for a sequence model; throws ManifestError naming the field. */
export function parseSequenceManifest(raw: unknown, file: string): SequenceModelManifest {
  const fail = (field: string, problem: string): never => {
    throw new ManifestError(file, field, problem);
  };
  if (!isObject(raw)) fail('(root)', 'must be a JSON object');
  const m = raw as Json;
  if (typeof m.name !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(m.name)) {
    fail('name', 'must be 1-64 letters, digits, dots, dashes or underscores');
  }
  if (m.kind !== 'sequence') fail('kind', `must be 'sequence' (got ${JSON.stringify(m.kind)})`);
  if (!(SEQUENCE_TASKS as readonly unknown[]).includes(m.task)) fail('task', `must be one of ${SEQUENCE_TASKS.join(', ')}`);
  if (m.format !== 'hand-wired' && m.format !== 'layers') fail('format', "must be 'hand-wired' or 'layers'");
  const model = m.model ?? (m.format === 'layers' ? 'model.json' : 'weights.json');
  if (typeof model !== 'string' || model.length === 0) fail('model', 'must be a path string');
  if (!isObject(m.input)) fail('input', 'must be an object with type and encoding');
  const input = m.input as Json;
  if (!(SEQUENCE_INPUT_TYPES as readonly unknown[]).includes(input.type)) {
    fail('input.type', `must be one of ${SEQUENCE_INPUT_TYPES.join(', ')}`);
  }
  const text = input.type === 'characters' || input.type === 'words';
  const encoding = input.encoding ?? (text ? 'one-hot' : 'values');
  if (encoding !== 'values' && encoding !== 'one-hot' && encoding !== 'ids') fail('input.encoding', "must be 'values', 'one-hot' or 'ids'");
  if (text && encoding === 'values') fail('input.encoding', "must be 'one-hot' or 'ids' for text input");
  if (!text && encoding !== 'values') fail('input.encoding', "must be 'values' for numeric input");
  const vocab = input.vocabulary;
  if (text) {
    const inline = Array.isArray(vocab) && vocab.length >= 2 && vocab.every((v) => typeof v === 'string' && v.length > 0);
    if (!inline && !(typeof vocab === 'string' && vocab.length > 0)) {
      fail('input.vocabulary', 'must be an array of at least two non-empty strings or the name of a JSON file holding one');
    }
    if (Array.isArray(vocab) && new Set(vocab).size !== vocab.length) fail('input.vocabulary', 'must not repeat an entry');
    if (Array.isArray(vocab) && input.type === 'characters' && !vocab.every((v) => [...(v as string)].length === 1)) {
      fail('input.vocabulary', 'must hold single characters for character input');
    }
  } else if (vocab !== undefined) fail('input.vocabulary', 'is only for characters or words input');
  for (const key of ['unknown', 'context'] as const) {
    if (input[key] === undefined) continue;
    if (!text || typeof input[key] !== 'string') fail(`input.${key}`, 'must be a vocabulary entry (text input only)');
    if (Array.isArray(vocab) && !vocab.includes(input[key])) fail(`input.${key}`, `'${input[key]}' is not in input.vocabulary`);
  }
  if (input.lowercase !== undefined && typeof input.lowercase !== 'boolean') fail('input.lowercase', 'must be a boolean');
  if (m.task === 'classifier') {
    if (!Array.isArray(m.labels) || m.labels.length < 2 || !m.labels.every((l) => typeof l === 'string')) {
      fail('labels', 'must be an array of at least two strings for a classifier');
    }
    if (new Set(m.labels as string[]).size !== (m.labels as string[]).length) fail('labels', 'must not repeat a label');
  } else if (m.labels !== undefined) fail('labels', `is only for classifiers (task is '${m.task}')`);
  if (m.task === 'language-model' && !text) fail('task', "'language-model' needs characters or words input");
  if (m.format === 'hand-wired' && (typeof m.construction !== 'string' || m.construction.length === 0)) {
    fail('construction', 'must explain in words how the hand-written weights compute the answer');
  }
  if (m.construction !== undefined && typeof m.construction !== 'string') fail('construction', 'must be a string');
  if (m.description !== undefined && typeof m.description !== 'string') fail('description', 'must be a string');
  if (m.provenance !== undefined) {
    if (!isObject(m.provenance)) fail('provenance', 'must be an object');
    const p = m.provenance as Json;
    for (const key of ['dataset', 'split', 'trainedBy'] as const) {
      if (typeof p[key] !== 'string') fail(`provenance.${key}`, 'must be a string');
    }
  }
  return {
    name: m.name as string,
    kind: 'sequence',
    ...(typeof m.description === 'string' ? { description: m.description } : {}),
    task: m.task as SequenceTask,
    format: m.format as 'hand-wired' | 'layers',
    model: model as string,
    input: {
      type: input.type as SequenceInputType,
      encoding: encoding as SequenceInputSpec['encoding'],
      ...(vocab !== undefined ? { vocabulary: vocab as string[] | string } : {}),
      ...(typeof input.unknown === 'string' ? { unknown: input.unknown } : {}),
      ...(typeof input.lowercase === 'boolean' ? { lowercase: input.lowercase } : {}),
      ...(typeof input.context === 'string' ? { context: input.context } : {}),
    },
    ...(m.labels ? { labels: m.labels as string[] } : {}),
    ...(typeof m.construction === 'string' ? { construction: m.construction } : {}),
    ...(m.provenance ? { provenance: m.provenance as Provenance } : {}),
  };
}

/** The `kind` a parsed manifest declares (image classifiers may omit it in older manifests: no). */
export function manifestKind(raw: unknown): unknown {
  return isObject(raw) ? raw.kind : undefined;
}
