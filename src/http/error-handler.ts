/**
 * Fastify's error and not-found handlers: every error a request raises is answered through
 * `errorResponse` (error-response.ts) as gradlab's JSON error shape `{error: {code, message,
 * field?}}` with its HTTP status, and logged at the level it maps to. Bad input is always a 4xx
 * naming the field; unexpected failures are a 500 with a generic message (details in the log only).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Limits } from '../config.ts';
import { errorBody, errorResponse } from './error-response.ts';

/**
 * The app's error handler. `limits` lets a 413 name the limit it hit; in black-box mode the answers
 * carry no library's words (error-response.ts).
 */
export function errorHandler(limits: Limits | undefined, blackbox: boolean) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    // A client that closed the connection (e.g. during a long explanation) is no server fault.
    const answer = errorResponse(err, { clientGone: reply.raw.destroyed, blackbox, ...(limits ? { limits } : {}) });
    request.log[answer.level]({ err }, answer.logMessage);
    void reply.status(answer.status).send(answer.body);
  };
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): void {
  void reply
    .status(404)
    .send(errorBody('GRADLAB_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
}
