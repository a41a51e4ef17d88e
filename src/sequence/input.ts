/**
 * Turns what a client sends as `sequence` into what a sequence model reads, checking it against
 * the model's manifest: numbers (`[1.5, -2, 3]`), pairs (`[[1, 2], [3, 0.5]]`), bits (`[0, 1, 1]`
 * or `"011"`), characters (a string) or words (a string, split by the model's tokenizer).
 * Every problem is a 400 GradlabError that names the step: `sequence[3]: 2 is not a bit (0 or 1)`.
 */
import { badParameter } from '../errors.ts';
import type { SequenceInputSpec } from './manifest.ts';
import { tokenizeWords } from './text.ts';

/** One sequence ready for a network: `width` numbers per step, step-major. */
export interface EncodedSequence {
  /** Steps × width values (one-hot vectors, ids or raw values). */
  values: Float32Array;
  length: number;
  width: number;
  /** What each step is, for the answer: the number, the pair, the bit or the token. */
  display: (number | number[] | string)[];
  /** Text inputs: the vocabulary index of each step. */
  ids?: Int32Array;
}

/** A text model's vocabulary, resolved from the manifest (inline or from its JSON file). */
export interface Vocabulary {
  entries: string[];
  index: Map<string, number>;
}

export function makeVocabulary(entries: string[]): Vocabulary {
  return { entries, index: new Map(entries.map((e, i) => [e, i])) };
}

const FIELD = 'sequence';

function checkLength(n: number, maxLength: number): void {
  if (n === 0) throw badParameter(FIELD, 'is empty; send at least one step');
  if (n > maxLength) throw badParameter(FIELD, `has ${n} steps, more than the limit of ${maxLength} (maxSequenceLength)`);
}

/** The largest magnitude a float32 holds: networks compute in 32 bits, so a larger number becomes Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * A short rendering of a client's value for a message. Bounded in depth and length: a value
 * nested 10,000 deep must not overflow the stack (JSON.stringify recurses) or fill the answer.
 */
export function preview(v: unknown, depth = 0): string {
  if (Array.isArray(v)) {
    if (depth >= 2) return '[…]';
    return `[${v.slice(0, 8).map((x) => preview(x, depth + 1)).join(',')}${v.length > 8 ? ',…' : ''}]`;
  }
  if (typeof v === 'object' && v !== null) return '{…}';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function finite(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badParameter(field, `${preview(v)} is not a finite number`);
  if (Math.abs(v) > FLOAT32_MAX) throw badParameter(field, `${v} is larger than the models' 32-bit numbers can hold (±3.4e38)`);
  return v;
}

/** Splits a text input into vocabulary tokens (characters by code point, or words). */
export function tokenize(text: string, spec: SequenceInputSpec): string[] {
  const t = spec.lowercase ? text.toLowerCase() : text;
  return spec.type === 'characters' ? [...t] : tokenizeWords(t);
}

/** Validates and encodes `raw` for a model whose input is `spec`. */
export function encodeSequence(raw: unknown, spec: SequenceInputSpec, maxLength: number, vocab?: Vocabulary): EncodedSequence {
  switch (spec.type) {
    case 'numbers': {
      if (!Array.isArray(raw)) throw badParameter(FIELD, 'must be an array of numbers for this model');
      checkLength(raw.length, maxLength);
      const values = Float32Array.from(raw, (v, i) => finite(v, `${FIELD}[${i}]`));
      return { values, length: raw.length, width: 1, display: Array.from(values) };
    }
    case 'pairs': {
      if (!Array.isArray(raw)) throw badParameter(FIELD, 'must be an array of [a, b] pairs for this model');
      checkLength(raw.length, maxLength);
      const values = new Float32Array(raw.length * 2);
      raw.forEach((p, i) => {
        if (!Array.isArray(p) || p.length !== 2) {
          throw badParameter(`${FIELD}[${i}]`, `must be a pair [a, b] of two numbers, got ${preview(p)}`);
        }
        values[2 * i] = finite(p[0], `${FIELD}[${i}][0]`);
        values[2 * i + 1] = finite(p[1], `${FIELD}[${i}][1]`);
      });
      return { values, length: raw.length, width: 2, display: raw.map((_, i) => [values[2 * i]!, values[2 * i + 1]!]) };
    }
    case 'bits': {
      const steps: unknown[] = typeof raw === 'string' ? [...raw] : Array.isArray(raw) ? raw : [];
      if (typeof raw !== 'string' && !Array.isArray(raw)) throw badParameter(FIELD, "must be an array of bits [0, 1, ...] or a string like '0110'");
      checkLength(steps.length, maxLength);
      const values = Float32Array.from(steps, (v, i) => {
        if (v === 0 || v === 1 || v === '0' || v === '1') return Number(v);
        throw badParameter(`${FIELD}[${i}]`, `${preview(v)} is not a bit (0 or 1)`);
      });
      return { values, length: steps.length, width: 1, display: Array.from(values) };
    }
    case 'characters':
    case 'words': {
      if (typeof raw !== 'string') throw badParameter(FIELD, `must be a string of text for this model`);
      if (!vocab) throw new Error('a text model needs its vocabulary');
      const tokens = tokenize(raw, spec);
      checkLength(tokens.length, maxLength);
      const unknown = spec.unknown === undefined ? undefined : vocab.index.get(spec.unknown);
      const ids = Int32Array.from(tokens, (tok, i) => {
        const id = vocab.index.get(tok) ?? unknown;
        if (id === undefined) {
          throw badParameter(`${FIELD}[${i}]`, `${JSON.stringify(tok)} is not in the model's vocabulary (${vocab.entries.length} ${spec.type})`);
        }
        return id;
      });
      return encodeIds(ids, tokens, spec, vocab);
    }
  }
}

/** Encodes vocabulary ids as the network reads them (one-hot vectors or ids). */
export function encodeIds(ids: Int32Array, display: string[], spec: SequenceInputSpec, vocab: Vocabulary): EncodedSequence {
  const n = ids.length;
  if (spec.encoding === 'ids') return { values: Float32Array.from(ids), length: n, width: 1, display, ids };
  const width = vocab.entries.length;
  const values = new Float32Array(n * width);
  for (let t = 0; t < n; t++) values[t * width + ids[t]!] = 1;
  return { values, length: n, width, display, ids };
}
