/** Parameters of `POST /v1/models/:model/attack` besides the image(s). */
import { Type, type Static } from '@sinclair/typebox';
import { EncodingFormat } from './common.ts';
import { ATTACK_METHODS } from '../../src/attacks/attack.ts';
import { NORMS } from '../../src/attacks/norms.ts';
import { Target } from './explain.ts';

export const AttackParams = Type.Object(
  {
    method: Type.Union(ATTACK_METHODS.map((m) => Type.Literal(m))),
    norm: Type.Optional(Type.Union(NORMS.map((n) => Type.Literal(n)))),
    epsilon: Type.Optional(Type.Number()),
    epsilons: Type.Optional(Type.Array(Type.Number(), { minItems: 1, maxItems: 64 })),
    steps: Type.Optional(Type.Integer({ minimum: 1 })),
    stepSize: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    randomStart: Type.Optional(Type.Boolean()),
    restarts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    momentum: Type.Optional(Type.Number({ minimum: 0 })),
    target: Type.Optional(Target),
    label: Type.Optional(Type.Union([Target, Type.Array(Target, { minItems: 1 })])),
    seed: Type.Optional(Type.Integer({ minimum: 0 })),
    confidence: Type.Optional(Type.Number({ minimum: 0 })),
    binarySearchSteps: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    initialConst: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    learningRate: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    overshoot: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    candidates: Type.Optional(Type.Integer({ minimum: 1 })),
    scale: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
    encodingFormat: Type.Optional(EncodingFormat),
  },
  { additionalProperties: false },
);
export type AttackParams = Static<typeof AttackParams>;
