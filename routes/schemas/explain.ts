/** Parameters of `POST /v1/models/:model/explain` besides the image(s). */
import { Type, type Static } from '@sinclair/typebox';
import { EncodingFormat } from './common.ts';
import { BASE_METHODS, EXPLAIN_METHODS } from '../../src/explain/explain.ts';
import { IG_RULES } from '../../src/explain/integrated-gradients.ts';
import { SCORE_KINDS } from '../../src/explain/score.ts';

export const Target = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1 })], {
  description: 'class index or label',
});

export const ExplainParams = Type.Object(
  {
    method: Type.Union(EXPLAIN_METHODS.map((m) => Type.Literal(m)), { description: 'the explanation method' }),
    target: Type.Optional(Target),
    score: Type.Optional(Type.Union(SCORE_KINDS.map((k) => Type.Literal(k)))),
    layer: Type.Optional(Type.String({ minLength: 1 })),
    base: Type.Optional(Type.Union(BASE_METHODS.map((m) => Type.Literal(m)))),
    samples: Type.Optional(Type.Integer({ minimum: 1 })),
    noise: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    seed: Type.Optional(Type.Integer({ minimum: 0 })),
    baseline: Type.Optional(Type.Union([Type.Literal('black'), Type.Literal('white'), Type.String(), Type.Array(Type.Unknown())])),
    steps: Type.Optional(Type.Integer({ minimum: 1 })),
    rule: Type.Optional(Type.Union(IG_RULES.map((r) => Type.Literal(r)))),
    overlay: Type.Optional(Type.Boolean()),
    scale: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
    encodingFormat: Type.Optional(EncodingFormat),
  },
  { additionalProperties: false },
);
export type ExplainParams = Static<typeof ExplainParams>;
