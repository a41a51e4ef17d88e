/**
 * Maps every error a request can raise to gradlab's JSON error shape
 * `{error: {code, message, field?}}` and an HTTP status. Bad input is always a 4xx naming the
 * field; unexpected failures are a 500 with a generic message (details go to the log only).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GradlabError, type ErrorCode } from '../errors.ts';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

export function errorBody(code: ErrorCode, message: string, field?: string): ErrorBody {
  return { error: { code, message, ...(field ? { field } : {}) } };
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

/** Translates a Fastify/plugin error code into gradlab's code and status. */
function translate(err: FastifyError): { code: ErrorCode; status: number; message: string; field?: string } | undefined {
  if (err.validation) {
    const field = fieldFromValidation(err);
    const first = err.validation[0];
    const what = first?.params && typeof (first.params as Record<string, unknown>).additionalProperty === 'string'
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
      return { code: 'GRADLAB_TOO_LARGE', status: 413, message: 'the request body is larger than the configured limit' };
    case 'FST_REQ_FILE_TOO_LARGE':
      return { code: 'GRADLAB_TOO_LARGE', status: 413, message: 'an uploaded image is larger than the configured limit', field: 'image' };
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return { code: 'GRADLAB_TOO_LARGE', status: 413, message: 'too many images or fields in the multipart request', field: 'images' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return {
        code: 'GRADLAB_UNSUPPORTED_MEDIA_TYPE',
        status: 415,
        message: 'send application/json or multipart/form-data',
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'GRADLAB_BAD_REQUEST', status: 400, message: 'the JSON body is empty' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'GRADLAB_BAD_REQUEST', status: 400, message: 'the Content-Length does not match the body' };
    case 'FST_PROTO_VIOLATION':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'GRADLAB_BAD_REQUEST', status: 400, message: 'the body is not valid JSON' };
    default:
      break;
  }
  if (err instanceof SyntaxError || err.statusCode === 400) {
    return { code: 'GRADLAB_BAD_REQUEST', status: 400, message: `the request is malformed: ${err.message}` };
  }
  if (err.statusCode === 413) return { code: 'GRADLAB_TOO_LARGE', status: 413, message: err.message };
  if (err.statusCode === 415) return { code: 'GRADLAB_UNSUPPORTED_MEDIA_TYPE', status: 415, message: err.message };
  return undefined;
}

export function handleError(err: FastifyError | GradlabError, request: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof GradlabError) {
    if (err.statusCode >= 500) request.log.error({ err }, err.message);
    void reply.status(err.statusCode).send(errorBody(err.code, err.message, err.field));
    return;
  }
  const known = translate(err);
  if (known) {
    void reply.status(known.status).send(errorBody(known.code, known.message, known.field));
    return;
  }
  request.log.error({ err }, 'unhandled error');
  void reply.status(500).send(errorBody('GRADLAB_INTERNAL', 'internal error; see the server log for the request id'));
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): void {
  void reply
    .status(404)
    .send(errorBody('GRADLAB_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
}
