/**
 * The attack driver (Foolbox's `Attack.__call__`): one call shape for every white-box attack.
 * It validates the request against the method (norms, targeted or not, ε), builds the criterion,
 * runs the attack once per ε (a robustness curve in one call), and does the bookkeeping once:
 * bounds, ε-ball, success, success after 8-bit quantisation, perturbation norms, timings.
 * Attack implementations only produce adversarial candidates.
 */
import * as tf from '@tensorflow/tfjs';
import { Deadline } from '../deadline.ts';
import { badParameter } from '../errors.ts';
import { quantizeInput } from '../images/encode.ts';
import { resolveClass, topPredictions, type Prediction } from '../model/classes.ts';
import type { ImageModel } from '../model/image-model.ts';
import { carliniWagnerL2, CW_DEFAULTS } from './carlini-wagner.ts';
import { misclassification, targetedMisclassification, type Criterion } from './criteria.ts';
import { DEEPFOOL_DEFAULTS, deepFool } from './deepfool.ts';
import { GRADIENT_ATTACK_SPECS, GRADIENT_ATTACKS, type GradientAttackName } from './gradient-attacks.ts';
import { gradientDescent, type StepInfo } from './gradient-descent.ts';
import { NORM_BY_NAME, type NormName } from './norms.ts';

export const ATTACK_METHODS = [...GRADIENT_ATTACKS, 'cw', 'deepfool'] as const;
export type AttackMethod = (typeof ATTACK_METHODS)[number];

const SUPPORTED_NORMS: Record<AttackMethod, readonly NormName[]> = {
  fgsm: ['linf', 'l2'],
  bim: ['linf', 'l2'],
  pgd: ['linf', 'l2'],
  mifgsm: ['linf', 'l2'],
  cw: ['l2'],
  deepfool: ['l2', 'linf'],
};

export interface AttackRequest {
  method: AttackMethod;
  norm?: NormName;
  epsilon?: number;
  epsilons?: number[];
  steps?: number;
  stepSize?: number;
  randomStart?: boolean;
  restarts?: number;
  momentum?: number;
  /** Makes the attack targeted: class index or label. */
  target?: number | string;
  /** The true class (index or label), or one per image; default: the model's prediction on the clean image. */
  label?: number | string | (number | string)[];
  seed?: number;
  confidence?: number;
  binarySearchSteps?: number;
  initialConst?: number;
  learningRate?: number;
  overshoot?: number;
  candidates?: number;
}

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
}

export interface AttackRun {
  epsilon?: number;
  results: AttackImageResult[];
  successRate: number;
  robustAccuracy: number;
}

export interface AttackReport {
  method: AttackMethod;
  norm: NormName;
  targeted: boolean;
  runs: AttackRun[];
}

export interface ProgressEvent extends StepInfo {
  epsilon?: number;
  /** Per image, the label of the current top class (when known). */
  top?: string[];
}

export interface AttackHooks {
  deadline?: Deadline;
  onProgress?: (event: ProgressEvent) => void;
  /** Report each image's current top class in progress events (costs one extra forward pass a step). */
  progressTop?: boolean;
}

/** The number of gradient steps a request may run in all (for the configured step limit). */
export function requestedSteps(request: AttackRequest): { field: string; value: number }[] {
  const out: { field: string; value: number }[] = [];
  if (request.steps !== undefined) out.push({ field: 'steps', value: request.steps * (request.restarts ?? 1) * (request.binarySearchSteps ?? 1) });
  if (request.binarySearchSteps !== undefined) out.push({ field: 'binarySearchSteps', value: request.binarySearchSteps * (request.steps ?? CW_DEFAULTS.steps) });
  return out;
}

function validate(model: ImageModel, request: AttackRequest): { norm: NormName; epsilons: (number | undefined)[] } {
  const norm = request.norm ?? (request.method === 'cw' ? 'l2' : 'linf');
  if (!SUPPORTED_NORMS[request.method].includes(norm)) {
    throw badParameter('norm', `'${norm}' is not supported by ${request.method} (supported: ${SUPPORTED_NORMS[request.method].join(', ')})`);
  }
  if (request.epsilon !== undefined && request.epsilons !== undefined) throw badParameter('epsilons', "send either 'epsilon' or 'epsilons', not both");
  const epsilons: (number | undefined)[] = request.epsilons ?? (request.epsilon !== undefined ? [request.epsilon] : [undefined]);
  const isGradient = (GRADIENT_ATTACKS as readonly string[]).includes(request.method);
  if (isGradient && epsilons[0] === undefined) throw badParameter('epsilon', `is required for ${request.method} (the size of the ε-ball, in the model's value units)`);
  const [lo, hi] = model.manifest.input.range;
  epsilons.forEach((e, i) => {
    if (e !== undefined && !(e > 0)) throw badParameter(request.epsilons ? `epsilons[${i}]` : 'epsilon', `must be positive (got ${e})`);
    if (e !== undefined && norm === 'linf' && e > hi - lo) throw badParameter(request.epsilons ? `epsilons[${i}]` : 'epsilon', `${e} is larger than the value range ${hi - lo}`);
  });
  if (request.method === 'deepfool' && request.target !== undefined) throw badParameter('target', 'deepfool is untargeted; use cw or pgd for a targeted attack');
  if (request.method === 'fgsm' && request.steps !== undefined && request.steps !== 1) throw badParameter('steps', 'fgsm is one step by definition; use bim or pgd for more');
  const gradientOnly = ['stepSize', 'randomStart', 'restarts', 'momentum'] as const;
  if (!isGradient) for (const f of gradientOnly) if (request[f] !== undefined) throw badParameter(f, `applies only to ${GRADIENT_ATTACKS.join(', ')}`);
  if (request.restarts !== undefined && request.method !== 'pgd') throw badParameter('restarts', 'applies only to pgd');
  const cwOnly = ['confidence', 'binarySearchSteps', 'initialConst', 'learningRate'] as const;
  if (request.method !== 'cw') for (const f of cwOnly) if (request[f] !== undefined) throw badParameter(f, 'applies only to cw');
  const dfOnly = ['overshoot', 'candidates'] as const;
  if (request.method !== 'deepfool') for (const f of dfOnly) if (request[f] !== undefined) throw badParameter(f, 'applies only to deepfool');
  return { norm, epsilons };
}

async function candidates(
  model: ImageModel,
  x0: tf.Tensor4D,
  criterion: Criterion,
  request: AttackRequest,
  norm: NormName,
  epsilon: number | undefined,
  deadline: Deadline,
  onStep: (s: StepInfo) => void,
  wantPredictions: boolean,
): Promise<{ adversarial: tf.Tensor4D; iterations: number }> {
  const bounds = model.manifest.input.range;
  const seed = request.seed ?? 0;
  if (request.method === 'cw') {
    return carliniWagnerL2(model, x0, criterion, {
      steps: request.steps ?? CW_DEFAULTS.steps,
      binarySearchSteps: request.binarySearchSteps ?? CW_DEFAULTS.binarySearchSteps,
      initialConst: request.initialConst ?? CW_DEFAULTS.initialConst,
      learningRate: request.learningRate ?? CW_DEFAULTS.learningRate,
      confidence: request.confidence ?? CW_DEFAULTS.confidence,
      bounds,
      deadline,
      onStep,
    });
  }
  if (request.method === 'deepfool') {
    return deepFool(model, x0, criterion, {
      norm,
      steps: request.steps ?? DEEPFOOL_DEFAULTS.steps,
      overshoot: request.overshoot ?? DEEPFOOL_DEFAULTS.overshoot,
      candidates: request.candidates ?? DEEPFOOL_DEFAULTS.candidates,
      bounds,
      deadline,
      onStep,
    });
  }
  const spec = GRADIENT_ATTACK_SPECS[request.method as GradientAttackName];
  const defaults = spec.defaults(norm, epsilon!);
  const settings = {
    steps: request.steps ?? defaults.steps,
    stepSize: request.stepSize ?? defaults.stepSize,
    randomStart: request.randomStart ?? defaults.randomStart,
    momentum: request.momentum ?? defaults.momentum,
  };
  const restarts = request.restarts ?? 1;
  let best: tf.Tensor4D | undefined;
  let bestSuccess: boolean[] = [];
  for (let r = 0; r < restarts; r++) {
    const adv = await gradientDescent(model, x0, criterion, {
      norm: NORM_BY_NAME[norm],
      epsilon: epsilon!,
      ...settings,
      seed: seed + r * 1009,
      bounds,
      deadline,
      onStep: (s) => onStep({ ...s, step: r * settings.steps + s.step, steps: restarts * settings.steps }),
      wantPredictions,
    });
    // One attempt: nothing to choose between (runAttack predicts the result once, afterwards).
    if (restarts === 1) return { adversarial: adv, iterations: settings.steps };
    const predicted = tf.tidy(() => tf.argMax(model.logits(adv), 1).dataSync());
    const success = Array.from(predicted, (p, i) => criterion.isAdversarial(p, i));
    if (!best) {
      best = adv;
      bestSuccess = success;
    } else {
      // Keep earlier successes; take the new attempt where there was none.
      const take = success.map((s, i) => s && !bestSuccess[i]);
      const mask = tf.tensor4d(take.map((t) => (t ? 1 : 0)), [take.length, 1, 1, 1]);
      const merged = tf.tidy(() => tf.add(tf.mul(adv, mask), tf.mul(best!, tf.sub(1, mask))) as tf.Tensor4D);
      best.dispose();
      adv.dispose();
      mask.dispose();
      best = merged;
      bestSuccess = bestSuccess.map((s, i) => s || take[i]!);
    }
    if (bestSuccess.every(Boolean)) return { adversarial: best, iterations: (r + 1) * settings.steps };
  }
  return { adversarial: best!, iterations: restarts * settings.steps };
}

/**
 * Checks a request without running it (norms, ε, method-specific fields, labels and targets), so
 * that a streaming client gets a plain 400 before any event. `runAttack` checks the same again.
 */
export function checkAttackRequest(model: ImageModel, request: AttackRequest, images: number): void {
  validate(model, request);
  const labels = model.manifest.labels;
  if (request.target !== undefined) resolveClass(labels, request.target, 'target');
  const given = request.label;
  if (Array.isArray(given)) {
    if (given.length !== images) throw badParameter('label', `has ${given.length} labels for ${images} images`);
    given.forEach((l, i) => resolveClass(labels, l, `label[${i}]`));
  } else if (given !== undefined) resolveClass(labels, given, 'label');
}

/** Runs the requested attack on each image, once per ε. */
export async function runAttack(model: ImageModel, inputs: Float32Array[], request: AttackRequest, hooks: AttackHooks = {}): Promise<AttackReport> {
  const { norm, epsilons } = validate(model, request);
  const deadline = hooks.deadline ?? Deadline.none();
  const labels = model.manifest.labels;
  const clean = model.predictProbabilities(inputs);
  const given = request.label;
  if (Array.isArray(given) && given.length !== inputs.length) throw badParameter('label', `has ${given.length} labels for ${inputs.length} images`);
  const trueLabels = clean.map((p, i) => {
    if (given === undefined) return topPredictions(p, labels, 1)[0]!.index;
    return Array.isArray(given) ? resolveClass(labels, given[i]!, `label[${i}]`) : resolveClass(labels, given, 'label');
  });
  const targets = request.target !== undefined ? inputs.map(() => resolveClass(labels, request.target!, 'target')) : undefined;
  const criterion = targets ? targetedMisclassification(targets) : misclassification(trueLabels);
  const runs: AttackRun[] = [];
  const x0 = model.batchTensor(inputs);
  try {
    for (const epsilon of epsilons) {
      const started = performance.now();
      const onStep = (s: StepInfo) =>
        hooks.onProgress?.({ ...s, ...(epsilon !== undefined ? { epsilon } : {}), ...(s.predicted ? { top: s.predicted.map((p) => labels[p]!) } : {}) });
      const { adversarial, iterations } = await candidates(model, x0, criterion, request, norm, epsilon, deadline, onStep, hooks.progressTop ?? false);
      const elapsedMs = performance.now() - started;
      const advData = adversarial.dataSync() as Float32Array;
      adversarial.dispose();
      const size = model.pixelsPerImage;
      const advImages = inputs.map((_, i) => advData.slice(i * size, (i + 1) * size));
      const advProbs = model.predictProbabilities(advImages);
      const quantProbs = model.predictProbabilities(advImages.map((img) => quantizeInput(img, model.manifest.input.range)));
      const advTops = advProbs.map((p) => topPredictions(p, labels, 1)[0]!.index);
      const results = inputs.map((x, i): AttackImageResult => {
        const adv = advImages[i]!;
        const delta = adv.map((v, j) => v - x[j]!);
        let linf = 0;
        let sq = 0;
        let l0 = 0;
        for (const d of delta) {
          linf = Math.max(linf, Math.abs(d));
          sq += d * d;
          if (d !== 0) l0++;
        }
        const l2 = Math.sqrt(sq);
        const within = epsilon === undefined || (norm === 'linf' ? linf : l2) <= epsilon * (1 + 1e-6) + 1e-7;
        const advTop = advTops[i]!;
        const quantTop = topPredictions(quantProbs[i]!, labels, 1)[0]!.index;
        return {
          success: within && criterion.isAdversarial(advTop, i),
          successQuantized: within && criterion.isAdversarial(quantTop, i),
          label: { index: trueLabels[i]!, label: labels[trueLabels[i]!]! },
          ...(targets ? { target: { index: targets[i]!, label: labels[targets[i]!]! } } : {}),
          original: { predictions: topPredictions(clean[i]!, labels, 5) },
          adversarial: { predictions: topPredictions(advProbs[i]!, labels, 5), image: adv },
          perturbation: { linf, l2, l0, delta },
          iterations,
          elapsedMs,
        };
      });
      const robust = advTops.filter((top, i) => top === trueLabels[i]).length;
      runs.push({
        ...(epsilon !== undefined ? { epsilon } : {}),
        results,
        successRate: results.filter((r) => r.success).length / results.length,
        robustAccuracy: robust / results.length,
      });
    }
  } finally {
    x0.dispose();
  }
  return { method: request.method, norm, targeted: targets !== undefined, runs };
}
