/**
 * Square Attack (Andriushchenko, Croce, Flammarion & Hein 2020, "Square Attack: a query-efficient
 * black-box adversarial attack via random search", ECCV), L∞, untargeted — AutoAttack's fourth
 * stage. Score-based: it sees the model only through a query function returning class
 * probabilities (no gradient, no logits), so it is indifferent to gradient masking; that is why
 * AutoAttack includes it. Runs on the server against any served model.
 *
 * From vertical stripes of ±ε, each iteration proposes changing one random square window to a new
 * ±ε per channel and keeps the change for each image whose margin loss
 * log p_y − max_{k≠y} log p_k went down; an image stops at the first negative margin. The window
 * side follows the paper's schedule: a fraction p of the pixels, p = pInit halved at
 * 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of 10,000 iterations (rescaled to `queries`).
 * Defaults: 5,000 queries, pInit 0.8 (AutoAttack "standard"). Randomness from `seed` (seedrandom).
 * Cost: one query per image per iteration; a query counts as a third of a gradient iteration.
 */
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import type { ImageModel } from '../model/image-model.ts';
import { nextTick } from './gradient-descent.ts';
import { defineAttack, type AttackContext } from './spec.ts';

/** A forward-only query costs about a third of a gradient iteration (the unit of the step limit). */
export const queryCost = (queries: number) => Math.ceil(queries / 3);

/** The fraction of pixels a window covers at iteration `it` of `total` (the paper's schedule). */
export function squareFraction(pInit: number, it: number, total: number): number {
  const scaled = Math.floor((it / total) * 10_000);
  const bounds = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000, 10_000];
  let halvings = 0;
  while (halvings < bounds.length && scaled > bounds[halvings]!) halvings++;
  return halvings === bounds.length ? pInit : pInit / 2 ** halvings;
}

/** A query: probabilities [N, K] for images [N, H, W, C] (a forward pass, nothing else). */
export type ProbabilityQuery = (images: tf.Tensor4D) => Float32Array[];

export function probabilityQuery(model: ImageModel): ProbabilityQuery {
  return (images) => {
    const flat = tf.tidy(() => model.probabilities(images).dataSync() as Float32Array);
    const k = model.manifest.labels.length;
    return Array.from({ length: images.shape[0] }, (_, i) => flat.slice(i * k, (i + 1) * k));
  };
}

function margin(p: Float32Array, label: number): number {
  let best = -Infinity;
  p.forEach((v, k) => {
    if (k !== label) best = Math.max(best, v);
  });
  return Math.log(Math.max(p[label]!, 1e-30)) - Math.log(Math.max(best, 1e-30));
}

export async function squareAttack(c: AttackContext, queries: number, pInit: number, query: ProbabilityQuery): Promise<{ adversarial: tf.Tensor4D; iterations: number }> {
  const [n, h, w, ch] = c.x0.shape;
  const size = h * w * ch;
  const [lo, hi] = c.bounds;
  const eps = c.epsilon!;
  const random = seedrandom(`square-${c.seed}`);
  const sign = () => (random.quick() < 0.5 ? -eps : eps);
  const x0 = c.x0.dataSync() as Float32Array;
  const clip = (v: number) => Math.min(hi, Math.max(lo, v));
  const best = new Float32Array(n * size);
  // Vertical stripes: one ±ε per column and channel of each image.
  for (let i = 0; i < n; i++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < ch; k++) {
        const s = sign();
        for (let y = 0; y < h; y++) best[i * size + (y * w + x) * ch + k] = clip(x0[i * size + (y * w + x) * ch + k]! + s);
      }
    }
  }
  const labels = c.criterion.classes;
  const evaluate = (data: Float32Array, rows: number[]) => {
    const t = tf.tensor4d(data, [rows.length, h, w, ch]);
    try {
      return query(t).map((p, j) => ({ margin: margin(p, labels[rows[j]!]!), top: p.indexOf(Math.max(...p)) }));
    } finally {
      t.dispose();
    }
  };
  const all = Array.from({ length: n }, (_, i) => i);
  const first = evaluate(best, all);
  const bestMargin = first.map((r) => r.margin);
  const done = first.map((r, i) => c.criterion.isAdversarial(r.top, i));
  let iterations = 1;
  for (let it = 1; it < queries; it++) {
    const open = all.filter((i) => !done[i]);
    if (open.length === 0) break;
    c.deadline.check();
    const p = squareFraction(pInit, it, queries);
    const side = Math.min(Math.max(Math.round(Math.sqrt(p * h * w)), 1), h - 1);
    const top = Math.floor(random.quick() * (h - side));
    const left = Math.floor(random.quick() * (w - side));
    const proposal = new Float32Array(open.length * size);
    open.forEach((i, j) => {
      proposal.set(best.subarray(i * size, (i + 1) * size), j * size);
      for (let k = 0; k < ch; k++) {
        const s = sign();
        for (let y = top; y < top + side; y++) {
          for (let x = left; x < left + side; x++) {
            const at = (y * w + x) * ch + k;
            proposal[j * size + at] = clip(x0[i * size + at]! + s);
          }
        }
      }
    });
    const results = evaluate(proposal, open);
    iterations = it + 1;
    results.forEach((r, j) => {
      const i = open[j]!;
      if (r.margin < bestMargin[i]!) {
        bestMargin[i] = r.margin;
        best.set(proposal.subarray(j * size, (j + 1) * size), i * size);
      }
      if (c.criterion.isAdversarial(r.top, i) && r.margin <= bestMargin[i]!) done[i] = true;
    });
    if (it % 10 === 0 || open.length === 0) {
      c.onStep({ step: it, steps: queries, loss: bestMargin.reduce((a, b) => a + b, 0) / n });
      await nextTick();
    }
  }
  return { adversarial: tf.tensor4d(best, [n, h, w, ch]), iterations };
}

export const square = defineAttack<{ [k: string]: number; queries: number; pInit: number }>({
  name: 'square',
  paper: 'Andriushchenko, Croce, Flammarion & Hein 2020 (Square Attack)',
  kind: 'fixed-epsilon',
  norms: ['linf'],
  defaultNorm: 'linf',
  targetable: false,
  params: {
    queries: { type: 'integer', minimum: 1, maximum: 100_000, default: 5000, description: 'model queries per image at most (Square; AutoAttack: its Square stage)' },
    pInit: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.8, description: 'initial fraction of pixels a square covers (halved on the paper\'s schedule)' },
  },
  iterationFactors: ['queries'],
  cost: (p) => queryCost(p.queries),
  run: (c, p) => squareAttack(c, p.queries, p.pInit, probabilityQuery(c.model)),
});
