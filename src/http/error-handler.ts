/**
 * Fastify's error and not-found handlers: every error a request raises is answered through
 * `errorResponse` (error-response.ts) as gradlab's JSON error shape `{error: {code, message,
 * field?}}` with its HTTP status, and logged at the level it maps to. Bad input is always a 4xx
 * naming the field; unexpected failures are a 500 with a generic message (details in the log only).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Limits } from '../config.ts';
import { errorBody, errorResponse } from './error-response.ts';
import { clientLeft, retryAfterOf } from './work.ts';

/**
 * The app's error handler. `limits` lets a 413 name the limit it hit; in black-box mode the answers
 * carry no library's words (error-response.ts); overload and shutdown answers carry Retry-After.
 */
export function errorHandler(limits: Limits | undefined, blackbox: boolean) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    // A client that closed the connection (e.g. during a long explanation) is no server fault: one
    // info line, no stack.
    const clientGone = clientLeft.has(request) || reply.raw.destroyed;
    const answer = errorResponse(err, { clientGone, blackbox, ...(limits ? { limits } : {}) });
    if (clientGone) request.log.info({ code: answer.body.error.code }, answer.logMessage);
    else request.log[answer.level]({ err }, answer.logMessage);
    const retryAfter = retryAfterOf(err);
    if (retryAfter !== undefined) void reply.header('retry-after', retryAfter);
    void reply.status(answer.status).send(answer.body);
  };
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): void {
  void reply
    .status(404)
    .send(errorBody('GRADLAB_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
}
