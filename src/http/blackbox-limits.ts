/**
 * Black-box mode's counting windows over HTTP, both kept in the store beside the budgets so that a
 * restart forgets neither: the per-key rate limit (a store for @fastify/rate-limit) and the
 * throttle on failed API keys per client address (a guesser gets `--key-guess-limit` wrong keys
 * per window, then 429 with Retry-After for every key attempt from that address until the window
 * ends, the right key included: otherwise guessing would simply go on).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimit } from '../blackbox/keys.ts';
import type { WindowStore } from '../blackbox/budget-store.ts';
import { GradlabError } from '../errors.ts';

type RateCallback = (err: Error | null, result?: { current: number; ttl: number }) => void;

/** A @fastify/rate-limit store class whose windows live in `windows` (named `rate:<key>`). */
export function rateLimitStore(windows: WindowStore) {
  return class WindowRateStore {
    incr(key: string, done: RateCallback, timeWindow: number): void {
      windows.hit(`rate:${key}`, timeWindow).then(
        (w) => done(null, { current: w.count, ttl: Math.max(0, w.resetAt - Date.now()) }),
        (err: Error) => done(err),
      );
    }

    child(): WindowRateStore {
      return this;
    }
  };
}

export interface KeyGuessThrottle {
  /** Throws 429 with Retry-After while the address has used up its failed attempts. */
  check(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Counts a wrong key from the request's address and logs it. */
  failed(request: FastifyRequest): Promise<void>;
}

export function keyGuessThrottle(windows: WindowStore, limit: RateLimit): KeyGuessThrottle {
  const name = (request: FastifyRequest) => `guess:${request.ip}`;
  return {
    async check(request, reply) {
      const window = await windows.peek(name(request));
      if (window.count < limit.max) return;
      const seconds = Math.max(1, Math.ceil((window.resetAt - Date.now()) / 1000));
      void reply.header('retry-after', seconds);
      request.log.debug({ ip: request.ip }, 'API key attempt refused: too many failed attempts from this address');
      throw new GradlabError('GRADLAB_RATE_LIMITED', `too many failed API key attempts from this address; retry in ${seconds} s (Retry-After)`);
    },
    async failed(request) {
      const window = await windows.hit(name(request), limit.windowMs);
      request.log.warn({ ip: request.ip, failures: window.count, limit: limit.text }, `failed API key attempt ${window.count} of ${limit.max} allowed per window from ${request.ip}`);
    },
  };
}
