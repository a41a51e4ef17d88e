/**
 * SimBA — Guo, Gardner, You, Wilson & Weinberger 2019, "Simple Black-box Adversarial Attacks".
 * Score-based, untargeted. Walk through an orthonormal basis in random order; for each direction
 * q try x − εq, then x + εq, and keep whichever lowers the oracle's probability of the original
 * class. At most 2 queries per direction; stops at the first misclassification.
 * Bases: `pixel` (one coordinate at a time, in random order) and `dct` (SimBA-DCT: 2-D DCT-II
 * basis images, low frequencies first — every pair with both frequencies below `freqDims`, then
 * bands of `stride` — random order within a band).
 * Defaults: ε = 0.2 (the paper's step, in [0, 1] pixel units), 1,000 queries per image. The
 * perturbation's L2 grows as ε·√(accepted steps), at most ε per direction (orthonormal basis).
 * All active images take their step together: one request per half-step for the whole batch.
 */
import { permutation, seededRandom, type Random } from '../../datasets/seeded.ts';
import type { HttpOracle } from '../oracle.ts';
import { clip, outcome, requireScores, type AttackTarget, type ImageOutcome, type OnProgress } from './common.ts';

export interface SimbaOptions {
  basis: 'pixel' | 'dct';
  epsilon: number;
  maxQueries: number;
  seed: number;
  /** SimBA-DCT: the low-frequency block tried first (default ⌈side/4⌉). */
  freqDims?: number;
  /** SimBA-DCT: width of each later frequency band (default = freqDims). */
  stride?: number;
}

export const SIMBA_DEFAULTS: SimbaOptions = { basis: 'dct', epsilon: 0.2, maxQueries: 1000, seed: 0 };

/** A direction of the basis, as a sparse list of (index, value) with unit L2 norm. */
interface Direction {
  index: Int32Array;
  value: Float32Array;
}

function dctCoefficient(n: number, k: number, x: number): number {
  const scale = k === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
  return scale * Math.cos((Math.PI * (2 * x + 1) * k) / (2 * n));
}

/** The order in which SimBA-DCT visits (u, v, channel): low-frequency block first, then bands. */
export function dctOrder(h: number, w: number, c: number, random: Random, freqDims: number, stride: number): [number, number, number][] {
  const band = (u: number, v: number) => {
    const f = Math.max(u, v);
    return f < freqDims ? 0 : 1 + Math.floor((f - freqDims) / stride);
  };
  const all: { u: number; v: number; ch: number; band: number; r: number }[] = [];
  for (let u = 0; u < h; u++) for (let v = 0; v < w; v++) for (let ch = 0; ch < c; ch++) all.push({ u, v, ch, band: band(u, v), r: random() });
  all.sort((a, b) => a.band - b.band || a.r - b.r);
  return all.map((d) => [d.u, d.v, d.ch]);
}

function dctDirection(h: number, w: number, c: number, [u, v, ch]: [number, number, number]): Direction {
  const index = new Int32Array(h * w);
  const value = new Float32Array(h * w);
  let i = 0;
  for (let y = 0; y < h; y++) {
    const cy = dctCoefficient(h, u, y);
    for (let x = 0; x < w; x++) {
      index[i] = (y * w + x) * c + ch;
      value[i++] = cy * dctCoefficient(w, v, x);
    }
  }
  return { index, value };
}

function step(x: Float32Array, d: Direction, amount: number, range: [number, number]): Float32Array {
  const out = Float32Array.from(x);
  for (let i = 0; i < d.index.length; i++) out[d.index[i]!] = out[d.index[i]!]! + amount * d.value[i]!;
  return clip(out, range);
}

interface State {
  target: AttackTarget;
  x: Float32Array;
  /** The oracle's probability of the original class at x. */
  p: number;
  order: number;
  queries: number;
  done?: ImageOutcome;
}

export async function simba(oracle: HttpOracle, targets: AttackTarget[], options: SimbaOptions, onProgress?: OnProgress): Promise<ImageOutcome[]> {
  requireScores(oracle, targets, 'simba');
  const [h, w, c] = oracle.model.inputShape;
  const random = seededRandom(`simba-${options.seed}`);
  const freqDims = options.freqDims ?? Math.ceil(Math.max(h, w) / 4);
  const stride = options.stride ?? freqDims;
  const directions: Direction[] =
    options.basis === 'dct'
      ? dctOrder(h, w, c, random, freqDims, stride).map((f) => dctDirection(h, w, c, f))
      : Array.from(permutation(h * w * c, random), (i) => ({ index: Int32Array.of(i), value: Float32Array.of(1) }));
  // One random order of the basis per image (the DCT order shares the band structure).
  const orders = targets.map(() => (options.basis === 'dct' ? null : permutation(directions.length, random)));
  const states: State[] = targets.map((target) => ({ target, x: Float32Array.from(target.image), p: target.clean.probabilities![target.clean.label]!, order: 0, queries: 1 }));
  const finish = (s: State, stopped: ImageOutcome['stopped'], adv?: Float32Array, label?: number) => {
    s.done = outcome(s.target, s.queries, stopped, adv, label);
  };
  const report = (note?: string) => onProgress?.({ done: states.filter((s) => s.done).length, total: states.length, successes: states.filter((s) => s.done?.success).length, ...(note ? { note } : {}) });
  const directionOf = (s: State, i: number) => {
    const o = orders[i];
    return directions[o ? o[s.order]! : s.order]!;
  };

  /** Tries x + sign·ε·q for the given states; returns those that did not improve. */
  const tryStep = async (batch: { s: State; i: number }[], sign: number): Promise<{ s: State; i: number }[]> => {
    const affordable = batch.slice(0, oracle.remaining);
    for (const { s } of batch.slice(affordable.length)) finish(s, 'budget', s.x, s.target.clean.label);
    if (!affordable.length) return [];
    const candidates = affordable.map(({ s, i }) => step(s.x, directionOf(s, i), sign * options.epsilon, oracle.range));
    const answers = await oracle.classify(candidates);
    const failed: { s: State; i: number }[] = [];
    affordable.forEach(({ s, i }, j) => {
      s.queries++;
      const a = answers[j]!;
      if (a.label !== s.target.clean.label) {
        s.x = candidates[j]!;
        finish(s, 'success', s.x, a.label);
      } else if (a.probabilities![s.target.clean.label]! < s.p) {
        s.x = candidates[j]!;
        s.p = a.probabilities![s.target.clean.label]!;
      } else failed.push({ s, i });
    });
    return failed;
  };

  report();
  for (;;) {
    const active = states.map((s, i) => ({ s, i })).filter(({ s }) => !s.done);
    if (!active.length) break;
    for (const { s } of active) {
      if (s.order >= directions.length) finish(s, 'exhausted-basis', s.x, s.target.clean.label);
      else if (s.queries >= options.maxQueries) finish(s, 'max-queries', s.x, s.target.clean.label);
    }
    const live = active.filter(({ s }) => !s.done);
    if (!live.length) break;
    const failed = await tryStep(live, -1);
    // A second query only where the per-image cap allows it.
    const second = failed.filter(({ s }) => !s.done && s.queries < options.maxQueries);
    await tryStep(second, +1);
    for (const { s } of live) s.order++;
    report();
  }
  report();
  return states.map((s) => s.done!);
}
