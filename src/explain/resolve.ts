/**
 * Turns an explanation request into what the driver runs, from the specs alone: the base method
 * and the wrapper around it, the model checked against the base's requirements, parameters given
 * to a method that does not take them refused (or dropped, as their spec says), defaults filled
 * in, and the attribution function with its options. Also the cost of a request in gradient
 * evaluations per image.
 */
import { badParameter, GradlabError } from '../errors.ts';
import type { AttributionMethod, MethodContext, MethodOptions } from './method.ts';
import {
  allParameters, appliesOnlyTo, BASE_METHODS, BASE_SPECS, baseSpecFor, EXPLAIN_METHODS, specFor, UNRESTRICTED_METHODS, WRAPPER_SPECS,
} from './registry.ts';
import type { BaseMethodSpec, ParameterSpec, ParameterValue, ParameterValues, WrapperSpec } from './spec.ts';
import type { ScoreKind } from './score.ts';

/** The request's fields by name (ExplainRequest, seen generically). */
export type RequestFields = Readonly<Record<string, unknown>>;

export interface ResolvedMethod {
  base: BaseMethodSpec;
  wrapper: WrapperSpec | undefined;
  /** The base method's options, without targets and score. */
  options: Omit<MethodOptions, 'targets' | 'score'>;
  score: ScoreKind;
  /** The function the driver runs per chunk: the base method, wrapped if asked. */
  attribute: AttributionMethod;
}

/** A method name from the request; anything but a string is refused as such, not looked up as '[object Object]'. */
function methodName(value: unknown, field: string, names: readonly string[]): string {
  if (typeof value !== 'string') throw badParameter(field, `must be a method name; methods: ${names.join(', ')}`);
  return value;
}

/** The method asked for, as its base spec and the wrapper (if any) around it. */
function chooseSpecs(request: RequestFields): { base: BaseMethodSpec; wrapper: WrapperSpec | undefined; field: string } {
  const spec = specFor(methodName(request.method, 'method', EXPLAIN_METHODS));
  const wrapper = spec.kind === 'wrapper' ? spec : undefined;
  // A wrapper's own parameters (SmoothGrad's base) make no sense without it.
  for (const other of WRAPPER_SPECS) {
    if (other === wrapper) continue;
    for (const [name, param] of Object.entries(other.parameters)) {
      if (param.elsewhere === 'refuse' && request[name] !== undefined) throw badParameter(name, appliesOnlyTo(name));
    }
  }
  if (!wrapper) return { base: spec as BaseMethodSpec, wrapper, field: 'method' };
  const field = wrapper.baseParameter;
  const name = request[field] ?? wrapper.parameters[field]!.default;
  return { base: baseSpecFor(methodName(name, field, BASE_METHODS), field), wrapper, field };
}

/** Refuses, naming the field, a model that lacks what the method needs. */
export function checkRequirements(spec: BaseMethodSpec, ctx: MethodContext, field: string): void {
  for (const requirement of spec.requires) {
    const missing = requirement.missing(ctx);
    if (missing === undefined) continue;
    const hint = requirement.suggestUnrestricted ? ` (use ${UNRESTRICTED_METHODS.join(' or ')})` : '';
    throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION', `${field}: '${spec.name}' needs ${requirement.needs}; ${missing}${hint}`, field);
  }
}

/** The value of each parameter the spec takes (given, else its default); undefined when neither. */
function valueOf(request: RequestFields, name: string, param: ParameterSpec): ParameterValue | undefined {
  return (request[name] as ParameterValue | undefined) ?? param.default;
}

function wrapperValues(wrapper: WrapperSpec, request: RequestFields): ParameterValues {
  const values: Record<string, ParameterValue> = {};
  for (const [name, param] of Object.entries(wrapper.parameters)) {
    const value = valueOf(request, name, param);
    if (value !== undefined) values[name] = value;
  }
  return values;
}

/**
 * The base method's options from the request. Every base method's parameter is looked at in
 * schema order, so that the first problem found is the same whatever the method.
 */
function baseOptions(base: BaseMethodSpec, request: RequestFields, ctx: MethodContext): Omit<MethodOptions, 'targets' | 'score'> {
  const options: Partial<MethodOptions> = {};
  for (const [name, declared] of allParameters(BASE_SPECS)) {
    const param = base.parameters[name];
    if (!param) {
      if (request[name] !== undefined && declared.elsewhere === 'refuse') throw badParameter(name, appliesOnlyTo(name));
      continue;
    }
    const value = valueOf(request, name, param);
    if (value === undefined) continue;
    Object.assign(options, param.toOptions ? param.toOptions(value, ctx) : { [name]: value });
  }
  return options;
}

export function resolveMethod(request: RequestFields, ctx: MethodContext): ResolvedMethod {
  const { base, wrapper, field } = chooseSpecs(request);
  checkRequirements(base, ctx, field);
  const options = baseOptions(base, request, ctx);
  const score = (request.score as ScoreKind | undefined) ?? base.defaultScore;
  const attribute = wrapper ? wrapper.wrap(base.attribute, wrapperValues(wrapper, request)) : base.attribute;
  return { base, wrapper, options, score, attribute };
}

/** Gradient evaluations per image that a request costs (defaults filled in); checks no model. */
export function gradientsPerImage(request: RequestFields): number {
  const { base, wrapper } = chooseSpecs(request);
  const values: Record<string, ParameterValue> = {};
  for (const [name, param] of Object.entries(base.parameters)) {
    const value = valueOf(request, name, param);
    if (value !== undefined) values[name] = value;
  }
  const baseCost = base.gradientsPerImage(values);
  return wrapper ? wrapper.gradientsPerImage(baseCost, wrapperValues(wrapper, request)) : baseCost;
}
