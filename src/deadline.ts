/**
 * A per-request time limit for long computations (explanations, visualisation, attacks): loops
 * call `check()` between steps, and a request that runs past its limit ends with a 503
 * GRADLAB_TIMEOUT instead of holding the process. An optional abort signal (client gone) ends it too.
 */
import { GradlabError } from './errors.ts';

export class Deadline {
  private readonly end: number;

  constructor(
    readonly limitMs: number,
    private readonly signal?: AbortSignal,
  ) {
    this.end = Date.now() + limitMs;
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
    if (this.signal?.aborted) throw new GradlabError('GRADLAB_TIMEOUT', 'the request was cancelled by the client');
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
