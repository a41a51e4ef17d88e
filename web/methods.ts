/**
 * What the page offers for each explanation and attack method: a label, the parameters it shows
 * (with bounds matching the API's specs) and a one-line "why" note for students. The API stays
 * the authority: a value it refuses comes back as its 400 message, shown in the page.
 */

export interface NumberParam { name: string; label: string; min: number; max: number; step: number; value: number }

/** A parameter chosen from a list; `layers` means the model's convolution layers (empty: the server's default). */
export interface ChoiceParam { name: string; label: string; options: string[] | 'conv-layers'; value: string }

export interface ExplainMethod { id: string; label: string; why: string; params: NumberParam[]; choices?: ChoiceParam[]; streams: boolean }

const SCORE: ChoiceParam = { name: 'score', label: 'score', options: ['logprob', 'logit'], value: 'logprob' };
const CONV_LAYER: ChoiceParam = { name: 'layer', label: 'layer (default: the last convolution)', options: 'conv-layers', value: '' };

export const EXPLAIN_METHODS: ExplainMethod[] = [
  { id: 'gradient', label: 'Gradient (saliency)', streams: false, params: [], choices: [SCORE],
    why: 'How much each pixel, nudged a little, moves log p(class): the first-order answer, often noisy.' },
  { id: 'guided-backprop', label: 'Guided backprop', streams: false, params: [], choices: [SCORE],
    why: 'Lets only positive gradient through positive ReLUs: crisp edges, but not the gradient of anything, and barely class-specific.' },
  { id: 'gradcam', label: 'Grad-CAM', streams: false, params: [], choices: [CONV_LAYER, SCORE],
    why: 'Weights the last convolution\'s channels by their average gradient: coarse, but it says where the class evidence is.' },
  { id: 'guided-gradcam', label: 'Guided Grad-CAM', streams: false, params: [], choices: [CONV_LAYER, SCORE],
    why: 'Guided backprop masked by Grad-CAM: fine detail, restricted to the region that matters for the class.' },
  { id: 'smoothgrad', label: 'SmoothGrad', streams: true,
    choices: [{ name: 'base', label: 'base method', options: ['gradient', 'guided-backprop', 'gradcam', 'guided-gradcam', 'integrated-gradients'], value: 'gradient' }, SCORE],
    params: [{ name: 'samples', label: 'samples', min: 1, max: 200, step: 1, value: 25 }, { name: 'noise', label: 'noise (σ / range)', min: 0, max: 1, step: 0.01, value: 0.15 }],
    why: 'Averages the map over noisy copies of the input: the gradient\'s speckle averages out, the structure stays.' },
  { id: 'integrated-gradients', label: 'Integrated gradients', streams: true,
    choices: [{ name: 'baseline', label: 'baseline', options: ['black', 'white'], value: 'black' }, SCORE],
    params: [{ name: 'steps', label: 'steps', min: 1, max: 512, step: 1, value: 64 }],
    why: 'Sums gradients along the path from a baseline image (black by default): attributions add up to the change in log p (completeness).' },
];

export interface AttackMethod { id: string; label: string; why: string; norms: string[]; params: NumberParam[]; targeted: boolean; usesEpsilon: boolean }

const steps = (value: number, max = 1000): NumberParam => ({ name: 'steps', label: 'steps', min: 1, max, step: 1, value });

/** Ordered from weak to strong, as the lecture presents them. */
export const ATTACK_METHODS: AttackMethod[] = [
  { id: 'fgsm', label: '1 · FGSM (one step)', norms: ['linf', 'l2'], params: [], targeted: true, usesEpsilon: true,
    why: 'One step of size ε along the sign of the gradient: cheap, and already enough for an undefended network.' },
  { id: 'bim', label: '2 · BIM (iterated FGSM)', norms: ['linf', 'l2'], params: [steps(10)], targeted: true, usesEpsilon: true,
    why: 'Many small FGSM steps, each projected back into the ε-ball: finds what one step misses.' },
  { id: 'mifgsm', label: '3 · MI-FGSM (momentum)', norms: ['linf', 'l2'], params: [steps(10)], targeted: true, usesEpsilon: true,
    why: 'BIM with momentum on the gradient: steadier steps, examples that transfer better to other models.' },
  { id: 'pgd', label: '4 · PGD (random start)', norms: ['linf', 'l2'], params: [steps(40)], targeted: true, usesEpsilon: true,
    why: 'BIM from a random point in the ε-ball: the standard first-order attack (Madry et al.).' },
  { id: 'deepfool', label: '5 · DeepFool (minimal)', norms: ['l2', 'linf'], params: [steps(50)], targeted: false, usesEpsilon: true,
    why: 'Steps to the nearest linearised decision boundary: small perturbations, untargeted; judged at ε.' },
  { id: 'cw', label: '6 · Carlini–Wagner L2', norms: ['l2'], params: [steps(100)], targeted: true, usesEpsilon: true,
    why: 'Optimises the smallest L2 change with a margin loss: slow, precise, beats many defences.' },
  { id: 'apgd-ce', label: '7 · APGD-CE', norms: ['linf', 'l2'], params: [steps(100)], targeted: true, usesEpsilon: true,
    why: 'PGD that adapts its own step size: no tuning, stronger than PGD at the same budget.' },
  { id: 'square', label: '8 · Square (no gradient)', norms: ['linf'], params: [{ name: 'queries', label: 'queries', min: 1, max: 5000, step: 1, value: 1000 }], targeted: true, usesEpsilon: true,
    why: 'Random square patches, kept when the score drops: needs only probabilities, so gradient masking does not stop it.' },
  { id: 'autoattack', label: '9 · AutoAttack (ensemble)', norms: ['linf', 'l2'], params: [], targeted: false, usesEpsilon: true,
    why: 'APGD-CE, APGD-T, FAB-T and Square in turn: the parameter-free yardstick for robustness claims.' },
];

export function explainMethod(id: string): ExplainMethod {
  return EXPLAIN_METHODS.find((m) => m.id === id) ?? EXPLAIN_METHODS[0]!;
}

export function attackMethod(id: string): AttackMethod {
  return ATTACK_METHODS.find((m) => m.id === id) ?? ATTACK_METHODS[0]!;
}
