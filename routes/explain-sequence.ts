/**
 * `POST /v1/models/:model/explain` when `:model` is a sequence classifier: per-token gradient
 * attribution (`method: gradient`). Called by routes/explain.ts before it reads an image.
 */
import type { AppContext } from '../src/http/context.ts';
import { checkParams } from '../src/http/request-images.ts';
import { explainSequence } from '../src/sequence/explain.ts';
import { sequenceBody } from './score.ts';
import { SequenceExplainParams } from './schemas/score.ts';

export function explainSequenceRequest(ctx: AppContext, name: string, body: unknown) {
  const model = ctx.registry.getSequence(name);
  const params = checkParams<SequenceExplainParams>(SequenceExplainParams, sequenceBody(body, name));
  const result = explainSequence(model, params.sequence, {
    ...(params.target !== undefined ? { target: params.target } : {}),
    maxLength: ctx.config.limits.maxSequenceLength,
  });
  return { model: name, ...result };
}
