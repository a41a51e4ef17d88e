/**
 * A job's failure as data that survives Redis and any process: GradlabErrors keep their code,
 * message and field; anything else becomes GRADLAB_INTERNAL with a generic message (the details
 * go to the log of the process that ran it, never to the client).
 */
import { GradlabError } from '../errors.ts';
import type { JobError } from './types.ts';

export const INTERNAL_JOB_MESSAGE = 'internal error while running the job; see the log of the process that ran it';

export function jobErrorOf(err: unknown): JobError {
  if (err instanceof GradlabError) return { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) };
  return { code: 'GRADLAB_INTERNAL', message: INTERNAL_JOB_MESSAGE };
}

export const cancelledError = (): JobError => ({ code: 'GRADLAB_CANCELLED', message: 'the job was cancelled (DELETE /v1/jobs/{id})' });
