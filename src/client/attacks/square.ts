/**
 * Square Attack (L∞) — Andriushchenko, Croce, Flammarion & Hein 2020, "Square Attack: a
 * query-efficient black-box adversarial attack via random search". Score-based, untargeted.
 * Start from vertical stripes of ±ε; then, each iteration, pick a random square window and set
 * the perturbation inside it to +ε or −ε per channel; keep the change when the margin loss
 * log p(y) − max_{k≠y} log p(k) (the logit margin, since log-softmax shifts every class equally)
 * goes down. Success when the margin is negative. The square's area is a fraction p of the image,
 * halved on the paper's schedule (after 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 of 10,000
 * iterations, rescaled to `maxQueries`). One query per image per iteration; all active images
 * step together.
 * Defaults: ε = 0.3 (MNIST's usual L∞ radius, pixels in [0, 1]), p_init = 0.8 (large squares
 * suit 28×28 digits; the paper's ImageNet default is 0.05), 1,000 queries per image.
 */
import { seededRandom, type Random } from '../../datasets/seeded.ts';
import type { HttpOracle } from '../oracle.ts';
import { clip, margin, outcome, requireScores, type AttackTarget, type ImageOutcome, type OnProgress } from './common.ts';

export interface SquareOptions {
  epsilon: number;
  pInit: number;
  maxQueries: number;
  seed: number;
}

export const SQUARE_DEFAULTS: SquareOptions = { epsilon: 0.3, pInit: 0.8, maxQueries: 1000, seed: 0 };

/** The fraction of pixels the square covers at iteration `it` of `total` (the reference schedule). */
export function pSelection(pInit: number, it: number, total: number): number {
  const i = Math.floor((it / total) * 10000);
  const halvings = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000].filter((t) => i > t).length;
  return i > 10000 ? pInit : pInit / 2 ** halvings;
}

const sign = (random: Random) => (random() < 0.5 ? -1 : 1);

interface State {
  target: AttackTarget;
  /** The current perturbation δ = x − x0 (before clipping). */
  delta: Float32Array;
  x: Float32Array;
  loss: number;
  queries: number;
  done?: ImageOutcome;
}

export async function square(oracle: HttpOracle, targets: AttackTarget[], options: SquareOptions, onProgress?: OnProgress): Promise<ImageOutcome[]> {
  requireScores(oracle, targets, 'square');
  const [h, w, c] = oracle.model.inputShape;
  const random = seededRandom(`square-${options.seed}`);
  const eps = options.epsilon;
  const at = (y: number, x: number, ch: number) => (y * w + x) * c + ch;
  const apply = (x0: Float32Array, delta: Float32Array) => clip(x0.map((v, i) => v + delta[i]!), oracle.range);

  const states: State[] = targets.map((target) => {
    const delta = new Float32Array(h * w * c);
    for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
      const s = sign(random) * eps;
      for (let y = 0; y < h; y++) delta[at(y, x, ch)] = s;
    }
    return { target, delta, x: target.image, loss: margin(target.clean.probabilities!, target.clean.label), queries: 1 };
  });
  const report = () => onProgress?.({ done: states.filter((s) => s.done).length, total: states.length, successes: states.filter((s) => s.done?.success).length });

  /** Queries the candidates, accepts improvements, finishes successes; unaffordable states stop on 'budget'. */
  const evaluate = async (batch: State[], candidates: Float32Array[], deltas: Float32Array[]) => {
    const n = Math.min(batch.length, oracle.remaining);
    for (const s of batch.slice(n)) s.done = outcome(s.target, s.queries, 'budget', s.x, s.target.clean.label);
    if (!n) return;
    const answers = await oracle.classify(candidates.slice(0, n));
    for (let j = 0; j < n; j++) {
      const s = batch[j]!;
      const a = answers[j]!;
      s.queries++;
      const loss = margin(a.probabilities!, s.target.clean.label);
      if (a.label !== s.target.clean.label) {
        s.done = outcome(s.target, s.queries, 'success', candidates[j], a.label);
      } else if (loss < s.loss) {
        s.loss = loss;
        s.x = candidates[j]!;
        s.delta = deltas[j]!;
      }
    }
  };

  report();
  // The stripes first: the starting point is itself a query.
  const starts = states.map((s) => apply(s.target.image, s.delta));
  const initial = states.map((s) => s.delta);
  for (const s of states) s.loss = Infinity; // the stripes are always taken as the start
  await evaluate(states, starts, initial);
  report();
  for (let it = 1; ; it++) {
    for (const s of states) if (!s.done && s.queries >= options.maxQueries) s.done = outcome(s.target, s.queries, 'max-queries', s.x, s.target.clean.label);
    const active = states.filter((s) => !s.done);
    if (!active.length) break;
    const p = pSelection(options.pInit, it, options.maxQueries);
    const side = Math.min(Math.max(Math.round(Math.sqrt((p * h * w * c) / c)), 1), h - 1);
    const deltas: Float32Array[] = [];
    const candidates: Float32Array[] = [];
    for (const s of active) {
      const delta = Float32Array.from(s.delta);
      const y0 = Math.floor(random() * (h - side));
      const x0 = Math.floor(random() * (w - side));
      // Resample until the window actually changes the (clipped) image, as the reference does.
      for (let tries = 0; tries < 10; tries++) {
        for (let ch = 0; ch < c; ch++) {
          const v = sign(random) * eps;
          for (let y = y0; y < y0 + side; y++) for (let x = x0; x < x0 + side; x++) delta[at(y, x, ch)] = v;
        }
        let changed = false;
        for (let y = y0; y < y0 + side && !changed; y++) {
          for (let x = x0; x < x0 + side && !changed; x++) {
            for (let ch = 0; ch < c; ch++) {
              const i = at(y, x, ch);
              const v = Math.min(oracle.range[1], Math.max(oracle.range[0], s.target.image[i]! + delta[i]!));
              if (Math.abs(v - s.x[i]!) > 1e-7) changed = true;
            }
          }
        }
        if (changed) break;
      }
      deltas.push(delta);
      candidates.push(apply(s.target.image, delta));
    }
    await evaluate(active, candidates, deltas);
    report();
  }
  return states.map((s) => s.done!);
}
