/**
 * Fastify's error and not-found handlers: every error a request raises is answered through
 * `errorResponse` (error-response.ts) as gradlab's JSON error shape `{error: {code, message,
 * field?}}` with its HTTP status, and logged at the level it maps to. Bad input is always a 4xx
 * naming the field; unexpected failures are a 500 with a generic message (details in the log only).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, errorResponse } from './error-response.ts';

export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  answerError(err, request, reply, false);
}

/** Black-box mode's handler: the same answers, without any library's words (error-response.ts). */
export function handleBlackboxError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  answerError(err, request, reply, true);
}

function answerError(err: unknown, request: FastifyRequest, reply: FastifyReply, blackbox: boolean): void {
  // A client that closed the connection (e.g. during a long explanation) is no server fault.
  const answer = errorResponse(err, { clientGone: reply.raw.destroyed, blackbox });
  request.log[answer.level]({ err }, answer.logMessage);
  void reply.status(answer.status).send(answer.body);
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): void {
  void reply
    .status(404)
    .send(errorBody('GRADLAB_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
}
