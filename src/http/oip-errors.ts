/**
 * The error answer of the inference protocols (Open Inference Protocol v2 and KServe v1): the
 * same status and message gradlab's own routes give (error-response.ts, so black-box mode leaks
 * no more here than there), in the protocols' shape `{"error": "<message>"}`. Set as the error
 * handler of those routes' plugins only.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Limits } from '../config.ts';
import { errorResponse } from './error-response.ts';
import { clientLeft, retryAfterOf } from './work.ts';

export function protocolErrorHandler(limits: Limits, blackbox: boolean) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    const clientGone = clientLeft.has(request) || reply.raw.destroyed;
    const answer = errorResponse(err, { clientGone, blackbox, limits });
    if (clientGone) request.log.info({ code: answer.body.error.code }, answer.logMessage);
    else request.log[answer.level]({ err }, answer.logMessage);
    const retryAfter = retryAfterOf(err);
    if (retryAfter !== undefined) void reply.header('retry-after', retryAfter);
    // The protocols' clients read one string; gradlab's code leads it so that it can be matched.
    void reply.status(answer.status).send({ error: `${answer.body.error.code}: ${answer.body.error.message}` });
  };
}
