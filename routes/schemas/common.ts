/**
 * Schemas shared by several routes: the error body, a prediction, model descriptions.
 * These TypeBox schemas validate requests and are checked against openapi.yaml by a test.
 */
import { Type } from '@sinclair/typebox';
import { ENCODING_FORMATS } from '../../src/http/tensor-json.ts';

export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String()),
  }),
});

export const Prediction = Type.Object({
  label: Type.String(),
  index: Type.Integer(),
  probability: Type.Number(),
});

export const ModelParams = Type.Object({
  model: Type.String({ minLength: 1, maxLength: 64 }),
});

/** How float tensors in the answer are written (src/http/tensor-json.ts). */
export const EncodingFormat = Type.Union(ENCODING_FORMATS.map((f) => Type.Literal(f)), {
  description: 'float tensors in the answer: float (JSON numbers, default) or base64 (little-endian float32)',
});
