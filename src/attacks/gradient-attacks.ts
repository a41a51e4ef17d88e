/**
 * FGSM, BIM, PGD and MI-FGSM as settings of the one descent loop (gradient-descent.ts). Each
 * entry names its paper, its norms and its defaults; step sizes are relative to ε unless given.
 *
 * - `fgsm` — Goodfellow, Shlens & Szegedy 2015, "Explaining and Harnessing Adversarial Examples".
 *   L∞ (the sign of the gradient) or L2 (the normalised gradient). One step of size ε, no random
 *   start: PGD with one step.
 * - `bim` — Kurakin, Goodfellow & Bengio 2017, "Adversarial Examples in the Physical World".
 *   L∞/L2, 10 steps of 0.2·ε (Foolbox's defaults), no random start.
 * - `pgd` — Madry et al. 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks".
 *   L∞: 40 steps of ε/30 (Foolbox's rel_stepsize 0.01/0.3: 0.01 at ε = 0.3); L2: 50 steps of 0.025·ε;
 *   random start in the ε-ball; `restarts` repeats from fresh random starts and keeps the first success.
 * - `mifgsm` — Dong et al. 2018, "Boosting Adversarial Attacks with Momentum". L∞/L2, 10 steps of
 *   ε/10, momentum decay μ = 1.
 * Shapes: images [N, H, W, C] in the model's value range; ε in the same units.
 */
import type { NormName } from './norms.ts';

export const GRADIENT_ATTACKS = ['fgsm', 'bim', 'pgd', 'mifgsm'] as const;
export type GradientAttackName = (typeof GRADIENT_ATTACKS)[number];

export interface GradientAttackSettings {
  steps: number;
  stepSize: number;
  randomStart: boolean;
  momentum: number;
}

export interface GradientAttackSpec {
  name: GradientAttackName;
  norms: readonly NormName[];
  /** Whether `steps` may differ from the default (FGSM is one step by definition). */
  fixedSteps: boolean;
  defaults(norm: NormName, epsilon: number): GradientAttackSettings;
}

export const GRADIENT_ATTACK_SPECS: Record<GradientAttackName, GradientAttackSpec> = {
  fgsm: {
    name: 'fgsm',
    norms: ['linf', 'l2'],
    fixedSteps: true,
    defaults: (_norm, epsilon) => ({ steps: 1, stepSize: epsilon, randomStart: false, momentum: 0 }),
  },
  bim: {
    name: 'bim',
    norms: ['linf', 'l2'],
    fixedSteps: false,
    defaults: (_norm, epsilon) => ({ steps: 10, stepSize: 0.2 * epsilon, randomStart: false, momentum: 0 }),
  },
  pgd: {
    name: 'pgd',
    norms: ['linf', 'l2'],
    fixedSteps: false,
    defaults: (norm, epsilon) =>
      norm === 'linf'
        ? { steps: 40, stepSize: (0.01 / 0.3) * epsilon, randomStart: true, momentum: 0 }
        : { steps: 50, stepSize: 0.025 * epsilon, randomStart: true, momentum: 0 },
  },
  mifgsm: {
    name: 'mifgsm',
    norms: ['linf', 'l2'],
    fixedSteps: false,
    defaults: (_norm, epsilon) => ({ steps: 10, stepSize: epsilon / 10, randomStart: false, momentum: 1 }),
  },
};
