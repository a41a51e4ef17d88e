/** Body of `POST /v1/models/:model/score`. What `sequence` must hold depends on the model's manifest (checked by the core). */
import { Type, type Static } from '@sinclair/typebox';

export const ScoreParams = Type.Object(
  {
    sequence: Type.Union([Type.String(), Type.Array(Type.Unknown())], {
      description: "numbers, [a, b] pairs, bits (an array or a string like '0110') or text, as the model's input.type says",
    }),
    trace: Type.Optional(Type.Boolean({ description: 'include the unrolled computation: input, hidden units and output at every step' })),
  },
  { additionalProperties: false },
);
export type ScoreParams = Static<typeof ScoreParams>;

/** Body of `POST /v1/models/:model/explain` for a sequence classifier: per-token gradient attribution. */
export const SequenceExplainParams = Type.Object(
  {
    method: Type.Literal('gradient', { description: 'sequence models support the gradient method only' }),
    sequence: Type.Union([Type.String(), Type.Array(Type.Unknown())], { description: 'the sequence, as for /score' }),
    target: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1 })], { description: 'class index or label' })),
  },
  { additionalProperties: false },
);
export type SequenceExplainParams = Static<typeof SequenceExplainParams>;
