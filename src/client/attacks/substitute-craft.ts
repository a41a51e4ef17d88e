/**
 * The substitute attack's crafting and measuring (substitute.ts trains): adversarial examples
 * made on the local substitute with gradlab's own white-box attacks (FGSM, PGD, MI-FGSM through
 * `runAttack`), the transfer rate on some attacked images after a round, and reservoir sampling's
 * choice of which points to augment.
 */
import { prepareAttack, runAttack } from '../../attacks/attack.ts';
import { permutation, type Random } from '../../datasets/seeded.ts';
import type { ImageModel } from '../../model/image-model.ts';
import type { HttpOracle } from '../oracle.ts';
import type { AttackTarget } from './common.ts';
import type { SubstituteOptions } from './substitute-options.ts';

/** Adversarial examples for `targets` crafted on the substitute, untargeted, away from the oracle's clean labels. */
export async function craftOnSubstitute(substitute: ImageModel, targets: AttackTarget[], options: Pick<SubstituteOptions, 'craft' | 'epsilon' | 'seed'>): Promise<Float32Array[]> {
  const adversarial: Float32Array[] = [];
  for (let start = 0; start < targets.length; start += 100) {
    const chunk = targets.slice(start, start + 100);
    const request = { method: options.craft, epsilon: options.epsilon, label: chunk.map((t) => t.clean.label), seed: options.seed };
    const attack = await runAttack(substitute, chunk.map((t) => t.image), prepareAttack(substitute, request, { images: chunk.length }));
    adversarial.push(...attack.runs[0]!.results.map((r) => r.adversarial.image));
  }
  return adversarial;
}

/** Crafts on `measured` and asks the oracle: the share of images it had right that it now gets wrong. */
export async function measureTransfer(oracle: HttpOracle, substitute: ImageModel, measured: AttackTarget[], options: SubstituteOptions): Promise<number> {
  const right = measured.filter((t) => t.trueLabel === undefined || t.clean.label === t.trueLabel);
  if (!right.length) return 0;
  const answers = await oracle.classify(await craftOnSubstitute(substitute, right, options));
  return answers.filter((a, i) => a.label !== right[i]!.clean.label).length / right.length;
}

/** The indices of the points to augment after `round`: all of them, or `size` drawn at random once reservoir sampling starts. */
export function reservoirPick(setSize: number, round: number, reservoir: SubstituteOptions['reservoir'], random: Random): number[] {
  if (!reservoir || round < reservoir.from || setSize <= reservoir.size) return Array.from({ length: setSize }, (_, i) => i);
  return Array.from(permutation(setSize, random).subarray(0, reservoir.size)).sort((a, b) => a - b);
}
