/**
 * Query budgets behind a small interface, so that the SQLite store (one machine, survives
 * restarts) can be swapped for a Redis one (replicas on many machines) without touching the HTTP
 * side. The one operation that matters is `charge`: atomically add n queries to a key's count if
 * and only if the count stays within the budget. Charging is all-or-nothing, so a batch of 8
 * images with 3 queries left is refused whole and costs nothing.
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
  close(): Promise<void>;
}

/** A store in process memory: for tests and for a throw-away lab server (counts die with the process). */
export class MemoryBudgetStore implements BudgetStore {
  private readonly counts = new Map<string, number>();

  async charge(keyId: string, queries: number, budget: number): Promise<ChargeResult> {
    checkQueries(queries);
    const used = this.counts.get(keyId) ?? 0;
    if (used + queries > budget) return { granted: false, used, remaining: Math.max(0, budget - used) };
    this.counts.set(keyId, used + queries);
    return { granted: true, used: used + queries, remaining: budget - used - queries };
  }

  async used(keyId: string): Promise<number> {
    return this.counts.get(keyId) ?? 0;
  }

  async close(): Promise<void> {}
}

export function checkQueries(queries: number): void {
  if (!Number.isSafeInteger(queries) || queries < 1) throw new RangeError(`queries must be a positive integer (got ${queries})`);
}
