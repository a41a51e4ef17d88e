/**
 * Substitute-model transfer — Papernot, McDaniel, Goodfellow, Jha, Celik & Swami 2017, "Practical
 * Black-Box Attacks against Machine Learning". Label-only: it works against `label` output.
 * 1. Label a small set of held-out images (150 digits) by querying the oracle.
 * 2. For `rounds` rounds (10): train a local substitute (a small CNN by default, or the paper's MLP
 *    200-200) on everything labelled so far; then, except after the last round, grow the set by
 *    Jacobian-based augmentation — x' = clip(x + λ·sign(∂F_{O(x)}/∂x)), F the substitute's logits
 *    and O(x) the oracle's label — and query the oracle for the new points. λ = 0.1, its sign
 *    flipped every 3 rounds (the paper's periodic step size, as its reference code does). The set
 *    doubles for the first 4 rounds, then reservoir sampling augments 800 random points a round:
 *    150 + 150 + 300 + 600 + 1,200 + 5 × 800 = 6,400 queries, the paper's budget.
 * 3. Craft adversarial examples on the substitute with gradlab's own white-box attacks (PGD by
 *    default, ε = 0.3; FGSM as in the paper, or MI-FGSM) through `runAttack`, and ask the oracle
 *    whether they transfer. What measured better on gradlab's MNIST model, against the paper's
 *    MLP + FGSM, is in docs/blackbox-exercise.md (scripts/eval-substitute.ts).
 * Only the substitute's gradients are ever computed; the oracle is reached through HTTP alone.
 */
import * as tf from '@tensorflow/tfjs';
import { permutation, seededRandom, type Random } from '../../datasets/seeded.ts';
import type { HttpOracle } from '../oracle.ts';
import { outcome, type AttackTarget, type ImageOutcome, type OnProgress } from './common.ts';
import { craftOnSubstitute, measureTransfer, reservoirPick } from './substitute-craft.ts';
import { buildSubstitute, substituteImageModel } from './substitute-net.ts';
import type { SubstituteOptions } from './substitute-options.ts';

export { SUBSTITUTE_DEFAULTS, type SubstituteOptions } from './substitute-options.ts';

/** The attacker's own data: unlabelled seed images and a labelled set to measure the substitute on. */
export interface SubstituteData {
  /** The initial substitute training images (labelled by the oracle, not by their owner). */
  initial: Float32Array[];
  /** Held-out images with their true labels, for the substitute's accuracy (never sent to the oracle). */
  check: { images: Float32Array[]; labels: number[] };
}

export interface SubstituteRound {
  round: number;
  /** Images the substitute was trained on this round. */
  trainingSize: number;
  /** Oracle queries spent on substitute training so far. */
  queries: number;
  /** Accuracy on the attacker's held-out check set (true labels). */
  accuracy: number;
  /** λ used to augment after this round (undefined after the last). */
  lambda?: number;
  /** With `measureTransfer`: the share of measured images (the oracle had right) whose crafted example fools the oracle. */
  transfer?: number;
}

export interface SubstituteResult {
  rounds: SubstituteRound[];
  outcomes: ImageOutcome[];
  /** Share of the attacked images where the substitute agrees with the oracle on the clean image. */
  agreement: number;
  trainingQueries: number;
  /** Queries spent measuring the transfer rate per round (not part of the attack). */
  measurementQueries: number;
  stoppedEarly?: string;
}

/** λ for augmenting after round ρ (0-based): −λ for the first `period` rounds, then +λ, alternating. */
export function lambdaFor(round: number, lambda: number, period: number): number {
  return Math.floor(round / period) % 2 === 0 ? -lambda : lambda;
}

function stack(images: Float32Array[], shape: [number, number, number]): tf.Tensor4D {
  const size = shape[0] * shape[1] * shape[2];
  const flat = new Float32Array(images.length * size);
  images.forEach((img, i) => flat.set(img, i * size));
  return tf.tensor4d(flat, [images.length, ...shape]);
}

/**
 * Trains for `o.epochs` epochs, each over the set in an order drawn from `random` (not tfjs'
 * Math.random shuffle), so that the same seed gives the same substitute.
 */
async function train(net: tf.LayersModel, images: Float32Array[], labels: number[], classes: number, shape: [number, number, number], o: SubstituteOptions, random: Random): Promise<void> {
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = Array.from(permutation(images.length, random));
    const x = stack(order.map((i) => images[i]!), shape);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(order.map((i) => labels[i]!), 'int32'), classes));
    try {
      await net.fit(x, y, { epochs: 1, batchSize: o.batchSize, shuffle: false, verbose: 0 });
    } finally {
      x.dispose();
      y.dispose();
    }
  }
}

function accuracy(net: tf.LayersModel, images: Float32Array[], labels: number[], shape: [number, number, number]): number {
  let correct = 0;
  for (let start = 0; start < images.length; start += 256) {
    const chunk = images.slice(start, start + 256);
    const predicted = tf.tidy(() => tf.argMax(net.predict(stack(chunk, shape)) as tf.Tensor2D, 1).dataSync());
    predicted.forEach((p, i) => {
      if (p === labels[start + i]) correct++;
    });
  }
  return images.length ? correct / images.length : 0;
}

function predictLabels(net: tf.LayersModel, images: Float32Array[], shape: [number, number, number]): number[] {
  const out: number[] = [];
  for (let start = 0; start < images.length; start += 256) {
    const chunk = images.slice(start, start + 256);
    out.push(...tf.tidy(() => Array.from(tf.argMax(net.predict(stack(chunk, shape)) as tf.Tensor2D, 1).dataSync())));
  }
  return out;
}

/** Jacobian-based dataset augmentation: one new point per image, along the sign of ∂F_label/∂x. */
function augment(net: tf.LayersModel, images: Float32Array[], labels: number[], lambda: number, classes: number, shape: [number, number, number], range: [number, number]): Float32Array[] {
  const out: Float32Array[] = [];
  let currentLabels: number[] = [];
  const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(net.apply(x) as tf.Tensor2D, tf.oneHot(tf.tensor1d(currentLabels, 'int32'), classes))));
  for (let start = 0; start < images.length; start += 256) {
    const chunk = images.slice(start, start + 256);
    currentLabels = labels.slice(start, start + 256);
    const moved = tf.tidy(() => {
      const x = stack(chunk, shape);
      return tf.clipByValue(tf.add(x, tf.mul(tf.sign(grad(x)), lambda)), range[0], range[1]);
    });
    const data = moved.dataSync() as Float32Array;
    moved.dispose();
    const size = shape[0] * shape[1] * shape[2];
    for (let i = 0; i < chunk.length; i++) out.push(data.slice(i * size, (i + 1) * size));
  }
  return out;
}

export async function substituteAttack(
  oracle: HttpOracle,
  data: SubstituteData,
  targets: AttackTarget[],
  options: SubstituteOptions,
  onProgress?: OnProgress,
): Promise<SubstituteResult> {
  const { labels: labelNames, inputShape: shape } = oracle.model;
  const classes = labelNames.length;
  const net = buildSubstitute(options.architecture, shape, classes, options.seed);
  const random = seededRandom(`substitute:${options.seed}`);
  net.compile({ optimizer: tf.train.adam(options.learningRate), loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred) });
  const report = (done: number, note: string) => onProgress?.({ done, total: options.rounds + 1, successes: 0, note });
  // Keep enough budget to test every crafted image against the oracle.
  const reserve = targets.length;
  const affordable = () => Math.max(0, oracle.remaining - reserve);
  const startQueries = oracle.queries;
  let stoppedEarly: string | undefined;

  try {
    let images = data.initial.slice(0, affordable());
    if (images.length < data.initial.length) stoppedEarly = `the budget paid for ${images.length} of ${data.initial.length} initial labels`;
    let labels = (await oracle.classify(images)).map((a) => a.label);
    const rounds: SubstituteRound[] = [];
    const substitute = substituteImageModel(net, labelNames, shape, oracle.range);
    let measurementQueries = 0;
    const trainingSoFar = () => oracle.queries - startQueries - measurementQueries;
    for (let round = 0; round < options.rounds; round++) {
      report(round, `round ${round + 1}/${options.rounds}: training on ${images.length}`);
      await train(net, images, labels, classes, shape, options, random);
      const entry: SubstituteRound = { round: round + 1, trainingSize: images.length, queries: trainingSoFar(), accuracy: accuracy(net, data.check.images, data.check.labels, shape) };
      rounds.push(entry);
      if (options.measureTransfer > 0) {
        const measured = targets.slice(0, Math.min(options.measureTransfer, affordable()));
        const before = oracle.queries;
        entry.transfer = await measureTransfer(oracle, substitute, measured, options);
        measurementQueries += oracle.queries - before;
        onProgress?.({ done: round + 1, total: options.rounds + 1, successes: 0, note: `round ${round + 1}: substitute accuracy ${(100 * entry.accuracy).toFixed(1)}%, transfer ${(100 * entry.transfer).toFixed(1)}%` });
      }
      if (round === options.rounds - 1 || stoppedEarly) break;
      const lambda = lambdaFor(round, options.lambda, options.lambdaPeriod);
      entry.lambda = lambda;
      const picked = reservoirPick(images.length, round, options.reservoir, random);
      let fresh = augment(net, picked.map((i) => images[i]!), picked.map((i) => labels[i]!), lambda, classes, shape, oracle.range);
      if (fresh.length > affordable()) {
        fresh = fresh.slice(0, affordable());
        stoppedEarly = `the budget ran out while augmenting after round ${round + 1}`;
      }
      if (!fresh.length) break;
      const freshLabels = (await oracle.classify(fresh)).map((a) => a.label);
      images = images.concat(fresh);
      labels = labels.concat(freshLabels);
    }
    report(options.rounds, `crafting ${options.craft} on the substitute`);

    const agreementLabels = predictLabels(net, targets.map((t) => t.image), shape);
    const agreement = targets.length ? agreementLabels.filter((l, i) => l === targets[i]!.clean.label).length / targets.length : 0;
    const adversarial = await craftOnSubstitute(substitute, targets, options);
    const trainingQueries = trainingSoFar();
    const n = Math.min(adversarial.length, oracle.remaining);
    const answers = n ? await oracle.classify(adversarial.slice(0, n)) : [];
    const outcomes = targets.map((t, i) => {
      const a = answers[i];
      return a ? outcome(t, 2, a.label !== t.clean.label ? 'success' : 'failed', adversarial[i], a.label) : outcome(t, 1, 'budget');
    });
    report(options.rounds + 1, 'done');
    return { rounds, outcomes, agreement, trainingQueries, measurementQueries, ...(stoppedEarly ? { stoppedEarly } : {}) };
  } finally {
    net.dispose();
  }
}
