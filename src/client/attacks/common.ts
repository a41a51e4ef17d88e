/**
 * What every query attack of the client shares: the images it attacks (with the label the oracle
 * gave the clean image), one outcome per image, progress events, per-image query books, and small
 * vector helpers. Images are flat Float32Arrays [H*W*C] in the oracle's value range.
 */
import type { Random } from '../../datasets/seeded.ts';
import type { HttpOracle, OracleAnswer } from '../oracle.ts';

export interface AttackTarget {
  /** Position in the attacker's data set, for file names and reports. */
  id: number;
  image: Float32Array;
  /** The true class, when the attacker's data is labelled (for the misclassification rate). */
  trueLabel?: number;
  /** The oracle's answer for the clean image (already paid for). */
  clean: OracleAnswer;
}

/** Why an image's attack ended: success, its own query cap, the oracle's budget, nothing left to try, no misclassified start (HopSkipJump), or ran its course (substitute: did not transfer). */
export type StopReason = 'success' | 'max-queries' | 'budget' | 'exhausted-basis' | 'no-start' | 'failed';

export interface ImageOutcome {
  id: number;
  /** The oracle's label for the clean image (what the attack moves away from). */
  label: number;
  success: boolean;
  /** The oracle's label for the adversarial image, when one was found. */
  adversarialLabel?: number;
  adversarial?: Float32Array;
  /** Queries spent on this image, counting the clean query. */
  queries: number;
  l2: number;
  linf: number;
  stopped: StopReason;
}

export interface ProgressEvent {
  /** Images finished (success or given up). */
  done: number;
  total: number;
  successes: number;
  note?: string;
}

export type OnProgress = (event: ProgressEvent) => void;

export function l2(a: Float32Array, b: Float32Array): number {
  let sq = 0;
  for (let i = 0; i < a.length; i++) sq += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sq);
}

export function linf(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function clip(x: Float32Array, [lo, hi]: [number, number]): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = Math.min(hi, Math.max(lo, x[i]!));
  return x;
}

/** A standard normal number (Box–Muller). */
export function gaussian(random: Random): number {
  let u = 0;
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export function outcome(target: AttackTarget, queries: number, stopped: StopReason, adversarial?: Float32Array, adversarialLabel?: number): ImageOutcome {
  const success = adversarial !== undefined && adversarialLabel !== undefined && adversarialLabel !== target.clean.label;
  return {
    id: target.id,
    label: target.clean.label,
    success,
    ...(adversarial && adversarialLabel !== undefined ? { adversarial, adversarialLabel } : {}),
    queries,
    l2: adversarial ? l2(adversarial, target.image) : 0,
    linf: adversarial ? linf(adversarial, target.image) : 0,
    stopped,
  };
}

/** The margin log p(y) − max_{k≠y} log p(k): negative exactly when y is no longer the top class. */
export function margin(probabilities: Float32Array, y: number): number {
  let other = -Infinity;
  for (let k = 0; k < probabilities.length; k++) if (k !== y) other = Math.max(other, Math.log(Math.max(probabilities[k]!, 1e-12)));
  return Math.log(Math.max(probabilities[y]!, 1e-12)) - other;
}

export function requireScores(oracle: HttpOracle, targets: AttackTarget[], attack: string): void {
  if (targets.some((t) => !t.clean.probabilities)) {
    throw new Error(`${attack} is score-based and this oracle answers labels only; use hopskipjump or substitute`);
  }
}
