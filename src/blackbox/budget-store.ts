/**
 * Query budgets and counting windows (rate limits, failed key attempts) behind small interfaces, so that the SQLite store (one machine, survives
 * restarts) can be swapped for a Redis one (replicas on many machines) without touching the HTTP
 * side. The one operation that matters is `charge`: atomically add n queries to a key's count if
 * and only if the count stays within the budget. Charging is all-or-nothing, so a batch of 8
 * images with 3 queries left is refused whole and costs nothing. Queries are charged before any
 * image is decoded, and `refund` gives them back when the images turn out not to decode.
 *
 * A window store counts events per name in fixed windows (`rate:<key id>`, `guess:<address>`);
 * kept with the budgets, windows survive a restart and are shared by replicas on one volume.
 */

export interface ChargeResult {
  /** Whether the queries were granted (and counted). */
  granted: boolean;
  /** Queries counted for the key after this call. */
  used: number;
  /** budget − used, never below 0. */
  remaining: number;
}

export interface BudgetStore {
  /** Counts `queries` against the key if `used + queries ≤ budget`; never overspends, even across processes. */
  charge(keyId: string, queries: number, budget: number): Promise<ChargeResult>;
  /** Queries counted so far for the key (0 for a key never seen). */
  used(keyId: string): Promise<number>;
  /** Gives back `queries` charged for a request that was then refused (never below 0). */
  refund(keyId: string, queries: number): Promise<void>;
  close(): Promise<void>;
}

/** One fixed window's count and when it ends (epoch milliseconds). */
export interface WindowCount {
  count: number;
  resetAt: number;
}

export interface WindowStore {
  /** Counts one event in the name's window, starting a new window of `windowMs` if the last has ended. */
  hit(name: string, windowMs: number, now?: number): Promise<WindowCount>;
  /** The name's count in its current window; 0 when the window has ended or never began. */
  peek(name: string, now?: number): Promise<WindowCount>;
}

/** Windows in process memory: for tests and a throw-away lab server. */
export class MemoryWindowStore implements WindowStore {
  private readonly windows = new Map<string, WindowCount>();

  hit(name: string, windowMs: number, now = Date.now()): Promise<WindowCount> {
    return promiseOf(() => {
      const current = this.windows.get(name);
      const next = current && current.resetAt > now ? { count: current.count + 1, resetAt: current.resetAt } : { count: 1, resetAt: now + windowMs };
      this.windows.set(name, next);
      return { ...next };
    });
  }

  peek(name: string, now = Date.now()): Promise<WindowCount> {
    return promiseOf(() => {
      const current = this.windows.get(name);
      return current && current.resetAt > now ? { ...current } : { count: 0, resetAt: now };
    });
  }
}

/** A store in process memory: for tests and for a throw-away lab server (counts die with the process). */
export class MemoryBudgetStore implements BudgetStore {
  private readonly counts = new Map<string, number>();

  charge(keyId: string, queries: number, budget: number): Promise<ChargeResult> {
    return promiseOf(() => {
      checkQueries(queries);
      const used = this.counts.get(keyId) ?? 0;
      if (used + queries > budget) return { granted: false, used, remaining: Math.max(0, budget - used) };
      this.counts.set(keyId, used + queries);
      return { granted: true, used: used + queries, remaining: budget - used - queries };
    });
  }

  used(keyId: string): Promise<number> {
    return promiseOf(() => this.counts.get(keyId) ?? 0);
  }

  refund(keyId: string, queries: number): Promise<void> {
    return promiseOf(() => {
      checkQueries(queries);
      this.counts.set(keyId, Math.max(0, (this.counts.get(keyId) ?? 0) - queries));
    });
  }

  async close(): Promise<void> {}
}

/**
 * `work` run now, its result as a resolved promise and a throw as a rejected one, as an async
 * function would give them: the stores here do synchronous work behind asynchronous interfaces.
 */
export function promiseOf<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}

export function checkQueries(queries: number): void {
  if (!Number.isSafeInteger(queries) || queries < 1) throw new RangeError(`queries must be a positive integer (got ${queries})`);
}
