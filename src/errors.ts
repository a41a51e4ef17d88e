/**
 * Every error gradlab reports to a client, declared in one place: a stable code, an HTTP status
 * and a message. The core throws `GradlabError`; the HTTP layer (src/http/errors.ts) maps it to
 * `{error: {code, message, field?}}` and never leaks stack traces or tensor internals.
 *
 * Core messages name no HTTP routes and no command-line flags: where a client can do something
 * else, the error carries a structured `hint` and the HTTP layer words it (a route, a flag).
 * The helpers all take the field first: `badParameter(field, message)`.
 */

export const ERROR_STATUS = {
  GRADLAB_BAD_REQUEST: 400,
  GRADLAB_BAD_IMAGE: 400,
  GRADLAB_BAD_PIXELS: 400,
  GRADLAB_BAD_PARAMETER: 400,
  GRADLAB_UNAUTHORIZED: 401,
  GRADLAB_UNKNOWN_MODEL: 404,
  GRADLAB_NOT_FOUND: 404,
  GRADLAB_UNSUPPORTED_OPERATION: 400,
  GRADLAB_TOO_LARGE: 413,
  GRADLAB_UNSUPPORTED_MEDIA_TYPE: 415,
  GRADLAB_TOO_COSTLY: 400,
  GRADLAB_BUDGET_EXHAUSTED: 429,
  GRADLAB_RATE_LIMITED: 429,
  GRADLAB_NOT_READY: 503,
  GRADLAB_TIMEOUT: 503,
  GRADLAB_OVERLOADED: 503,
  GRADLAB_SHUTTING_DOWN: 503,
  GRADLAB_STORE_UNAVAILABLE: 503,
  GRADLAB_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * What the client can do instead, for the HTTP layer to put into words: use another operation on
 * the same model (`score` a sequence model, `classify` an image model), or have the operator
 * raise a configured limit.
 */
export type ErrorHint =
  | { kind: 'use-operation'; operation: 'score' | 'classify'; model: string }
  | { kind: 'raise-limit'; limit: 'requestTimeoutMs' };

export class GradlabError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** The request field the error is about, e.g. `image`, `images[2]`, `topK`. */
  readonly field?: string;
  /** What to do instead; the HTTP layer appends it to the message in its own words. */
  readonly hint?: ErrorHint;
  /**
   * A library's own words about the failure (an image decoder's message): appended to the answer
   * in white-box mode, kept to the log in black-box mode.
   */
  detail?: string;

  constructor(code: ErrorCode, message: string, field?: string, hint?: ErrorHint) {
    super(message);
    this.name = 'GradlabError';
    this.code = code;
    this.statusCode = ERROR_STATUS[code];
    if (field !== undefined) this.field = field;
    if (hint !== undefined) this.hint = hint;
  }
}

/** A refusal that may succeed later: answered with `Retry-After` (queue full, key over its share, shutdown). */
export class RetryableError extends GradlabError {
  constructor(code: ErrorCode, message: string, readonly retryAfterS: number) {
    super(code, message);
    this.name = 'RetryableError';
  }
}

export const badImage = (field: string, message: string) =>
  new GradlabError('GRADLAB_BAD_IMAGE', message, field);
export const badParameter = (field: string, message: string) =>
  new GradlabError('GRADLAB_BAD_PARAMETER', `${field}: ${message}`, field);
export const tooLarge = (field: string, message: string) =>
  new GradlabError('GRADLAB_TOO_LARGE', message, field);
export const unknownModel = (name: string) =>
  new GradlabError('GRADLAB_UNKNOWN_MODEL', `no model named '${name}' is loaded`, 'model');
