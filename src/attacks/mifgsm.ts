/**
 * MI-FGSM — Dong et al. 2018, "Boosting Adversarial Attacks with Momentum".
 * Fixed-ε, L∞ (default) or L2, targetable. Defaults: 10 steps of ε/10, momentum decay μ = 1
 * (g ← μ·g + ∇/‖∇‖₁ per image, then a step along the norm's direction of g), no random start.
 * Shapes: images [N, H, W, C] in the model's value range; ε in the same units.
 */
import { gradientAttack } from './gradient-attack.ts';

export const mifgsm = gradientAttack({
  name: 'mifgsm',
  paper: 'Dong et al. 2018',
  defaults: (_norm, epsilon) => ({ steps: 10, stepSize: epsilon / 10, randomStart: false, momentum: 1 }),
});
