/**
 * A per-request time limit for long computations (explanations, visualisation, attacks): loops
 * call `check()` between steps, and a request that runs past its limit ends with a 503
 * GRADLAB_TIMEOUT instead of holding the process. An optional abort signal (client gone) ends it too;
 * when it was aborted with a GradlabError as its reason (a server shutting down), that error is
 * thrown instead. The signal is anything with `aborted` (and `reason`): an AbortSignal, or in a
 * worker thread a flag shared with the thread that owns the request (src/work/cancel.ts).
 */
import { GradlabError } from './errors.ts';

/** What a deadline reads to learn that its request was abandoned. */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
}

export class Deadline {
  private readonly end: number;

  /** `startedAt` (Date.now() of another thread, say) lets a worker keep the request's own clock. */
  constructor(
    readonly limitMs: number,
    private readonly signal?: CancelSignal,
    readonly startedAt: number = Date.now(),
  ) {
    this.end = startedAt + limitMs;
  }

  /** No limit (scripts and evaluations). */
  static none(): Deadline {
    return new Deadline(Number.MAX_SAFE_INTEGER / 2);
  }

  get expired(): boolean {
    return Date.now() > this.end;
  }

  get aborted(): boolean {
    return this.signal?.aborted ?? false;
  }

  /** Throws when the time is up or the request was abandoned. */
  check(): void {
    if (this.signal?.aborted) {
      if (this.signal.reason instanceof GradlabError) throw this.signal.reason;
      throw new GradlabError('GRADLAB_TIMEOUT', 'the request was cancelled by the client');
    }
    if (Date.now() > this.end) {
      // The HTTP layer adds how to raise the limit (a flag is no business of the core).
      throw new GradlabError(
        'GRADLAB_TIMEOUT',
        `the computation ran past the time limit of ${this.limitMs} ms; ask for fewer steps or samples`,
        undefined,
        { kind: 'raise-limit', limit: 'requestTimeoutMs' },
      );
    }
  }
}
