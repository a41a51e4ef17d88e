/**
 * The manifest that describes one model folder (`models/<name>/manifest.json`): what the model is,
 * how its input looks, where its weights are and where it came from. Validated at start-up: a bad
 * manifest stops gradlab with a message naming the file and the field.
 *
 * This file holds what every manifest shares (name, provenance, ManifestError) and the image
 * classifier's manifest; sequence models add theirs in src/sequence/manifest.ts.
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

/** Parsed JSON object. */
export type Json = Record<string, unknown>;

/** Throws ManifestError for a field; the parsers bind the file name. */
export type FailField = (field: string, problem: string) => never;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every manifest's `name`: what the routes and the model list call the model. */
export function checkModelName(m: Json, fail: FailField): void {
  if (typeof m.name !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(m.name)) {
    fail('name', 'must be 1-64 letters, digits, dots, dashes or underscores');
  }
}

/** Every manifest's optional `provenance`: an object naming data set, split and training command. */
export function checkProvenance(m: Json, fail: FailField): void {
  if (m.provenance === undefined) return;
  if (!isObject(m.provenance)) fail('provenance', 'must be an object');
  const p = m.provenance;
  for (const key of ['dataset', 'split', 'trainedBy'] as const) {
    if (typeof p[key] !== 'string') fail(`provenance.${key}`, 'must be a string');
  }
}

/** Validates parsed manifest JSON for an image classifier; throws ManifestError naming the field. */
export function parseImageManifest(raw: unknown, file: string): ImageModelManifest {
  const fail: FailField = (field, problem) => {
    throw new ManifestError(file, field, problem);
  };
  if (!isObject(raw)) fail('(root)', 'must be a JSON object');
  const m = raw;
  checkModelName(m, fail);
  if (m.kind !== 'image-classifier') fail('kind', `must be 'image-classifier' (got ${JSON.stringify(m.kind)})`);
  const format = m.format ?? 'layers';
  if (format !== 'layers' && format !== 'graph') fail('format', "must be 'layers' or 'graph'");
  const model = m.model ?? 'model.json';
  if (typeof model !== 'string' || model.length === 0) fail('model', 'must be a path or URL string');
  if (!Array.isArray(m.labels) || m.labels.length < 2 || !m.labels.every((l) => typeof l === 'string')) {
    fail('labels', 'must be an array of at least two strings');
  }
  const labels = m.labels;
  if (new Set(labels).size !== labels.length) fail('labels', 'must not repeat a label');
  if (!isObject(m.input)) fail('input', 'must be an object with shape and range');
  const input = m.input;
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
  checkProvenance(m, fail);
  const testAccuracy = (m.provenance as Json | undefined)?.testAccuracy;
  if (testAccuracy !== undefined && !(typeof testAccuracy === 'number' && testAccuracy >= 0 && testAccuracy <= 1)) {
    fail('provenance.testAccuracy', 'must be a number between 0 and 1');
  }
  return {
    name: m.name as string,
    kind: 'image-classifier',
    ...(typeof m.description === 'string' ? { description: m.description } : {}),
    format,
    model,
    labels,
    input: { shape: shape as [number, number, number], range: range as [number, number] },
    output,
    ...(typeof m.preprocessing === 'string' ? { preprocessing: m.preprocessing } : {}),
    ...(m.provenance ? { provenance: m.provenance as Provenance } : {}),
  };
}

/** The `kind` a parsed manifest declares (image classifiers may omit it in older manifests: no). */
export function manifestKind(raw: unknown): unknown {
  return isObject(raw) ? raw.kind : undefined;
}
