/**
 * The manifest of a sequence model (`kind: 'sequence'`): the hand-wired and trained recurrent
 * networks of this folder. It shares name, description and provenance with image models
 * (src/model/manifest.ts) and adds what a sequence model needs: the task, the input alphabet and
 * the weights. Validated at start-up; a bad manifest names the file and the field.
 */
import { checkModelName, checkProvenance, isObject, ManifestError, type FailField, type Provenance } from '../model/manifest.ts';

export const SEQUENCE_TASKS = ['running-value', 'classifier', 'language-model'] as const;
export type SequenceTask = (typeof SEQUENCE_TASKS)[number];
const isSequenceTask = (value: unknown): value is SequenceTask => (SEQUENCE_TASKS as readonly unknown[]).includes(value);

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
  const fail: FailField = (field, problem) => {
    throw new ManifestError(file, field, problem);
  };
  if (!isObject(raw)) fail('(root)', 'must be a JSON object');
  const m = raw;
  checkModelName(m, fail);
  if (m.kind !== 'sequence') fail('kind', `must be 'sequence' (got ${JSON.stringify(m.kind)})`);
  if (!isSequenceTask(m.task)) fail('task', `must be one of ${SEQUENCE_TASKS.join(', ')}`);
  if (m.format !== 'hand-wired' && m.format !== 'layers') fail('format', "must be 'hand-wired' or 'layers'");
  const model = m.model ?? (m.format === 'layers' ? 'model.json' : 'weights.json');
  if (typeof model !== 'string' || model.length === 0) fail('model', 'must be a path string');
  if (!isObject(m.input)) fail('input', 'must be an object with type and encoding');
  const input = m.input;
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
    if (new Set(m.labels).size !== (m.labels).length) fail('labels', 'must not repeat a label');
  } else if (m.labels !== undefined) fail('labels', `is only for classifiers (task is '${m.task}')`);
  if (m.task === 'language-model' && !text) fail('task', "'language-model' needs characters or words input");
  if (m.format === 'hand-wired' && (typeof m.construction !== 'string' || m.construction.length === 0)) {
    fail('construction', 'must explain in words how the hand-written weights compute the answer');
  }
  if (m.construction !== undefined && typeof m.construction !== 'string') fail('construction', 'must be a string');
  if (m.description !== undefined && typeof m.description !== 'string') fail('description', 'must be a string');
  checkProvenance(m, fail);
  return {
    name: m.name as string,
    kind: 'sequence',
    ...(typeof m.description === 'string' ? { description: m.description } : {}),
    task: m.task,
    format: m.format,
    model: model,
    input: {
      type: input.type as SequenceInputType,
      encoding: encoding,
      ...(vocab !== undefined ? { vocabulary: vocab as string[] | string } : {}),
      ...(typeof input.unknown === 'string' ? { unknown: input.unknown } : {}),
      ...(typeof input.lowercase === 'boolean' ? { lowercase: input.lowercase } : {}),
      ...(typeof input.context === 'string' ? { context: input.context } : {}),
    },
    ...(m.labels ? { labels: m.labels } : {}),
    ...(typeof m.construction === 'string' ? { construction: m.construction } : {}),
    ...(m.provenance ? { provenance: m.provenance as Provenance } : {}),
  };
}
