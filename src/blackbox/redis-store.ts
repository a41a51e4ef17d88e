/**
 * Budgets, counting windows and the query log in Redis (`--redis-url`), so that any number of API
 * replicas on any number of hosts enforce one budget per key exactly.
 *
 * Exactness: check and charge are one Lua script (redis-scripts.ts), and Redis runs a script with
 * nothing else in between: 64 replicas charging the same key at once can never both see the last
 * query as free. Windows (rate limits, failed key attempts) are one script each as well.
 *
 * Failing closed: the connection keeps no offline queue and every command has a short timeout, so
 * while Redis is unreachable each call rejects at once with 503 GRADLAB_STORE_UNAVAILABLE (with
 * Retry-After) instead of waiting, and nothing is served unmetered; ioredis reconnects by itself
 * and the next call after that succeeds. A command that timed out may still have run: at worst a
 * query is charged and not answered, never answered and not charged.
 *
 * The query log is a Redis stream (`gradlab:querylog`) shared by the whole deployment; `record`
 * writes its XADD to the socket before the answer is sent, so an answered query is in the log even
 * if the replica dies right after.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { RetryableError } from '../errors.ts';
import { checkQueries, type BudgetStore, type ChargeResult, type WindowCount, type WindowStore } from './budget-store.ts';
import type { QueryLogEntry } from './query-log.ts';
import { CHARGE_SCRIPT, HIT_SCRIPT, REFUND_SCRIPT } from './redis-scripts.ts';

/** How long one Redis command may take before the request is refused (Redis answers in well under 1 ms). */
const COMMAND_TIMEOUT_MS = 2_000;
/** What a refused client should wait: ioredis retries the connection every few hundred ms. */
const UNAVAILABLE_RETRY_AFTER_S = 2;
/** Most query log entries kept (approximate trimming); the oldest go first. */
const QUERY_LOG_MAX = 1_000_000;

export const DEFAULT_PREFIX = 'gradlab:';

/** Connection options that fail fast instead of queueing commands while Redis is away. */
export function failFastOptions(extra: RedisOptions = {}): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    // Reconnect forever, never more than a second apart: recovery is automatic.
    retryStrategy: (times) => Math.min(times * 100, 1_000),
    ...extra,
  };
}

export function storeUnavailable(cause: unknown): RetryableError {
  const err = new RetryableError(
    'GRADLAB_STORE_UNAVAILABLE',
    `the budget store (Redis) is unreachable, so no query can be metered and none is served; retry in ${UNAVAILABLE_RETRY_AFTER_S} s (Retry-After)`,
    UNAVAILABLE_RETRY_AFTER_S,
  );
  err.detail = (cause as Error)?.message ?? String(cause);
  return err;
}

type ChargeReply = [granted: number, used: number];
type WindowReply = [count: number, resetAt: number];

interface LoggedFields {
  entry: Omit<QueryLogEntry, 'pixels'>;
  pixels?: string;
}

export class RedisStore implements BudgetStore, WindowStore {
  readonly redis: Redis;
  private readonly prefix: string;
  /** Called with the error of a query log write that failed after the answer was sent. */
  onLogError: (err: unknown) => void = () => {};

  constructor(url: string, options: { prefix?: string } = {}) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.redis = new Redis(url, failFastOptions());
    // Without a listener ioredis prints every failed reconnect; the calls report unavailability.
    this.redis.on('error', () => {});
    this.redis.defineCommand('gradlabCharge', { numberOfKeys: 1, lua: CHARGE_SCRIPT });
    this.redis.defineCommand('gradlabRefund', { numberOfKeys: 1, lua: REFUND_SCRIPT });
    this.redis.defineCommand('gradlabHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
  }

  /** Resolves once connected (or rejects after `timeoutMs`): for tools and tests, not for serving. */
  async ready(timeoutMs = 5_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.redis.status !== 'ready') {
      if (Date.now() > until) throw storeUnavailable(new Error(`not connected within ${timeoutMs} ms (status ${this.redis.status})`));
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private key(kind: string, name: string): string {
    return `${this.prefix}${kind}:${name}`;
  }

  /** Runs a command, turning any Redis failure into the 503 that fails closed. */
  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw storeUnavailable(err);
    }
  }

  private run<T>(name: string, key: string, ...args: (string | number)[]): Promise<T> {
    const redis = this.redis as unknown as Record<string, (...a: (string | number)[]) => Promise<T>>;
    return this.call(() => redis[name]!.call(this.redis, key, ...args));
  }

  async charge(keyId: string, queries: number, budget: number): Promise<ChargeResult> {
    checkQueries(queries);
    const [granted, used] = await this.run<ChargeReply>('gradlabCharge', this.key('budget', keyId), queries, budget);
    return { granted: granted === 1, used, remaining: Math.max(0, budget - used) };
  }

  async used(keyId: string): Promise<number> {
    const value = await this.call(() => this.redis.get(this.key('budget', keyId)));
    return value === null ? 0 : Number(value);
  }

  async refund(keyId: string, queries: number): Promise<void> {
    checkQueries(queries);
    await this.run<number>('gradlabRefund', this.key('budget', keyId), queries);
  }

  async hit(name: string, windowMs: number, now = Date.now()): Promise<WindowCount> {
    const [count, resetAt] = await this.run<WindowReply>('gradlabHit', this.key('window', name), now, windowMs);
    return { count, resetAt };
  }

  async peek(name: string, now = Date.now()): Promise<WindowCount> {
    const [count, resetAt] = await this.call(() => this.redis.hmget(this.key('window', name), 'count', 'reset'));
    return count !== null && resetAt !== null && Number(resetAt) > now ? { count: Number(count), resetAt: Number(resetAt) } : { count: 0, resetAt: now };
  }

  /** Every key's count, for reports. */
  async allUsed(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const pattern = this.key('budget', '*');
    let cursor = '0';
    do {
      const [next, keys] = await this.call(() => this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500));
      cursor = next;
      const values = keys.length ? await this.call(() => this.redis.mget(keys)) : [];
      keys.forEach((k, i) => out.set(k.slice(this.key('budget', '').length), Number(values[i] ?? 0)));
    } while (cursor !== '0');
    return out;
  }

  /** Appends to the shared query log; the command is on the wire when this returns (see the module comment). */
  record(entry: QueryLogEntry): void {
    const { pixels, ...rest } = entry;
    const fields: LoggedFields = { entry: rest, ...(pixels ? { pixels: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength).toString('base64') } : {}) };
    this.redis.xadd(this.key('querylog', 'stream'), 'MAXLEN', '~', QUERY_LOG_MAX, '*', 'v', JSON.stringify(fields)).catch((err: unknown) => this.onLogError(err));
  }

  /** The log in time order, optionally for one key (by id or name) and from a time on. */
  async entries(filter: { key?: string; since?: number } = {}): Promise<QueryLogEntry[]> {
    const out: QueryLogEntry[] = [];
    let start = filter.since !== undefined ? String(filter.since) : '-';
    for (;;) {
      const batch = await this.call(() => this.redis.xrange(this.key('querylog', 'stream'), start, '+', 'COUNT', 1000));
      for (const [, values] of batch) {
        const fields = JSON.parse(values[1]!) as LoggedFields;
        const entry: QueryLogEntry = { ...fields.entry, ...(fields.pixels ? { pixels: new Uint8Array(Buffer.from(fields.pixels, 'base64')) } : {}) };
        if (filter.key === undefined || entry.keyId === filter.key || entry.keyName === filter.key) out.push(entry);
      }
      if (batch.length < 1000) return out;
      start = `(${batch[batch.length - 1]![0]}`;
    }
  }

  /** Every key that has a query in the log, by name. */
  async loggedKeys(): Promise<{ keyId: string; keyName: string }[]> {
    const seen = new Map<string, string>();
    for (const e of await this.entries()) seen.set(e.keyId, e.keyName);
    return [...seen].map(([keyId, keyName]) => ({ keyId, keyName })).sort((a, b) => a.keyName.localeCompare(b.keyName));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await Promise.resolve();
  }
}
