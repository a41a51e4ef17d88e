/**
 * Cancelling work that runs in another thread. A worker computing synchronously reads no
 * messages, so the owner of a request and the worker share one Int32 (a SharedArrayBuffer) that
 * the worker's Deadline reads with Atomics at every step: 0 runs on, otherwise why it stopped.
 */
import { GradlabError } from '../errors.ts';
import type { CancelSignal } from '../deadline.ts';

export const CANCEL_CODES = { running: 0, clientGone: 1, shutdown: 2 } as const;
export type CancelCode = (typeof CANCEL_CODES)[keyof typeof CANCEL_CODES];

/** The error a cancelled job ends with, by why it was cancelled. */
export function cancelError(code: CancelCode): GradlabError {
  return code === CANCEL_CODES.shutdown
    ? new GradlabError('GRADLAB_SHUTTING_DOWN', 'the server is shutting down and stopped this computation before it finished; retry on another replica or later')
    : new GradlabError('GRADLAB_TIMEOUT', 'the request was cancelled by the client');
}

export function newCancelFlag(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

export function setCancel(flag: Int32Array, code: CancelCode): void {
  Atomics.store(flag, 0, code);
}

/** A Deadline's signal reading the shared flag. */
export function flagSignal(flag: Int32Array): CancelSignal {
  return {
    get aborted() {
      return Atomics.load(flag, 0) !== CANCEL_CODES.running;
    },
    get reason() {
      const code = Atomics.load(flag, 0) as CancelCode;
      return code === CANCEL_CODES.running ? undefined : cancelError(code);
    },
  };
}

/** The cancel code an AbortSignal's reason stands for (shutdown errors carry their code). */
export function codeOfAbort(signal: AbortSignal): CancelCode {
  const reason = signal.reason as unknown;
  return reason instanceof GradlabError && reason.code === 'GRADLAB_SHUTTING_DOWN' ? CANCEL_CODES.shutdown : CANCEL_CODES.clientGone;
}
