/**
 * A work class (Triton's queue policy, TorchServe's job queue): at most `concurrency` requests run
 * at once, at most `queueSize` wait for a slot, none waits longer than `maxQueueWaitMs`. Beyond
 * that a request is refused at once with `Retry-After` (503 GRADLAB_OVERLOADED), never accepted
 * and left to time out. With a key (black-box mode), one key may hold at most `perKeyShare` of the
 * class (running plus queued); beyond it that key alone is refused with 429 GRADLAB_RATE_LIMITED.
 * `close()` refuses new work and empties the queue (shutdown); `idle()` says when running work is done.
 */
import { GradlabError, RetryableError } from '../errors.ts';

export interface WorkClassOptions {
  name: string;
  concurrency: number;
  queueSize: number;
  maxQueueWaitMs: number;
  /** Most requests (running plus queued) one key may hold; default: half the class's capacity. */
  perKeyShare?: number;
}

export type RejectReason = 'queue-full' | 'queue-wait' | 'key-share' | 'shutdown';

/** Metrics hooks: queue depth after each change, time waited for a slot, refusals. */
export interface AdmissionObserver {
  depth(workClass: string, queued: number, running: number): void;
  waited(workClass: string, seconds: number): void;
  rejected(workClass: string, reason: RejectReason): void;
}

/** Gives the slot back; idempotent. */
export type Release = () => void;

interface Waiter {
  key: string | undefined;
  queuedAt: number;
  grant: () => void;
  refuse: (err: Error) => void;
}

export class WorkClass {
  private running = 0;
  private readonly queue: Waiter[] = [];
  private readonly perKey = new Map<string, number>();
  private closed: GradlabError | undefined;
  /** Moving average of how long a slot is held, for Retry-After. */
  private serviceMs: number;
  private idleWaiters: (() => void)[] = [];
  readonly perKeyShare: number;

  constructor(
    readonly options: WorkClassOptions,
    private readonly observer?: AdmissionObserver,
  ) {
    this.serviceMs = Math.max(100, Math.min(options.maxQueueWaitMs, 5000));
    this.perKeyShare = options.perKeyShare ?? Math.max(1, Math.ceil((options.concurrency + options.queueSize) / 2));
  }

  get queued(): number {
    return this.queue.length;
  }

  get active(): number {
    return this.running;
  }

  /** Seconds after which a refused client may find room: the queue ahead served at the average pace. */
  retryAfterS(): number {
    const ahead = this.queue.length + 1;
    return Math.max(1, Math.min(60, Math.ceil((ahead * this.serviceMs) / this.options.concurrency / 1000)));
  }

  private refuse(reason: RejectReason, err: GradlabError): never {
    this.observer?.rejected(this.options.name, reason);
    throw err;
  }

  /** Waits for a slot (or refuses at once); `signal` abandons the wait (client gone). */
  async acquire(key?: string, signal?: AbortSignal): Promise<Release> {
    const { name, concurrency, queueSize, maxQueueWaitMs } = this.options;
    if (this.closed) this.refuse('shutdown', this.closed);
    if (key !== undefined && (this.perKey.get(key) ?? 0) >= this.perKeyShare) {
      this.refuse('key-share', new RetryableError('GRADLAB_RATE_LIMITED',
        `this key already has ${this.perKeyShare} ${name} requests running or queued, its share of the server; retry after ${this.retryAfterS()} s (Retry-After)`, this.retryAfterS()));
    }
    if (this.running < concurrency && this.queue.length === 0) return this.grant(key, Date.now());
    if (this.queue.length >= queueSize) {
      this.refuse('queue-full', new RetryableError('GRADLAB_OVERLOADED',
        `the server is busy: ${this.running} ${name} requests running and ${this.queue.length} queued, the most it takes; retry after ${this.retryAfterS()} s (Retry-After)`, this.retryAfterS()));
    }
    const queuedAt = Date.now();
    this.hold(key, +1);
    return new Promise<Release>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        this.hold(key, -1);
        this.report();
      };
      const waiter: Waiter = {
        key,
        queuedAt,
        grant: () => {
          leave();
          resolve(this.grant(key, queuedAt));
        },
        refuse: (err) => {
          leave();
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.observer?.rejected(name, 'queue-wait');
        waiter.refuse(new RetryableError('GRADLAB_OVERLOADED',
          `the server is busy: no ${name} slot came free within ${maxQueueWaitMs} ms; retry after ${this.retryAfterS()} s (Retry-After)`, this.retryAfterS()));
      }, maxQueueWaitMs);
      const onAbort = () => waiter.refuse(new GradlabError('GRADLAB_TIMEOUT', 'the request was cancelled by the client'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.report();
      if (signal?.aborted) onAbort();
    });
  }

  private hold(key: string | undefined, delta: number): void {
    if (key === undefined) return;
    const count = (this.perKey.get(key) ?? 0) + delta;
    if (count > 0) this.perKey.set(key, count);
    else this.perKey.delete(key);
  }

  private grant(key: string | undefined, queuedAt: number): Release {
    const started = Date.now();
    this.running++;
    this.hold(key, +1);
    this.observer?.waited(this.options.name, (started - queuedAt) / 1000);
    this.report();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.hold(key, -1);
      this.serviceMs = 0.8 * this.serviceMs + 0.2 * (Date.now() - started);
      this.queue[0]?.grant();
      this.report();
      if (this.running === 0 && this.queue.length === 0) this.idleWaiters.splice(0).forEach((f) => f());
    };
  }

  private report(): void {
    this.observer?.depth(this.options.name, this.queue.length, this.running);
  }

  /** Refuses new work with `reason` and every queued request with it too. */
  close(reason: GradlabError): void {
    this.closed = reason;
    for (const waiter of [...this.queue]) {
      this.observer?.rejected(this.options.name, 'shutdown');
      waiter.refuse(reason);
    }
  }

  /** Resolves once nothing runs or waits. */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
