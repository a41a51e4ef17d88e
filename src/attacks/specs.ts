/**
 * The registry of white-box attacks: one spec per method (spec.ts), in the order users see them.
 * Everything that lists methods or their parameters (validation in plan.ts, the HTTP schema,
 * error messages) reads it from here, so adding an attack is adding its file and one line below.
 */
import { apgdCe, apgdT } from './apgd.ts';
import { autoAttack } from './autoattack.ts';
import { bim } from './bim.ts';
import { carliniWagner } from './carlini-wagner.ts';
import { deepFoolAttack } from './deepfool.ts';
import { fgsm } from './fgsm.ts';
import { mifgsm } from './mifgsm.ts';
import { fabT } from './fab.ts';
import { pgd } from './pgd.ts';
import { square } from './square.ts';
import type { AnyAttackSpec, ParamSpec } from './spec.ts';

export const ATTACK_METHODS = ['fgsm', 'bim', 'pgd', 'mifgsm', 'cw', 'deepfool', 'apgd-ce', 'apgd-t', 'fab-t', 'square', 'autoattack'] as const;
export type AttackMethod = (typeof ATTACK_METHODS)[number];

export const ATTACK_SPECS: Readonly<Record<AttackMethod, AnyAttackSpec>> = {
  fgsm,
  bim,
  pgd,
  mifgsm,
  cw: carliniWagner,
  deepfool: deepFoolAttack,
  'apgd-ce': apgdCe,
  'apgd-t': apgdT,
  'fab-t': fabT,
  square,
  autoattack: autoAttack,
};

export function isAttackMethod(name: string): name is AttackMethod {
  return (ATTACK_METHODS as readonly string[]).includes(name);
}

/** Every parameter name any attack declares, each with the methods that accept it (registry order). */
export function parametersByName(): Map<string, { methods: AttackMethod[]; specs: ParamSpec[] }> {
  const out = new Map<string, { methods: AttackMethod[]; specs: ParamSpec[] }>();
  for (const method of ATTACK_METHODS) {
    for (const [name, param] of Object.entries<ParamSpec>(ATTACK_SPECS[method].params)) {
      const entry = out.get(name) ?? { methods: [], specs: [] };
      entry.methods.push(method);
      entry.specs.push(param);
      out.set(name, entry);
    }
  }
  return out;
}

/** "a, b or c". */
export function listMethods(methods: readonly string[], last = 'or'): string {
  return methods.length <= 1 ? methods.join('') : `${methods.slice(0, -1).join(', ')} ${last} ${methods.at(-1)}`;
}
