/**
 * The bookkeeping done once for every attack (Foolbox's `Attack.__call__` after `run`): predict
 * the adversarial batch (as floats and after 8-bit quantisation), measure the perturbation
 * (L∞, L2, L0), and judge success at an ε: adversarial by the criterion AND inside the ε-ball.
 * A minimization attack's one result is judged at every ε of a curve by the same rule.
 */
import { quantizeInput } from '../images/encode.ts';
import { topPredictions, type Prediction } from '../model/classes.ts';
import type { ImageModel } from '../model/image-model.ts';
import type { Criterion } from './criteria.ts';
import type { NormName } from './norms.ts';
import type { StageResult } from './spec.ts';

export interface ClassRef {
  index: number;
  label: string;
}

export interface AttackImageResult {
  success: boolean;
  /** Whether the adversarial image still succeeds after 8-bit quantisation (saved as PNG). */
  successQuantized: boolean;
  label: ClassRef;
  target?: ClassRef;
  original: { predictions: Prediction[] };
  adversarial: { predictions: Prediction[]; image: Float32Array };
  perturbation: { linf: number; l2: number; l0: number; delta: Float32Array };
  iterations: number;
  elapsedMs: number;
  /** An ensemble's answer: the stage that broke this image ('clean' if misclassified to begin with), or null if none did. */
  brokenBy?: string | null;
}

export interface AttackRun {
  epsilon?: number;
  results: AttackImageResult[];
  successRate: number;
  robustAccuracy: number;
  /** An ensemble's robust accuracy after each stage (autoattack). */
  stages?: StageResult[];
  /** Reasons to doubt the figure (gradient-masking checks). */
  warnings?: string[];
}

/** What an attack reported beyond its adversarial batch (spec.ts `AttackOutput`). */
export interface EnsembleAccount {
  stages?: StageResult[];
  brokenBy?: (string | null)[];
  warnings?: string[];
}

/** What the driver knows about the batch before the attack. */
export interface CleanBatch {
  inputs: Float32Array[];
  /** Clean class probabilities per image. */
  clean: Float32Array[];
  trueLabels: number[];
  targets?: number[];
  criterion: Criterion;
}

/** One attack result: the adversarial images with their predictions and perturbations, before any ε. */
export interface Candidates {
  images: Float32Array[];
  tops: number[];
  quantizedTops: number[];
  probabilities: Float32Array[];
  perturbations: { linf: number; l2: number; l0: number; delta: Float32Array }[];
  iterations: number;
  elapsedMs: number;
}

function perturbationOf(x: Float32Array, adv: Float32Array): Candidates['perturbations'][number] {
  const delta = adv.map((v, j) => v - x[j]!);
  let linf = 0;
  let sq = 0;
  let l0 = 0;
  for (const d of delta) {
    linf = Math.max(linf, Math.abs(d));
    sq += d * d;
    if (d !== 0) l0++;
  }
  return { linf, l2: Math.sqrt(sq), l0, delta };
}

/** Predicts and measures an adversarial batch (flat floats, images in order). */
export function measure(model: ImageModel, batch: CleanBatch, data: Float32Array, iterations: number, elapsedMs: number): Candidates {
  const size = model.pixelsPerImage;
  const labels = model.manifest.labels;
  const images = batch.inputs.map((_, i) => data.slice(i * size, (i + 1) * size));
  // The found images and their 8-bit versions in one forward pass (an image gets the same bits
  // alone or in a batch): at batch 1, one pass's bookkeeping less.
  const both = model.predictProbabilities([...images, ...images.map((img) => quantizeInput(img, model.manifest.input.range))]);
  const probabilities = both.slice(0, images.length);
  const quantized = both.slice(images.length);
  return {
    images,
    probabilities,
    tops: probabilities.map((p) => topPredictions(p, labels, 1)[0]!.index),
    quantizedTops: quantized.map((p) => topPredictions(p, labels, 1)[0]!.index),
    perturbations: batch.inputs.map((x, i) => perturbationOf(x, images[i]!)),
    iterations,
    elapsedMs,
  };
}

/** Judges candidates at one ε (undefined: no ε-ball, only the criterion). */
export function judge(model: ImageModel, batch: CleanBatch, found: Candidates, norm: NormName, epsilon: number | undefined, account: EnsembleAccount = {}): AttackRun {
  const labels = model.manifest.labels;
  const { trueLabels, targets, criterion } = batch;
  const results = batch.inputs.map((_, i): AttackImageResult => {
    const perturbation = found.perturbations[i]!;
    const size = norm === 'linf' ? perturbation.linf : perturbation.l2;
    const within = epsilon === undefined || size <= epsilon * (1 + 1e-6) + 1e-7;
    return {
      success: within && criterion.isAdversarial(found.tops[i]!, i),
      successQuantized: within && criterion.isAdversarial(found.quantizedTops[i]!, i),
      label: { index: trueLabels[i]!, label: labels[trueLabels[i]!]! },
      ...(targets ? { target: { index: targets[i]!, label: labels[targets[i]!]! } } : {}),
      original: { predictions: topPredictions(batch.clean[i]!, labels, 5) },
      adversarial: { predictions: topPredictions(found.probabilities[i]!, labels, 5), image: found.images[i]! },
      perturbation,
      iterations: found.iterations,
      elapsedMs: found.elapsedMs,
      ...(account.brokenBy ? { brokenBy: account.brokenBy[i] ?? null } : {}),
    };
  });
  const robust = found.tops.filter((top, i) => top === trueLabels[i]).length;
  return {
    ...(epsilon !== undefined ? { epsilon } : {}),
    results,
    successRate: results.filter((r) => r.success).length / results.length,
    robustAccuracy: robust / results.length,
    ...(account.stages ? { stages: account.stages } : {}),
    ...(account.warnings ? { warnings: account.warnings } : {}),
  };
}
