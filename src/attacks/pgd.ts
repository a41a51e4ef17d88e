/**
 * PGD — Madry et al. 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks".
 * Fixed-ε, L∞ (default) or L2, targetable. Defaults: L∞ 40 steps of ε/30 (Foolbox's rel_stepsize
 * 0.01/0.3: 0.01 at ε = 0.3); L2 50 steps of 0.025·ε; random start in the ε-ball. `restarts`
 * repeats from fresh random starts (seed + r·1009) and keeps each image's first success.
 * Shapes: images [N, H, W, C] in the model's value range; ε in the same units.
 */
import { gradientAttack } from './gradient-attack.ts';

export const pgd = gradientAttack({
  name: 'pgd',
  paper: 'Madry et al. 2018',
  defaults: (norm, epsilon) =>
    norm === 'linf'
      ? { steps: 40, stepSize: (0.01 / 0.3) * epsilon, randomStart: true, momentum: 0 }
      : { steps: 50, stepSize: 0.025 * epsilon, randomStart: true, momentum: 0 },
  restarts: true,
});
