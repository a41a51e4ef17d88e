/**
 * Classes of a classifier, the leaf every layer above the model shares: a `Prediction` (one
 * class with its probability), the top-k of a probability vector, and `resolveClass`, which turns
 * a client's class (an index or a label) into an index or a 400 naming the field. Black-box output
 * shaping, attacks, explanations, visualisation and sequence explanations all use these, so a class
 * is named, ordered and refused the same way everywhere. Imports nothing but the error table.
 */
import { badParameter } from '../errors.ts';

/** One class of a model's output: its label, its index and its probability. */
export interface Prediction {
  label: string;
  index: number;
  probability: number;
}

/** A class without a probability (a target, a true class). */
export interface ClassRef {
  index: number;
  label: string;
}

/** The k most probable classes, highest first (ties broken by class index). */
export function topPredictions(probabilities: ArrayLike<number>, labels: string[], k: number): Prediction[] {
  const order = Array.from({ length: probabilities.length }, (_, i) => i);
  order.sort((a, b) => probabilities[b]! - probabilities[a]! || a - b);
  return order.slice(0, Math.min(k, order.length)).map((index) => ({
    label: labels[index]!,
    index,
    probability: probabilities[index]!,
  }));
}

/** The index of the most probable class (ties: the lowest index). */
export function topClass(probabilities: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < probabilities.length; i++) if (probabilities[i]! > probabilities[best]!) best = i;
  return best;
}

/** A class index or label sent by a client, as an index; a 400 naming `field` when it is not a class. */
export function resolveClass(labels: string[], value: number | string, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value >= labels.length) {
      throw badParameter(field, `class index ${value} is out of range 0..${labels.length - 1}`);
    }
    return value;
  }
  const index = labels.indexOf(value);
  if (index < 0) {
    const shown = labels.length <= 20 ? labels.map((l) => `'${l}'`).join(', ') : `${labels.length} labels (listed in the model's description)`;
    throw badParameter(field, `unknown label '${value}'; the model's labels are ${shown}`);
  }
  return index;
}

/** `{index, label}` for a class index. */
export function classRef(labels: string[], index: number): ClassRef {
  return { index, label: labels[index]! };
}
