/**
 * FGSM, BIM, PGD and MI-FGSM are settings of one descent loop (gradient-descent.ts, Foolbox's
 * `gradient_descent_base.py`): this module turns a family member's defaults into an attack spec.
 * All four are fixed-ε attacks on L∞ or L2, targetable, with the same parameters (`steps`,
 * `stepSize`, `randomStart`, `momentum`; PGD adds `restarts`, driven by restarts.ts). Step sizes
 * default to a fraction of ε. Under a step limit, default `steps` shrink to the limit; the step
 * size stays what it was (`iterations` in the answer says how many steps ran).
 * Shapes: images [N, H, W, C] in the model's value range; ε in the same units.
 */
import { gradientDescent } from './gradient-descent.ts';
import { NORM_BY_NAME, type NormName } from './norms.ts';
import { defineAttack, type AttackSpec, type ParamSpec } from './spec.ts';

export interface GradientParams {
  [name: string]: number | boolean;
  steps: number;
  stepSize: number;
  randomStart: boolean;
  momentum: number;
}

export type GradientDefaults = (norm: NormName, epsilon: number) => GradientParams;

export const RESTARTS: ParamSpec = {
  type: 'integer',
  minimum: 1,
  maximum: 100,
  default: 1,
  description: 'random restarts (seed + r·1009); an image keeps its first success',
};

export interface GradientAttackOptions {
  name: string;
  paper: string;
  defaults: GradientDefaults;
  /** Overrides of the `steps` parameter (FGSM is one step by definition). */
  steps?: Partial<ParamSpec>;
  /** Whether `restarts` applies. */
  restarts?: boolean;
}

export function gradientAttack(o: GradientAttackOptions): AttackSpec<GradientParams> {
  // Fixed-ε attacks always resolve their defaults with an ε (plan.ts requires it).
  const of = <K extends keyof GradientParams>(key: K) => (norm: NormName, epsilon: number | undefined) => o.defaults(norm, epsilon!)[key];
  return defineAttack<GradientParams>({
    name: o.name,
    paper: o.paper,
    kind: 'fixed-epsilon',
    norms: ['linf', 'l2'],
    defaultNorm: 'linf',
    targetable: true,
    params: {
      steps: { type: 'integer', minimum: 1, default: of('steps'), description: 'iterations (steps × restarts × binarySearchSteps at most the step limit)', ...o.steps },
      stepSize: { type: 'number', exclusiveMinimum: 0, default: of('stepSize'), description: 'step size in value units (default: a fraction of ε)' },
      randomStart: { type: 'boolean', default: of('randomStart'), description: 'start from a random point of the ε-ball (default: pgd only)' },
      momentum: { type: 'number', minimum: 0, default: of('momentum'), description: 'MI-FGSM decay μ (default 1 for mifgsm, 0 otherwise)' },
      ...(o.restarts ? { restarts: RESTARTS } : {}),
    },
    iterationFactors: ['steps'],
    run: async (c, p) => {
      const adversarial = await gradientDescent(c.model, c.x0, c.criterion, {
        norm: NORM_BY_NAME[c.norm],
        epsilon: c.epsilon!,
        steps: p.steps,
        stepSize: p.stepSize,
        randomStart: p.randomStart,
        momentum: p.momentum,
        seed: c.seed,
        bounds: c.bounds,
        deadline: c.deadline,
        onStep: c.onStep,
        wantPredictions: c.wantPredictions,
      });
      return { adversarial, iterations: p.steps };
    },
  });
}
