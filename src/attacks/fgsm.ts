/**
 * FGSM — Goodfellow, Shlens & Szegedy 2015, "Explaining and Harnessing Adversarial Examples".
 * Fixed-ε, L∞ (the sign of the gradient, default) or L2 (the normalised gradient), targetable.
 * Defaults: one step of size ε, no random start: PGD with one step. `steps` can only be 1.
 * Shapes: images [N, H, W, C] in the model's value range; ε in the same units.
 */
import { gradientAttack } from './gradient-attack.ts';

export const fgsm = gradientAttack({
  name: 'fgsm',
  paper: 'Goodfellow, Shlens & Szegedy 2015',
  defaults: (_norm, epsilon) => ({ steps: 1, stepSize: epsilon, randomStart: false, momentum: 0 }),
  steps: { maximum: 1, outOfBounds: 'fgsm is one step by definition; use bim or pgd for more' },
});
