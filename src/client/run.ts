/**
 * One client attack from start to report: connect to the oracle, take the attacker's images,
 * pay for their clean labels, run the chosen attack within the budget, and summarise — success
 * rate, queries (mean and median over successes), distortion — in one report object. A budget
 * that runs out (the server's 429 GRADLAB_BUDGET_EXHAUSTED or the client's own cap) ends the
 * attack cleanly: the report says so and keeps every image finished before it.
 */
import { hopSkipJump, HOPSKIPJUMP_DEFAULTS } from './attacks/hopskipjump.ts';
import { simba, SIMBA_DEFAULTS } from './attacks/simba.ts';
import { square, SQUARE_DEFAULTS } from './attacks/square.ts';
import { SUBSTITUTE_DEFAULTS, substituteAttack, type SubstituteOptions, type SubstituteRound } from './attacks/substitute.ts';
import type { AttackTarget, ImageOutcome, OnProgress } from './attacks/common.ts';
import { loadAttackerData, SEED_IMAGES, TARGETS_FROM, targetSlice, type DatasetName } from './data.ts';
import { BudgetExhausted, HttpOracle } from './oracle.ts';
import { checkQuantized } from './quantized.ts';
import type { ModelHints, TargetKind } from './targets/target.ts';

export const CLIENT_ATTACKS = ['substitute', 'simba', 'square', 'hopskipjump'] as const;
export type ClientAttack = (typeof CLIENT_ATTACKS)[number];

export interface ClientRunOptions {
  attack: ClientAttack;
  url: string;
  model?: string;
  /** The protocol the endpoint speaks (default gradlab), the generic target's config, what it does not say about the model, extra headers. */
  target?: TargetKind;
  targetConfig?: string;
  hints?: ModelHints;
  headers?: Record<string, string>;
  key?: string;
  /** Client-side cap on queries for the whole run. */
  budget?: number;
  images: number;
  offset: number;
  dataset: DatasetName;
  seed: number;
  /** Per-image query cap (simba, square, hopskipjump). */
  maxQueries: number;
  /** simba: step; square: L∞ radius; substitute: FGSM/PGD radius; hopskipjump: L2 threshold for the success-at-ε figure. */
  epsilon?: number;
  basis: 'pixel' | 'dct';
  pInit?: number;
  concurrency: number;
  substitute: Partial<SubstituteOptions>;
  maxBatch: number;
  range: [number, number];
}

export interface ImageRecord extends Omit<ImageOutcome, 'adversarial'> {
  trueLabel?: number;
  labelName: string;
  adversarialLabelName?: string;
  /** Whether the adversarial image, snapped to 8 bits as a PNG keeps it, still fools the target (one more query). */
  successQuantized?: boolean;
  /** Where the files were written (set by the report writer): PNGs at the model's size, float32 .npy, enlarged previews. */
  files?: { original: string; originalPreview?: string; adversarial?: string; adversarialNpy?: string; adversarialPreview?: string };
}

export interface Summary {
  attacked: number;
  /** Images the oracle already got wrong, left out (query attacks) or counted (substitute). */
  skippedMisclassified: number;
  successes: number;
  successRate: number;
  meanQueries?: number;
  medianQueries?: number;
  meanL2?: number;
  medianL2?: number;
  meanLinf?: number;
  /** hopskipjump: success with L2 ≤ ε (when ε was given). */
  successAtEpsilon?: number;
  /** substitute: share of all attacked images the oracle labels wrongly after the attack (Papernot's figure). */
  misclassifiedRate?: number;
  cleanAccuracy?: number;
  /** Share of the successful adversarial examples that still fool the target once saved as 8-bit PNGs (one more query each). */
  successQuantized?: number;
}

export interface ClientReport {
  attack: ClientAttack;
  target: { url: string; protocol: TargetKind; model: string; labels: string[]; inputShape: [number, number, number]; output: 'probabilities' | 'label' };
  settings: Record<string, unknown>;
  data: string;
  startedAt: string;
  elapsedS: number;
  /** `quantizedChecks`: the queries, within `queries`, that checked successes as 8-bit images (booked to no image's attack). */
  oracle: { queries: number; requests: number; rateLimitWaitS: number; quantizedChecks: number; serverRemaining?: number; clientBudget?: number };
  /** Why the run ended before every image was done, if it did. */
  stopped?: string;
  summary: Summary;
  substitute?: { rounds: SubstituteRound[]; agreement: number; trainingQueries: number; measurementQueries: number; architecture: string; craft: string };
  images: ImageRecord[];
}

const median = (v: number[]) => {
  if (!v.length) return undefined;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined);

export function summarise(attack: ClientAttack, outcomes: ImageOutcome[], targets: AttackTarget[], skipped: number, epsilon?: number): Summary {
  const wins = outcomes.filter((o) => o.success);
  const summary: Summary = {
    attacked: outcomes.length,
    skippedMisclassified: skipped,
    successes: wins.length,
    successRate: outcomes.length ? wins.length / outcomes.length : 0,
  };
  const put = <K extends keyof Summary>(k: K, v: Summary[K] | undefined) => {
    if (v !== undefined) summary[k] = v;
  };
  put('meanQueries', mean(wins.map((o) => o.queries)));
  put('medianQueries', median(wins.map((o) => o.queries)));
  put('meanL2', mean(wins.map((o) => o.l2)));
  put('meanLinf', mean(wins.map((o) => o.linf)));
  if (attack === 'hopskipjump') {
    // The figure of merit is the distance reached at the budget, over every image (no start: ∞).
    put('medianL2', median(outcomes.map((o) => (o.success ? o.l2 : Infinity))));
    if (epsilon !== undefined) summary.successAtEpsilon = outcomes.length ? outcomes.filter((o) => o.success && o.l2 <= epsilon).length / outcomes.length : 0;
  } else put('medianL2', median(wins.map((o) => o.l2)));
  const labelled = targets.filter((t) => t.trueLabel !== undefined);
  if (labelled.length === targets.length && targets.length) {
    summary.cleanAccuracy = targets.filter((t) => t.clean.label === t.trueLabel).length / targets.length;
  }
  return summary;
}

/** Runs one attack; `onProgress` also receives the oracle's query count. */
export async function runClientAttack(
  options: ClientRunOptions,
  onProgress?: (event: Parameters<OnProgress>[0] & { queries: number }) => void,
  onNotice?: (message: string) => void,
): Promise<{ report: ClientReport; adversarial: Map<number, Float32Array>; originals: Map<number, Float32Array> }> {
  const started = Date.now();
  const oracle = await HttpOracle.connect({
    url: options.url,
    ...(options.model ? { model: options.model } : {}),
    ...(options.target ? { target: options.target } : {}),
    ...(options.targetConfig ? { targetConfig: options.targetConfig } : {}),
    ...(options.hints ? { hints: options.hints } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.key ? { key: options.key } : {}),
    ...(options.budget !== undefined ? { budget: options.budget } : {}),
    maxBatch: options.maxBatch,
    range: options.range,
    ...(onNotice ? { onNotice } : {}),
  });
  const data = loadAttackerData(options.dataset);
  const slice = targetSlice(data, options.offset, options.images);
  const progress: OnProgress = (e) => onProgress?.({ ...e, queries: oracle.queries });
  let stopped: string | undefined;

  // The clean labels: one query per image, paid before anything else.
  const affordable = Math.min(slice.images.length, oracle.remaining);
  if (affordable < slice.images.length) stopped = `the budget paid for the clean labels of ${affordable} of ${slice.images.length} images`;
  const clean = affordable ? await oracle.classify(slice.images.slice(0, affordable)) : [];
  const all: AttackTarget[] = clean.map((answer, i) => ({ id: slice.ids[i]!, image: slice.images[i]!, trueLabel: slice.labels[i]!, clean: answer }));
  const output = oracle.scores === false ? 'label' : 'probabilities';

  let outcomes: ImageOutcome[] = [];
  let skipped = 0;
  let substituteInfo: ClientReport['substitute'];
  const settings: Record<string, unknown> = { images: options.images, offset: options.offset, dataset: options.dataset, seed: options.seed };
  try {
    if (options.attack === 'substitute') {
      const o: SubstituteOptions = { ...SUBSTITUTE_DEFAULTS, ...options.substitute, seed: options.seed, ...(options.epsilon !== undefined ? { epsilon: options.epsilon } : {}) };
      Object.assign(settings, o, { initial: SEED_IMAGES });
      const result = await substituteAttack(
        oracle,
        { initial: data.images.slice(0, SEED_IMAGES), check: { images: data.images.slice(SEED_IMAGES, TARGETS_FROM), labels: data.labels.slice(SEED_IMAGES, TARGETS_FROM) } },
        all,
        o,
        progress,
      );
      outcomes = result.outcomes;
      if (result.stoppedEarly) stopped = result.stoppedEarly;
      substituteInfo = { rounds: result.rounds, agreement: result.agreement, trainingQueries: result.trainingQueries, measurementQueries: result.measurementQueries, architecture: o.architecture, craft: o.craft };
    } else {
      // Query attacks only attack what the oracle gets right: a wrong clean label is no success.
      const targets = all.filter((t) => t.clean.label === t.trueLabel);
      skipped = all.length - targets.length;
      if (options.attack === 'simba') {
        const o = { ...SIMBA_DEFAULTS, basis: options.basis, maxQueries: options.maxQueries, seed: options.seed, ...(options.epsilon !== undefined ? { epsilon: options.epsilon } : {}) };
        Object.assign(settings, o);
        outcomes = await simba(oracle, targets, o, progress);
      } else if (options.attack === 'square') {
        const o = { ...SQUARE_DEFAULTS, maxQueries: options.maxQueries, seed: options.seed, ...(options.epsilon !== undefined ? { epsilon: options.epsilon } : {}), ...(options.pInit !== undefined ? { pInit: options.pInit } : {}) };
        Object.assign(settings, o);
        outcomes = await square(oracle, targets, o, progress);
      } else {
        const o = { ...HOPSKIPJUMP_DEFAULTS, maxQueries: options.maxQueries, seed: options.seed, concurrency: options.concurrency };
        Object.assign(settings, o, options.epsilon !== undefined ? { epsilon: options.epsilon } : {});
        outcomes = await hopSkipJump(oracle, targets, o, progress);
      }
    }
  } catch (err) {
    if (!(err instanceof BudgetExhausted)) throw err;
    stopped = err.message;
  }
  // Does each success survive 8-bit quantisation (what a PNG keeps)? One more query each.
  const quantized = await checkQuantized(oracle, outcomes, all, oracle.range);
  if (quantized.stopped && !stopped) stopped = quantized.stopped;
  if (!stopped && outcomes.some((o) => o.stopped === 'budget')) stopped = `the query budget ran out (${outcomes.filter((o) => o.stopped === 'budget').length} images stopped early)`;

  const labels = oracle.model.labels;
  const summary = summarise(options.attack, outcomes, all, skipped, options.attack === 'hopskipjump' ? options.epsilon : undefined);
  if (quantized.byId.size) summary.successQuantized = [...quantized.byId.values()].filter(Boolean).length / quantized.byId.size;
  if (options.attack === 'substitute') {
    summary.misclassifiedRate = outcomes.length ? outcomes.filter((o, i) => o.adversarialLabel !== undefined && o.adversarialLabel !== all[i]!.trueLabel).length / outcomes.length : 0;
    // Transfer success counts only images the oracle had right.
    const right = outcomes.filter((_, i) => all[i]!.clean.label === all[i]!.trueLabel);
    summary.successes = right.filter((o) => o.success).length;
    summary.successRate = right.length ? summary.successes / right.length : 0;
    summary.skippedMisclassified = outcomes.length - right.length;
  }
  const byId = new Map(all.map((t) => [t.id, t]));
  const adversarial = new Map<number, Float32Array>();
  const images: ImageRecord[] = outcomes.map(({ adversarial: adv, ...o }) => {
    if (adv && o.success) adversarial.set(o.id, adv);
    const trueLabel = byId.get(o.id)?.trueLabel;
    return {
      ...o,
      ...(trueLabel !== undefined ? { trueLabel } : {}),
      ...(quantized.byId.has(o.id) ? { successQuantized: quantized.byId.get(o.id)! } : {}),
      labelName: labels[o.label]!,
      ...(o.adversarialLabel !== undefined ? { adversarialLabelName: labels[o.adversarialLabel]! } : {}),
    };
  });
  const report: ClientReport = {
    attack: options.attack,
    target: { url: oracle.target.endpoint, protocol: oracle.target.kind, model: oracle.model.name, labels, inputShape: oracle.model.inputShape, output },
    settings,
    data: data.source,
    startedAt: new Date(started).toISOString(),
    elapsedS: (Date.now() - started) / 1000,
    oracle: {
      queries: oracle.queries,
      requests: oracle.requests,
      rateLimitWaitS: oracle.waitedMs / 1000,
      quantizedChecks: quantized.byId.size,
      ...(oracle.serverRemaining !== undefined ? { serverRemaining: oracle.serverRemaining } : {}),
      ...(options.budget !== undefined ? { clientBudget: options.budget } : {}),
    },
    ...(stopped ? { stopped } : {}),
    summary,
    ...(substituteInfo ? { substitute: substituteInfo } : {}),
    images,
  };
  return { report, adversarial, originals: new Map(all.map((t) => [t.id, t.image])) };
}
