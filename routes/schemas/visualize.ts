/** Body of `POST /v1/models/:model/visualize`. */
import { Type, type Static } from '@sinclair/typebox';
import { EncodingFormat } from './common.ts';
import { SCORE_KINDS } from '../../src/explain/score.ts';
import { Target } from './explain.ts';

export const VisualizeParams = Type.Object(
  {
    target: Type.Optional(Target),
    score: Type.Optional(Type.Union(SCORE_KINDS.map((k) => Type.Literal(k)))),
    layer: Type.Optional(Type.String({ minLength: 1 })),
    channel: Type.Optional(Type.Integer({ minimum: 0 })),
    position: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 2, maxItems: 2 })),
    steps: Type.Optional(Type.Integer({ minimum: 1 })),
    learningRate: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10 })),
    l2Decay: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    blurEvery: Type.Optional(Type.Integer({ minimum: 0 })),
    blurSigma: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10 })),
    jitter: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
    clip: Type.Optional(Type.Boolean()),
    seed: Type.Optional(Type.Integer({ minimum: 0 })),
    snapshotEvery: Type.Optional(Type.Integer({ minimum: 0 })),
    scale: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
    encodingFormat: Type.Optional(EncodingFormat),
  },
  { additionalProperties: false },
);
export type VisualizeParams = Static<typeof VisualizeParams>;
