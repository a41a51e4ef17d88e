/**
 * Turns an attack request into a plan, validating it once against the method's spec: the norm,
 * ε (required by fixed-ε attacks; positive; inside the value range for L∞), targeted or not,
 * which parameters the method accepts and their bounds, the step limit, and the classes named
 * in `target`/`label`. Every message is generated from the specs and names the request field.
 * The plan carries everything `runAttack` needs with defaults filled in, so the driver never
 * validates again and a streaming client gets a plain 400 before any event.
 *
 * Step limit: a request whose explicit `steps`/`binarySearchSteps`/`restarts` cost more gradient
 * iterations than `maxSteps` is refused naming the first such field; when only defaults exceed it,
 * the defaults are scaled down to fit (spec.ts, `iterationFactors`). Without `maxSteps` (scripts,
 * evaluations) the defaults stay as declared.
 */
import { badParameter } from '../errors.ts';
import { resolveClass } from '../model/classes.ts';
import type { ImageModel } from '../model/image-model.ts';
import type { NormName } from './norms.ts';
import { costFields, defaultOf, iterationCost, type AnyAttackSpec, type ParamSpec, type ParamValue, type ParamValues } from './spec.ts';
import { ATTACK_METHODS, ATTACK_SPECS, isAttackMethod, listMethods, parametersByName, type AttackMethod } from './specs.ts';

export interface AttackRequest {
  method: AttackMethod;
  norm?: NormName;
  epsilon?: number;
  epsilons?: number[];
  /** Makes the attack targeted: class index or label. */
  target?: number | string;
  /** The true class (index or label), or one per image; default: the model's prediction on the clean image. */
  label?: number | string | (number | string)[];
  seed?: number;
  // The methods' own parameters (see each spec for which applies, its default and bounds).
  steps?: number;
  stepSize?: number;
  randomStart?: boolean;
  restarts?: number;
  momentum?: number;
  confidence?: number;
  binarySearchSteps?: number;
  initialConst?: number;
  learningRate?: number;
  overshoot?: number;
  candidates?: number;
  targets?: number;
  queries?: number;
  version?: string;
}

/** One run of the attack: once per ε for fixed-ε attacks, once in all for minimization attacks. */
export interface PlannedRun {
  /** The ε the attack itself is given (undefined for minimization attacks). */
  epsilon: number | undefined;
  /** The ε at which its result is judged: one for fixed-ε attacks, every requested one for minimization. */
  judgedAt: (number | undefined)[];
  /** The spec's parameters, defaults filled in (and scaled to the step limit). */
  params: ParamValues;
}

export interface AttackPlan {
  method: AttackMethod;
  spec: AnyAttackSpec;
  norm: NormName;
  /** The requested ε, in order ([undefined] when none). */
  epsilons: (number | undefined)[];
  runs: PlannedRun[];
  seed: number;
  /** Resolved true labels per image, or undefined: the model's prediction on the clean image. */
  labels?: number[];
  /** Resolved target class (targeted attack). */
  target?: number;
  /** The number of images the plan was made for. */
  images: number;
}

export interface PlanOptions {
  /** How many images will be attacked (checks per-image labels). */
  images: number;
  /** Most gradient iterations one request may cost; none: no limit, defaults as declared. */
  maxSteps?: number;
  /** Where the limit comes from, added to the message (the caller's name for it). */
  maxStepsName?: string;
}

function checkBounds(field: string, param: ParamSpec, value: ParamValue): void {
  const refuse = (problem: string) => badParameter(field, param.outOfBounds ?? problem);
  if (param.type === 'boolean') {
    if (typeof value !== 'boolean') throw refuse(`must be true or false (got ${value})`);
    return;
  }
  if (param.type === 'string') {
    if (typeof value !== 'string' || !param.values!.includes(value)) throw refuse(`must be one of ${param.values!.join(', ')} (got ${value})`);
    return;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw refuse(`must be a number (got ${value})`);
  if (param.type === 'integer' && !Number.isInteger(value)) throw refuse(`must be an integer (got ${value})`);
  if (param.minimum !== undefined && value < param.minimum) throw refuse(`must be ≥ ${param.minimum} (got ${value})`);
  if (param.exclusiveMinimum !== undefined && value <= param.exclusiveMinimum) throw refuse(`must be > ${param.exclusiveMinimum} (got ${value})`);
  if (param.maximum !== undefined && value > param.maximum) throw refuse(`must be ≤ ${param.maximum} (got ${value})`);
}

function checkEpsilons(model: ImageModel, spec: AnyAttackSpec, request: AttackRequest, norm: NormName): (number | undefined)[] {
  if (request.epsilon !== undefined && request.epsilons !== undefined) throw badParameter('epsilons', "send either 'epsilon' or 'epsilons', not both");
  const epsilons: (number | undefined)[] = request.epsilons ?? (request.epsilon !== undefined ? [request.epsilon] : [undefined]);
  if (spec.kind === 'fixed-epsilon' && epsilons[0] === undefined) {
    throw badParameter('epsilon', `is required for ${spec.name} (the size of the ε-ball, in the model's value units)`);
  }
  const [lo, hi] = model.manifest.input.range;
  epsilons.forEach((e, i) => {
    const field = request.epsilons ? `epsilons[${i}]` : 'epsilon';
    if (e !== undefined && !(e > 0)) throw badParameter(field, `must be positive (got ${e})`);
    if (e !== undefined && norm === 'linf' && e > hi - lo) throw badParameter(field, `${e} is larger than the value range ${hi - lo}`);
  });
  return epsilons;
}

/** The method's parameters with defaults filled in, fitted to the step limit. */
function resolveParams(spec: AnyAttackSpec, request: AttackRequest, norm: NormName, epsilon: number | undefined, options: PlanOptions): ParamValues {
  const given = request as unknown as Record<string, ParamValue | undefined>;
  const params: ParamValues = {};
  for (const [name, param] of Object.entries<ParamSpec>(spec.params)) params[name] = given[name] ?? defaultOf(param, norm, epsilon);
  const { maxSteps } = options;
  const cost = iterationCost(spec, params);
  if (maxSteps === undefined || cost <= maxSteps) return params;
  const fields = costFields(spec);
  const explicit = fields.find((f) => given[f] !== undefined);
  if (explicit) throw badParameter(explicit, `${cost} is over the configured maximum of ${maxSteps}${options.maxStepsName ? ` (${options.maxStepsName})` : ''}`);
  // Only defaults exceed the limit: shrink the factors in order until the cost fits.
  if (spec.cost) {
    // A cost that is not a product (an ensemble): shrink each factor in turn, proportionally, until it fits.
    for (const f of fields) {
      while (iterationCost(spec, params) > maxSteps && (params[f] as number) > 1) {
        params[f] = Math.max(1, Math.floor(((params[f] as number) * maxSteps) / iterationCost(spec, params)));
      }
    }
    const least = iterationCost(spec, params);
    if (least > maxSteps) {
      const field = 'version' in spec.params ? 'version' : fields[0]!;
      throw badParameter(field, `costs ${least} iterations even at its smallest setting, over the configured maximum of ${maxSteps}${options.maxStepsName ? ` (${options.maxStepsName})` : ''}`);
    }
    return params;
  }
  for (const f of fields) {
    const others = iterationCost(spec, params) / (params[f] as number);
    params[f] = Math.max(1, Math.min(params[f] as number, Math.floor(maxSteps / others)));
    if (iterationCost(spec, params) <= maxSteps) break;
  }
  return params;
}

/** Validates an attack request once and returns what `runAttack` needs (400s name the field). */
export function prepareAttack(model: ImageModel, request: AttackRequest, options: PlanOptions): AttackPlan {
  if (!isAttackMethod(request.method)) throw badParameter('method', `'${String(request.method)}' is not an attack (one of: ${ATTACK_METHODS.join(', ')})`);
  const spec = ATTACK_SPECS[request.method];
  const norm = request.norm ?? spec.defaultNorm;
  if (!spec.norms.includes(norm)) throw badParameter('norm', `'${norm}' is not supported by ${spec.name} (supported: ${spec.norms.join(', ')})`);
  const epsilons = checkEpsilons(model, spec, request, norm);
  if (request.target !== undefined && !spec.targetable) {
    const targetable = ATTACK_METHODS.filter((m) => ATTACK_SPECS[m].targetable);
    throw badParameter('target', `${spec.name} is untargeted; use ${listMethods(targetable)} for a targeted attack`);
  }
  const given = request as unknown as Record<string, ParamValue | undefined>;
  for (const [name, { methods }] of parametersByName()) {
    const value = given[name];
    if (value === undefined) continue;
    if (!(name in spec.params)) throw badParameter(name, `applies only to ${methods.join(', ')}`);
    checkBounds(name, spec.params[name] as ParamSpec, value);
  }
  const runs: PlannedRun[] =
    spec.kind === 'minimization'
      ? [{ epsilon: undefined, judgedAt: epsilons, params: resolveParams(spec, request, norm, undefined, options) }]
      : epsilons.map((epsilon) => ({ epsilon, judgedAt: [epsilon], params: resolveParams(spec, request, norm, epsilon, options) }));

  const classes = model.manifest.labels;
  const target = request.target !== undefined ? resolveClass(classes, request.target, 'target') : undefined;
  let labels: number[] | undefined;
  const label = request.label;
  if (Array.isArray(label)) {
    if (label.length !== options.images) throw badParameter('label', `has ${label.length} labels for ${options.images} images`);
    labels = label.map((l, i) => resolveClass(classes, l, `label[${i}]`));
  } else if (label !== undefined) {
    const index = resolveClass(classes, label, 'label');
    labels = new Array<number>(options.images).fill(index);
  }
  return {
    method: request.method,
    spec,
    norm,
    epsilons,
    runs,
    seed: request.seed ?? 0,
    ...(labels ? { labels } : {}),
    ...(target !== undefined ? { target } : {}),
    images: options.images,
  };
}
