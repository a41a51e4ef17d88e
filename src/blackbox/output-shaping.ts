/**
 * How much a black-box answer reveals, per model or for all: every class's probability
 * (`probabilities`), the k most probable (`topk`), or the predicted label alone (`label`);
 * probabilities optionally rounded to n decimals. Written `probabilities[:decimals]`,
 * `topk:k[:decimals]` or `label`; per model `mnist=label,fashion=topk:3:2`.
 * The less an answer says, the harder the attack: score-based attacks (SimBA, Square) need
 * probabilities, decision-based ones (HopSkipJump) and substitute training need only labels.
 */
import type { Prediction } from '../model/classes.ts';

export type OutputShape =
  | { kind: 'probabilities'; decimals?: number }
  | { kind: 'topk'; k: number; decimals?: number }
  | { kind: 'label' };

/** A prediction as a black-box client sees it: no probability under `label` output. */
export interface PublicPrediction {
  label: string;
  index: number;
  probability?: number;
}

export class OutputShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputShapeError';
  }
}

const SYNTAX = 'probabilities[:decimals], topk:k[:decimals] or label';

function whole(text: string | undefined, what: string, min: number, max: number, spec: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new OutputShapeError(`'${spec}': ${what} must be a whole number from ${min} to ${max}`);
  return n;
}

export function parseOutputShape(spec: string): OutputShape {
  const [kind, a, b, ...rest] = spec.trim().split(':');
  if (rest.length) throw new OutputShapeError(`'${spec}' is not ${SYNTAX}`);
  switch (kind) {
    case 'label':
      if (a !== undefined) throw new OutputShapeError(`'${spec}': label takes no arguments`);
      return { kind: 'label' };
    case 'probabilities': {
      if (b !== undefined) throw new OutputShapeError(`'${spec}' is not ${SYNTAX}`);
      const decimals = whole(a, 'decimals', 0, 12, spec);
      return decimals === undefined ? { kind } : { kind, decimals };
    }
    case 'topk': {
      const k = whole(a, 'k', 1, 100_000, spec);
      if (k === undefined) throw new OutputShapeError(`'${spec}': topk needs k, e.g. topk:3`);
      const decimals = whole(b, 'decimals', 0, 12, spec);
      return decimals === undefined ? { kind, k } : { kind, k, decimals };
    }
    default:
      throw new OutputShapeError(`'${spec}' is not ${SYNTAX}`);
  }
}

export function formatOutputShape(shape: OutputShape): string {
  if (shape.kind === 'label') return 'label';
  const d = shape.decimals !== undefined ? `:${shape.decimals}` : '';
  return shape.kind === 'topk' ? `topk:${shape.k}${d}` : `probabilities${d}`;
}

/** `mnist=label,fashion=topk:3:2` (entries may also come one per flag) → shape per model name. */
export function parseModelOutputs(entries: string[]): Record<string, OutputShape> {
  const out: Record<string, OutputShape> = {};
  for (const entry of entries.flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new OutputShapeError(`'${entry}' is not model=shape (shape: ${SYNTAX})`);
    out[entry.slice(0, eq).trim()] = parseOutputShape(entry.slice(eq + 1));
  }
  return out;
}

/**
 * How many classes to rank for a request: `probabilities` answers every class unless the client
 * asks for fewer with topK; `topk:k` at most k; `label` one.
 */
export function answeredClasses(shape: OutputShape, classes: number, requestedTopK?: number): number {
  const cap = shape.kind === 'label' ? 1 : shape.kind === 'topk' ? Math.min(shape.k, classes) : classes;
  return Math.min(cap, requestedTopK ?? cap);
}

function round(p: number, decimals: number | undefined): number {
  if (decimals === undefined) return p;
  const f = 10 ** decimals;
  return Math.round(p * f) / f;
}

/** Shapes one image's ranked predictions (highest first) for the answer. */
export function shapePredictions(ranked: Prediction[], shape: OutputShape, requestedTopK?: number): PublicPrediction[] {
  const n = answeredClasses(shape, Number.MAX_SAFE_INTEGER, requestedTopK);
  const kept = ranked.slice(0, n);
  if (shape.kind === 'label') return kept.map(({ label, index }) => ({ label, index }));
  return kept.map(({ label, index, probability }) => ({ label, index, probability: round(probability, shape.decimals) }));
}
