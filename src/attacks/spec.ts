/**
 * What an attack is, declared once (Foolbox's `FixedEpsilonAttack` / `MinimizationAttack` split,
 * torchattacks' one-class-per-attack headers): its name, its kind, the norms it supports, whether
 * it can be targeted, its parameters with types, defaults and bounds, what a setting costs in
 * gradient iterations, and `run`, which only produces adversarial candidates. Validation, the
 * HTTP schema and the error messages are generated from these declarations (plan.ts,
 * routes/schemas/attack.ts); the driver (attack.ts) does the bookkeeping once for every attack.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Deadline } from '../deadline.ts';
import type { ImageModel } from '../model/image-model.ts';
import type { Criterion } from './criteria.ts';
import type { StepInfo } from './gradient-descent.ts';
import type { NormName } from './norms.ts';

export type ParamValue = number | boolean | string;
export type ParamValues = Record<string, ParamValue>;

/** One parameter of an attack. Bounds are inclusive unless `exclusiveMinimum`; a `string` parameter takes one of `values`. */
export interface ParamSpec {
  type: 'integer' | 'number' | 'boolean' | 'string';
  /** The accepted values of a `string` parameter. */
  values?: readonly string[];
  /** The value when the request leaves it out; may depend on the norm and ε (ε is undefined for minimization attacks). */
  default: ParamValue | ((norm: NormName, epsilon: number | undefined) => ParamValue);
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  /** One line for users (the schema's description). */
  description: string;
  /** Why a value outside the bounds is refused, when the bound is part of the method's definition. */
  outOfBounds?: string;
}

/** What `run` gets: the batch, the criterion and the shared settings of the request. */
export interface AttackContext {
  model: ImageModel;
  /** The clean batch [N, H, W, C]; the caller's (do not dispose). */
  x0: tf.Tensor4D;
  criterion: Criterion;
  norm: NormName;
  /** The ε-ball of a fixed-ε attack; undefined for minimization attacks. */
  epsilon: number | undefined;
  seed: number;
  bounds: [number, number];
  deadline: Deadline;
  onStep: (info: StepInfo) => void;
  /** Whether progress should carry each image's predicted class (costs a forward pass a step). */
  wantPredictions: boolean;
}

export interface AttackOutput {
  /** The adversarial batch [N, H, W, C], inside the value range; the caller's to dispose. */
  adversarial: tf.Tensor4D;
  /** Gradient iterations actually run. */
  iterations: number;
  /** An ensemble's per-stage account (autoattack.ts); absent for single attacks. */
  stages?: StageResult[];
  /** Per image, the stage that first broke it ('clean' when misclassified to begin with), or null. */
  brokenBy?: (string | null)[];
  /** Signs of gradient masking and other reasons to doubt the number (masking-checks.ts). */
  warnings?: string[];
}

/** One stage of an ensemble, AutoAttack's "individual" view plus the running total. */
export interface StageResult {
  attack: string;
  /** Images this stage attacked (those still robust before it). */
  attacked: number;
  /** Images it broke. */
  broken: number;
  /** Robust accuracy over the whole batch after this stage. */
  robustAccuracy: number;
  elapsedMs: number;
}

export interface AttackSpec<P extends ParamValues = ParamValues> {
  name: string;
  /** Paper and year, for documentation. */
  paper: string;
  /**
   * `fixed-epsilon`: searches inside a given ε-ball (ε required; runs once per ε).
   * `minimization`: finds the smallest perturbation it can (ε optional; runs once and is judged at every ε).
   */
  kind: 'fixed-epsilon' | 'minimization';
  norms: readonly NormName[];
  defaultNorm: NormName;
  targetable: boolean;
  params: { readonly [K in keyof P]: ParamSpec };
  /**
   * The parameters whose product is the number of gradient iterations a setting costs (a
   * `restarts` parameter multiplies it too). Under a step limit, defaults are scaled down in
   * this order: the first is shrunk to fit, then the next if the first reached 1.
   */
  iterationFactors: readonly (keyof P & string)[];
  /**
   * The cost when it is not a product of `iterationFactors` (an ensemble: a sum over its stages;
   * a model query counts as one iteration). The factors still say which defaults shrink first.
   */
  cost?: (params: P) => number;
  run(context: AttackContext, params: P): Promise<AttackOutput>;
}

// The registry holds specs of different parameter types; `run` is only ever called with the
// parameters its own spec resolved (plan.ts), so the erased type is safe.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAttackSpec = AttackSpec<any>;

/** A spec, type-checked against its parameter type. */
export function defineAttack<P extends ParamValues>(spec: AttackSpec<P>): AttackSpec<P> {
  return spec;
}

/** The parameter's default for this norm and ε. */
export function defaultOf(param: ParamSpec, norm: NormName, epsilon: number | undefined): ParamValue {
  return typeof param.default === 'function' ? param.default(norm, epsilon) : param.default;
}

/** Gradient iterations a setting costs: the product of the spec's factors, times `restarts`. */
export function iterationCost(spec: AnyAttackSpec, params: ParamValues): number {
  if (spec.cost) return spec.cost(params);
  const restarts = typeof params.restarts === 'number' ? params.restarts : 1;
  return spec.iterationFactors.reduce((cost: number, f: string) => cost * (params[f] as number), restarts);
}

/** The parameters that count in `iterationCost`, in the order defaults are scaled down. */
export function costFields(spec: AnyAttackSpec): string[] {
  return [...spec.iterationFactors, ...('restarts' in spec.params ? ['restarts'] : [])];
}
