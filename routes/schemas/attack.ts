/**
 * Parameters of `POST /v1/models/:model/attack` besides the image(s). The methods and their own
 * parameters come from the attack registry (src/attacks/specs.ts): each parameter once, with the
 * widest bounds any method allows (a method's own tighter bounds, such as FGSM's single step, are
 * checked by `prepareAttack`) and a description naming the methods it applies to.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { EncodingFormat } from './common.ts';
import { ATTACK_METHODS, parametersByName } from '../../src/attacks/specs.ts';
import type { ParamSpec } from '../../src/attacks/spec.ts';
import { NORMS } from '../../src/attacks/norms.ts';
import { Target } from './explain.ts';

/** The loosest of several bounds: undefined (unbounded) if any is. */
function loosest(values: (number | undefined)[], pick: (...v: number[]) => number): number | undefined {
  return values.some((v) => v === undefined) ? undefined : pick(...(values as number[]));
}

function parameterSchema(methods: string[], specs: ParamSpec[]): TSchema {
  const description = methods.length === ATTACK_METHODS.length ? specs[0]!.description : `${methods.join(', ')}: ${specs[0]!.description}`;
  const type = specs[0]!.type;
  if (specs.some((s) => s.type !== type)) throw new Error(`attack parameter types disagree across ${methods.join(', ')}`);
  if (type === 'boolean') return Type.Boolean({ description });
  // The value list is checked by prepareAttack (with a message naming the values); `enum` documents it.
  if (type === 'string') return Type.String({ enum: [...new Set(specs.flatMap((s) => s.values ?? []))], description });
  const bounds = {
    minimum: loosest(specs.map((s) => s.minimum), Math.min),
    exclusiveMinimum: loosest(specs.map((s) => s.exclusiveMinimum), Math.min),
    maximum: loosest(specs.map((s) => s.maximum), Math.max),
  };
  const options = Object.fromEntries(Object.entries({ ...bounds, description }).filter(([, v]) => v !== undefined));
  return type === 'integer' ? Type.Integer(options) : Type.Number(options);
}

/** Each method parameter's schema, from the registry. */
export const AttackMethodParams: Record<string, TSchema> = Object.fromEntries(
  [...parametersByName()].map(([name, { methods, specs }]) => [name, Type.Optional(parameterSchema(methods, specs))]),
);

export const AttackParams = Type.Object(
  {
    method: Type.Union(ATTACK_METHODS.map((m) => Type.Literal(m))),
    norm: Type.Optional(Type.Union(NORMS.map((n) => Type.Literal(n)))),
    epsilon: Type.Optional(Type.Number()),
    epsilons: Type.Optional(Type.Array(Type.Number(), { minItems: 1, maxItems: 64 })),
    target: Type.Optional(Target),
    label: Type.Optional(Type.Union([Target, Type.Array(Target, { minItems: 1 })])),
    seed: Type.Optional(Type.Integer({ minimum: 0 })),
    ...AttackMethodParams,
    scale: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
    encodingFormat: Type.Optional(EncodingFormat),
  },
  { additionalProperties: false },
);
export type AttackParams = Static<typeof AttackParams>;
