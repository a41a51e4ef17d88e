/**
 * Every explanation method's spec, in one list: the method names, the base methods a wrapper may
 * wrap, every request parameter and its owners, and the parameters that multiply the cost are all
 * derived from it (the HTTP schema in routes/schemas/explain.ts too). Adding a method is adding a
 * spec file and a line here.
 */
import { badParameter } from '../errors.ts';
import { gradcamSpec } from './gradcam.ts';
import { gradientSpec } from './gradient.ts';
import { guidedBackpropSpec } from './guided-backprop.ts';
import { guidedGradcamSpec } from './guided-gradcam.ts';
import { integratedGradientsSpec } from './integrated-gradients.ts';
import { smoothgradSpec } from './smoothgrad.ts';
import type { BaseMethodSpec, MethodSpec, ParameterSpec, WrapperSpec } from './spec.ts';

/** In the order the HTTP schema lists their parameters. */
export const METHOD_SPECS = [gradientSpec, guidedBackpropSpec, gradcamSpec, guidedGradcamSpec, smoothgradSpec, integratedGradientsSpec] as const;

type AnySpec = (typeof METHOD_SPECS)[number];
export type BaseMethod = Extract<AnySpec, { kind: 'base' }>['name'];
export type WrapperMethod = Extract<AnySpec, { kind: 'wrapper' }>['name'];
export type ExplainMethod = BaseMethod | WrapperMethod;

const isBase = (spec: MethodSpec): spec is BaseMethodSpec => spec.kind === 'base';
const isWrapper = (spec: MethodSpec): spec is WrapperSpec => spec.kind === 'wrapper';

const ALL: readonly MethodSpec[] = METHOD_SPECS;
export const BASE_SPECS: readonly BaseMethodSpec[] = ALL.filter(isBase);
export const WRAPPER_SPECS: readonly WrapperSpec[] = ALL.filter(isWrapper);
/** Base methods first, then wrappers. */
export const BASE_METHODS = BASE_SPECS.map((s) => s.name) as readonly BaseMethod[];
export const EXPLAIN_METHODS = [...BASE_METHODS, ...WRAPPER_SPECS.map((s) => s.name)] as readonly ExplainMethod[];

export function specFor(name: string, field = 'method'): MethodSpec {
  const spec = ALL.find((s) => s.name === name);
  if (!spec) throw badParameter(field, `unknown method '${name}'; methods: ${EXPLAIN_METHODS.join(', ')}`);
  return spec;
}

export function baseSpecFor(name: string, field: string): BaseMethodSpec {
  const spec = specFor(name, field);
  if (!isBase(spec)) throw badParameter(field, `'${name}' is not a base method; base methods: ${BASE_METHODS.join(', ')}`);
  return spec;
}

/** Every parameter any spec takes, each once, in schema order (a parameter shared by several specs is declared alike). */
export function allParameters(specs: readonly MethodSpec[] = ALL): [string, ParameterSpec][] {
  const seen = new Map<string, ParameterSpec>();
  for (const spec of specs) for (const [name, param] of Object.entries(spec.parameters)) if (!seen.has(name)) seen.set(name, param);
  return [...seen];
}

/** The specs that take a parameter. */
export function ownersOf(parameter: string): MethodSpec[] {
  return ALL.filter((s) => parameter in s.parameters);
}

/** "applies only to gradcam and guided-gradcam" / "applies only to method 'smoothgrad'": who takes the parameter. */
export function appliesOnlyTo(parameter: string): string {
  const owners = ownersOf(parameter);
  if (owners.every(isWrapper)) return `applies only to method ${owners.map((s) => `'${s.name}'`).join(' or ')}`;
  const names = owners.map((s) => s.name);
  return `applies only to ${names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0]}`;
}

/** Base methods that need nothing of the model: what a refusal for a missing structure suggests. */
export const UNRESTRICTED_METHODS = BASE_SPECS.filter((s) => s.requires.length === 0).map((s) => s.name);

/**
 * The parameters that multiply a method's cost in gradient evaluations (IG's steps, SmoothGrad's
 * samples), base methods' first: each is held to the configured maximum on its own.
 */
export const COST_PARAMETERS: readonly string[] = [...new Set([...BASE_SPECS, ...WRAPPER_SPECS].flatMap((s) => s.costParameters))];
