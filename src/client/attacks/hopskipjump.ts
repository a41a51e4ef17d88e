/**
 * HopSkipJumpAttack (L2, untargeted) — Chen, Jordan & Wainwright 2020, "HopSkipJumpAttack: A
 * Query-Efficient Decision-Based Attack". Decision-based: it needs only the top label, so it
 * works against `label`-only output. Following the authors' reference implementation:
 * 1. start from uniform noise that is misclassified (or, when `initTries` draws are all answered
 *    with x's own class — MNIST models call most noise an 8 — from the nearest of the attacker's
 *    other images that the oracle labelled differently), blended towards x as far as it stays so;
 * 2. each iteration t: binary-search the boundary between x and the current point (to θ = d^-3/2),
 *    estimate the boundary's normal from n_t = min(100·√t, 10⁴) random unit directions around
 *    the boundary point (δ = 0.1·range at t = 1, then √d·θ·distance; baseline-corrected signs),
 *    and step along it by ξ = ‖x_t − x‖/√t, halving ξ until the step is still adversarial.
 * The result is always misclassified; what the query budget buys is a smaller L2 distance,
 * reported as the median over images. Shapes: flat images [H*W*C]; d = H·W·C.
 */
import { seededRandom, type Random } from '../../datasets/seeded.ts';
import { BudgetExhausted, type HttpOracle } from '../oracle.ts';
import { clip, gaussian, l2, outcome, type AttackTarget, type ImageOutcome, type OnProgress } from './common.ts';

export interface HopSkipJumpOptions {
  maxQueries: number;
  seed: number;
  /** Images attacked at once (their requests interleave; each image's steps stay sequential). */
  concurrency: number;
  initEvals: number;
  maxEvals: number;
  /** Most noise draws when looking for a misclassified start. */
  initTries: number;
}

export const HOPSKIPJUMP_DEFAULTS: HopSkipJumpOptions = { maxQueries: 1000, seed: 0, concurrency: 4, initEvals: 100, maxEvals: 10_000, initTries: 20 };

/** Ran out of this image's query allowance (internal: ends the image's loop). */
class ImageBudget extends Error {}

class ImageRun {
  queries = 1; // the clean query
  constructor(
    private readonly oracle: HttpOracle,
    private readonly target: AttackTarget,
    private readonly maxQueries: number,
  ) {}

  get left(): number {
    return Math.min(this.maxQueries - this.queries, this.oracle.remaining);
  }

  /** The oracle's labels for the images. */
  async labels(images: Float32Array[]): Promise<number[]> {
    if (images.length > this.left) throw new ImageBudget();
    const answers = await this.oracle.classify(images);
    this.queries += images.length;
    return answers.map((a) => a.label);
  }

  /** φ(x) for each image: misclassified or not. */
  async adversarial(images: Float32Array[]): Promise<boolean[]> {
    return (await this.labels(images)).map((l) => l !== this.target.clean.label);
  }
}

const blend = (x0: Float32Array, x1: Float32Array, alpha: number) => x0.map((v, i) => (1 - alpha) * v + alpha * x1[i]!);

/** A misclassified point and the label the oracle gave it. */
interface Point {
  x: Float32Array;
  label: number;
}

async function initialPoint(run: ImageRun, x0: Float32Array, range: [number, number], random: Random, tries: number, y: number, others: AttackTarget[]): Promise<Point | undefined> {
  const [lo, hi] = range;
  // Already-answered images of another class cost nothing to start from; the nearest is best.
  const fallback = others
    .filter((o) => o.clean.label !== y)
    .map((o) => ({ x: o.image, label: o.clean.label, d: l2(o.image, x0) }))
    .sort((a, b) => a.d - b.d)[0];
  for (let t = 0; t <= tries; t++) {
    let noise: Float32Array;
    let label: number;
    if (t < tries) {
      noise = x0.map(() => lo + random() * (hi - lo));
      label = (await run.labels([noise]))[0]!;
      if (label === y) continue;
    } else if (fallback) {
      noise = fallback.x;
      label = fallback.label;
    } else break;
    // Blend the noise back towards x0 as long as it stays misclassified (the reference's 0.001 search).
    let low = 0;
    let high = 1;
    while (high - low > 0.001) {
      const mid = (low + high) / 2;
      const l = (await run.labels([blend(x0, noise, mid)]))[0]!;
      if (l !== y) [high, label] = [mid, l];
      else low = mid;
    }
    return { x: blend(x0, noise, high), label };
  }
  return undefined;
}

/** Binary search between x0 (clean side) and an adversarial point, to the boundary within θ. */
async function toBoundary(run: ImageRun, x0: Float32Array, adv: Point, theta: number, y: number): Promise<Point> {
  let low = 0;
  let high = 1;
  let label = adv.label;
  while ((high - low) / theta > 1) {
    const mid = (low + high) / 2;
    const l = (await run.labels([blend(x0, adv.x, mid)]))[0]!;
    if (l !== y) [high, label] = [mid, l];
    else low = mid;
  }
  return { x: blend(x0, adv.x, high), label };
}

async function estimateGradient(run: ImageRun, xb: Float32Array, n: number, delta: number, range: [number, number], random: Random): Promise<Float32Array> {
  const d = xb.length;
  const directions: Float32Array[] = [];
  const points: Float32Array[] = [];
  for (let k = 0; k < n; k++) {
    const u = new Float32Array(d);
    let norm = 0;
    for (let i = 0; i < d; i++) {
      u[i] = gaussian(random);
      norm += u[i]! ** 2;
    }
    norm = Math.sqrt(norm);
    const p = clip(xb.map((v, i) => v + (delta * u[i]!) / norm), range);
    // The direction actually taken, after clipping (as the reference does).
    directions.push(p.map((v, i) => (v - xb[i]!) / delta));
    points.push(p);
  }
  const decisions = await run.adversarial(points);
  const f = decisions.map((a) => (a ? 1 : -1));
  const mean = f.reduce((s, v) => s + v, 0) / n;
  const grad = new Float32Array(d);
  for (let k = 0; k < n; k++) {
    const weight = mean === 1 || mean === -1 ? mean : f[k]! - mean;
    const u = directions[k]!;
    for (let i = 0; i < d; i++) grad[i] = grad[i]! + (weight * u[i]!) / n;
  }
  const norm = Math.sqrt(grad.reduce((s, v) => s + v * v, 0)) || 1;
  return grad.map((v) => v / norm);
}

async function attackOne(oracle: HttpOracle, target: AttackTarget, o: HopSkipJumpOptions, random: Random, others: AttackTarget[]): Promise<ImageOutcome> {
  const run = new ImageRun(oracle, target, o.maxQueries);
  const x0 = target.image;
  const d = x0.length;
  const [lo, hi] = oracle.range;
  const theta = 1 / (d * Math.sqrt(d));
  const y = target.clean.label;
  let best: Point | undefined;
  const stopReason = (err: unknown): ImageOutcome['stopped'] => {
    if (err instanceof ImageBudget) return oracle.remaining === 0 ? 'budget' : 'max-queries';
    if (err instanceof BudgetExhausted) return 'budget';
    throw err;
  };
  try {
    const start = await initialPoint(run, x0, oracle.range, random, o.initTries, y, others);
    if (!start) return outcome(target, run.queries, 'no-start');
    best = await toBoundary(run, x0, start, theta, y);
    let current = best;
    let distPost = l2(best.x, x0);
    for (let t = 1; ; t++) {
      const delta = t === 1 ? 0.1 * (hi - lo) : Math.sqrt(d) * theta * distPost;
      // Leave room for the step search and the next binary search (~35 queries) when evaluations must shrink.
      const n = Math.min(Math.floor(o.initEvals * Math.sqrt(t)), o.maxEvals, run.left - 35);
      if (n < 10) throw new ImageBudget();
      const grad = await estimateGradient(run, current.x, n, delta, oracle.range, random);
      let xi = l2(current.x, x0) / Math.sqrt(t);
      let next: Point | undefined;
      for (let halvings = 0; halvings < 25; halvings++) {
        const candidate = clip(current.x.map((v, i) => v + xi * grad[i]!), oracle.range);
        const label = (await run.labels([candidate]))[0]!;
        if (label !== y) {
          next = { x: candidate, label };
          break;
        }
        xi /= 2;
      }
      if (!next) continue;
      current = await toBoundary(run, x0, next, theta, y);
      distPost = l2(current.x, x0);
      if (distPost < l2(best.x, x0)) best = current;
    }
  } catch (err) {
    const stopped = stopReason(err);
    if (!best) return outcome(target, run.queries, stopped === 'max-queries' ? 'no-start' : stopped);
    // Every boundary point kept was answered as misclassified.
    return outcome(target, run.queries, stopped, best.x, best.label);
  }
}

export async function hopSkipJump(oracle: HttpOracle, targets: AttackTarget[], options: HopSkipJumpOptions, onProgress?: OnProgress): Promise<ImageOutcome[]> {
  const results = new Array<ImageOutcome>(targets.length);
  let next = 0;
  let done = 0;
  const report = () => onProgress?.({ done, total: targets.length, successes: results.filter((r) => r?.success).length });
  report();
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      results[i] = await attackOne(oracle, targets[i]!, options, seededRandom(`hsj-${options.seed}-${targets[i]!.id}`), targets);
      done++;
      report();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  return results;
}
