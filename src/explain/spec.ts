/**
 * What an explanation method declares about itself (Captum's habit: each method carries its own
 * capabilities): its paper, what the model must have, which request parameters it takes (with
 * defaults and bounds), how its map is rendered, what it costs and, for integrated gradients, how
 * its convergence is checked. The driver (explain.ts), the refusals and the HTTP schema are all
 * derived from these declarations; nothing else tests a method's name.
 *
 * Two kinds: a base method computes a map from x (`attribute`); a wrapper (SmoothGrad, like
 * Captum's NoiseTunnel) turns any base method into another one.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Rendering } from '../images/heatmap.ts';
import type { AttributionMethod, MethodContext, MethodOptions } from './method.ts';
import type { ScoreKind } from './score.ts';

/** A value of one request parameter, after defaults. */
export type ParameterValue = number | string | Float32Array;

/**
 * One request parameter. `type` says what the request may carry (the HTTP schema is built from
 * it): an integer or number within bounds, one of `values`, a non-empty string, an image (the
 * route decodes it to a Float32Array first) or the name of a base method.
 */
export interface ParameterSpec {
  type: 'integer' | 'number' | 'enum' | 'string' | 'image' | 'base-method';
  minimum?: number;
  maximum?: number;
  values?: readonly string[];
  /** Used when the request leaves the parameter out; none means the method chooses (e.g. the last convolution). */
  default?: number | string;
  /**
   * What happens when a request gives it to a method that does not take it: 'refuse' answers a
   * 400 ("applies only to …"); 'ignore' drops it, because clients have always sent one parameter
   * set (steps, samples, noise, seed) whatever the method, and refusing them now would break them.
   */
  elsewhere: 'refuse' | 'ignore';
  /** Turns the value into the method's options (Grad-CAM: a layer name into its index); default `{ [name]: value }`. */
  toOptions?(value: ParameterValue, ctx: MethodContext): Partial<MethodOptions>;
}

export type ParameterValues = Readonly<Record<string, ParameterValue>>;

/**
 * Something the model must have for a method to apply. When `missing` says what the model lacks,
 * the request is refused: "<field>: '<method>' needs <needs>; <missing>".
 */
export interface Requirement {
  /** What the method needs, e.g. "a convolutional layer". */
  needs: string;
  /** What the model lacks (e.g. "'x' has none"), or undefined when it has it. */
  missing(ctx: MethodContext): string | undefined;
  /** Whether the refusal suggests the methods that need nothing of the model (nothing structural works). */
  suggestUnrestricted?: boolean;
}

/** Integrated gradients' completeness: the attributions against the score difference they explain. */
export interface Completeness {
  /** Σ attributions. */
  attributionSum: number;
  /** score(x) − score(baseline). */
  scoreDifference: number;
  /** |sum − difference| / max(|difference|, 1e-6). */
  relativeError: number;
}

/** A method's own convergence check, computed with the map (same `tf.tidy`). */
export interface ConvergenceCheck {
  /** Per-image quantities, each [N], from the batch x and its map. */
  measure(ctx: MethodContext, x: tf.Tensor4D, map: tf.Tensor4D, options: MethodOptions): tf.Tensor1D[];
  /** One image's report from its measured quantities (in `measure`'s order). */
  report(values: number[]): Completeness;
}

export interface BaseMethodSpec {
  kind: 'base';
  name: string;
  /** The paper the method follows. */
  paper: string;
  attribute: AttributionMethod;
  /** The score explained when the request names none. */
  defaultScore: ScoreKind;
  requires: readonly Requirement[];
  /** The parameters it takes, in the order the HTTP schema lists them. */
  parameters: Readonly<Record<string, ParameterSpec>>;
  rendering: Rendering;
  /** Gradient evaluations per image, given the parameter values. */
  gradientsPerImage(values: ParameterValues): number;
  /** The parameters that `gradientsPerImage` grows with (each is held to the configured maximum). */
  costParameters: readonly string[];
  convergence?: ConvergenceCheck;
  /** The layer the map explains, where the method explains one (Grad-CAM). */
  explainedLayer?(ctx: MethodContext, options: MethodOptions): string;
}

export interface WrapperSpec {
  kind: 'wrapper';
  name: string;
  paper: string;
  /** The wrapped method's parameter; its default names the base used when the request names none. */
  baseParameter: string;
  /** The wrapper's own parameters, `baseParameter` included, in schema order. */
  parameters: Readonly<Record<string, ParameterSpec>>;
  wrap(base: AttributionMethod, values: ParameterValues): AttributionMethod;
  /** Gradient evaluations per image, given the base method's count. */
  gradientsPerImage(baseCost: number, values: ParameterValues): number;
  costParameters: readonly string[];
}

export type MethodSpec = BaseMethodSpec | WrapperSpec;

/** Declares a base method, keeping its name's literal type (for the request's method union). */
export function defineBase<const Name extends string>(spec: BaseMethodSpec & { name: Name }): BaseMethodSpec & { name: Name } {
  return spec;
}

export function defineWrapper<const Name extends string>(spec: WrapperSpec & { name: Name }): WrapperSpec & { name: Name } {
  return spec;
}
