/**
 * Parameters of `POST /v1/models/:model/explain` besides the image(s). The method names, the base
 * methods SmoothGrad may wrap and every method's parameters with their bounds come from the
 * explanation specs (src/explain/registry.ts); only the fields every method shares are written here.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { EncodingFormat } from './common.ts';
import type { ExplainRequest } from '../../src/explain/explain.ts';
import { allParameters, BASE_METHODS, EXPLAIN_METHODS } from '../../src/explain/registry.ts';
import { SCORE_KINDS } from '../../src/explain/score.ts';
import type { ParameterSpec } from '../../src/explain/spec.ts';

export const Target = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1 })], {
  description: 'class index or label',
});

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

function bounds({ minimum, maximum }: ParameterSpec): { minimum?: number; maximum?: number } {
  return { ...(minimum !== undefined ? { minimum } : {}), ...(maximum !== undefined ? { maximum } : {}) };
}

/** The wire form of one spec parameter. */
function parameterSchema(param: ParameterSpec): TSchema {
  switch (param.type) {
    case 'integer':
      return Type.Integer(bounds(param));
    case 'number':
      return Type.Number(bounds(param));
    case 'enum':
      return literals(param.values ?? []);
    case 'string':
      return Type.String({ minLength: 1 });
    case 'base-method':
      return literals(BASE_METHODS);
    case 'image':
      // 'black' or 'white', or an image in any input form (decoded by the route).
      return Type.Union([Type.Literal('black'), Type.Literal('white'), Type.String(), Type.Array(Type.Unknown())]);
  }
}

/** Every explanation method's parameters, each optional, in the registry's order. */
export const MethodParameters = Object.fromEntries(allParameters().map(([name, param]) => [name, Type.Optional(parameterSchema(param))]));

export const ExplainParams = Type.Object(
  {
    method: Type.Union(EXPLAIN_METHODS.map((m) => Type.Literal(m)), { description: 'the explanation method' }),
    target: Type.Optional(Target),
    score: Type.Optional(literals(SCORE_KINDS)),
    ...MethodParameters,
    overlay: Type.Optional(Type.Boolean()),
    scale: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
    encodingFormat: Type.Optional(EncodingFormat),
  },
  { additionalProperties: false },
);

/** The validated fields: the core's request, with the baseline still in its wire form (the route decodes it). */
export type ExplainParams = Omit<ExplainRequest, 'baseline'> & {
  baseline?: string | unknown[];
  encodingFormat?: Static<typeof EncodingFormat>;
};
