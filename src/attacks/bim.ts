/**
 * BIM — Kurakin, Goodfellow & Bengio 2017, "Adversarial Examples in the Physical World".
 * Fixed-ε, L∞ (default) or L2, targetable. Defaults (Foolbox's): 10 steps of 0.2·ε, no random start.
 * Shapes: images [N, H, W, C] in the model's value range; ε in the same units.
 */
import { gradientAttack } from './gradient-attack.ts';

export const bim = gradientAttack({
  name: 'bim',
  paper: 'Kurakin, Goodfellow & Bengio 2017',
  defaults: (_norm, epsilon) => ({ steps: 10, stepSize: 0.2 * epsilon, randomStart: false, momentum: 0 }),
});
