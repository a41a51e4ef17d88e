/**
 * The one mapping from anything a request can throw to gradlab's answer: an HTTP status, the body
 * `{error: {code, message, field?}}` and the level to log it at. Used by the JSON error handler
 * and by the event streams (SSE), so both answer the same error the same way.
 *
 * - GradlabError: its code, status, field and message, plus its hint in HTTP words (a route, a
 *   flag), which the core leaves to this layer;
 * - Fastify and plugin errors (validation, body limits, multipart limits, media types, bad JSON):
 *   translated into gradlab's codes, naming the field where there is one;
 * - anything else: a 500 with a generic message; the details go to the log only.
 *
 * A client that went away before the answer is not a server fault: logged at info.
 *
 * In black-box mode an answer says what was wrong with the request and nothing of the libraries
 * underneath: a core error's `detail` (e.g. the image decoder's own words) and the messages of
 * Fastify's and its plugins' errors go to the log only.
 */
import type { FastifyError } from 'fastify';
import { flagOf, type Limits } from '../config.ts';
import { GradlabError, type ErrorCode, type ErrorHint } from '../errors.ts';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

export type ErrorLogLevel = 'error' | 'info' | 'debug';

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  /** `error` for server faults, `info` for a client that disconnected, `debug` for bad requests. */
  level: ErrorLogLevel;
  /** The log line's message (for unknown errors the only place their details appear, with `err`). */
  logMessage: string;
}

export interface ErrorContext {
  /** The client closed the connection before the answer: nobody reads it, and it is not a fault. */
  clientGone?: boolean;
  /** Black-box mode: no library's words in the answer (see the module comment). */
  blackbox?: boolean;
  /** The configured limits, so that a 413 says which limit it hit and its value. */
  limits?: Pick<Limits, 'maxBodyBytes' | 'maxImageBytes' | 'maxBatchSize'>;
}

/** `33554432 bytes (32 MiB)`. */
export function bytesText(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return mib >= 1 ? `${bytes} bytes (${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB)` : `${bytes} bytes`;
}

export const INTERNAL_MESSAGE = 'internal error; see the server log for the request id';

export function errorBody(code: ErrorCode, message: string, field?: string): ErrorBody {
  return { error: { code, message, ...(field ? { field } : {}) } };
}

/** A core error's hint in the API's words, appended to its message. */
export function hintText(hint: ErrorHint): string {
  switch (hint.kind) {
    case 'use-operation':
      return `; use POST /v1/models/${hint.model}/${hint.operation}`;
    case 'raise-limit':
      return `, or raise ${flagOf(hint.limit)}`;
  }
}

/** `/image/0` or `body/topK` → `image[0]` / `topK`. */
function fieldFromValidation(err: FastifyError): string | undefined {
  const first = err.validation?.[0];
  if (!first) return undefined;
  const params = first.params as Record<string, unknown> | undefined;
  const path = first.instancePath.replace(/^\//, '').split('/').filter(Boolean);
  if (params && typeof params.missingProperty === 'string') path.push(params.missingProperty);
  if (params && typeof params.additionalProperty === 'string') path.push(params.additionalProperty);
  return path.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || undefined;
}

interface Translated {
  code: ErrorCode;
  status: number;
  message: string;
  field?: string;
  /** The message is the library's own (answered in white-box mode only). */
  libraryMessage?: boolean;
}

/** What black-box mode answers instead of a library's message. */
const PLAIN_MESSAGES: Record<number, string> = {
  '400': 'the request is malformed',
  '413': 'the request is larger than the configured limits',
  '415': 'send application/json or multipart/form-data',
};

/** Translates a Fastify/plugin error into gradlab's code and status; undefined when unknown. */
function translate(err: FastifyError, limits: ErrorContext['limits']): Translated | undefined {
  const limit = (value: number | undefined, what: (n: number) => string) => (value === undefined ? 'the configured limit' : what(value));
  if (err.validation) {
    const field = fieldFromValidation(err);
    const first = err.validation[0];
    const what = first?.params && typeof (first.params).additionalProperty === 'string'
      ? 'is not a known field'
      : first?.message ?? 'is invalid';
    const where = err.validationContext ?? 'body';
    return {
      code: 'GRADLAB_BAD_PARAMETER',
      status: 400,
      message: `${field ?? where}: ${what}`,
      ...(field ? { field } : {}),
    };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'GRADLAB_TOO_LARGE', status: 413, message: `the request body is larger than ${limit(limits?.maxBodyBytes, (n) => `the limit of ${bytesText(n)}`)}` };
    case 'FST_REQ_FILE_TOO_LARGE':
      return { code: 'GRADLAB_TOO_LARGE', status: 413, message: `an uploaded image is larger than ${limit(limits?.maxImageBytes, (n) => `the limit of ${bytesText(n)}`)}`, field: 'image' };
    case 'FST_FILES_LIMIT':
      return { code: 'GRADLAB_TOO_LARGE', status: 413, message: `too many images in the multipart request (${limit(limits?.maxBatchSize, (n) => `at most ${n}`)})`, field: 'images' };
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return { code: 'GRADLAB_TOO_LARGE', status: 413, message: 'too many fields in the multipart request', field: 'images' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return { code: 'GRADLAB_UNSUPPORTED_MEDIA_TYPE', status: 415, message: 'send application/json or multipart/form-data' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'GRADLAB_BAD_REQUEST', status: 400, message: 'the JSON body is empty' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'GRADLAB_BAD_REQUEST', status: 400, message: 'the Content-Length does not match the body' };
    case 'FST_ERR_BAD_URL':
      return { code: 'GRADLAB_BAD_REQUEST', status: 400, message: 'the URL is not valid' };
    case 'FST_PROTO_VIOLATION':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'GRADLAB_BAD_REQUEST', status: 400, message: 'the body is not valid JSON' };
    default:
      break;
  }
  if (err instanceof SyntaxError || err.statusCode === 400) {
    return { code: 'GRADLAB_BAD_REQUEST', status: 400, message: `the request is malformed: ${err.message}`, libraryMessage: true };
  }
  if (err.statusCode === 413) return { code: 'GRADLAB_TOO_LARGE', status: 413, message: err.message, libraryMessage: true };
  if (err.statusCode === 415) return { code: 'GRADLAB_UNSUPPORTED_MEDIA_TYPE', status: 415, message: err.message, libraryMessage: true };
  return undefined;
}

/** Maps any thrown value to the answer and the log level (see the module comment). */
export function errorResponse(err: unknown, context: ErrorContext = {}): ErrorResponse {
  const respond = (status: number, body: ErrorBody, fault: ErrorLogLevel, logMessage: string): ErrorResponse =>
    ({ status, body, level: context.clientGone ? 'info' : fault, logMessage: context.clientGone ? `client disconnected: ${logMessage}` : logMessage });
  if (err instanceof GradlabError) {
    const full = (err.hint ? err.message + hintText(err.hint) : err.message) + (err.detail ? ` (${err.detail})` : '');
    const answered = context.blackbox ? (err.hint ? err.message + hintText(err.hint) : err.message) : full;
    return respond(err.statusCode, errorBody(err.code, answered, err.field), err.statusCode >= 500 ? 'error' : 'debug', full);
  }
  const known = err instanceof Error ? translate(err as FastifyError, context.limits) : undefined;
  if (known) {
    const answered = context.blackbox && known.libraryMessage ? PLAIN_MESSAGES[known.status]! : known.message;
    return respond(known.status, errorBody(known.code, answered, known.field), 'debug', known.message);
  }
  return respond(500, errorBody('GRADLAB_INTERNAL', INTERNAL_MESSAGE), 'error', 'unhandled error');
}
