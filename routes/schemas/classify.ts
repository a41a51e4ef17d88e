/** Parameters of `POST /v1/models/:model/classify` besides the image(s). */
import { Type, type Static } from '@sinclair/typebox';

export const ClassifyParams = Type.Object(
  {
    topK: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'how many classes to return (default 5)' })),
  },
  { additionalProperties: false },
);
export type ClassifyParams = Static<typeof ClassifyParams>;
