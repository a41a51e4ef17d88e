/**
 * Budgets and the query log in one SQLite file (`<data dir>/gradlab.sqlite`, better-sqlite3).
 *
 * Exactness: a charge is one `UPDATE … WHERE used + n <= budget` inside an IMMEDIATE transaction,
 * so it is atomic within this process (better-sqlite3 is synchronous: no other request runs in
 * between) and across processes that share the file (SQLite's write lock; `busy_timeout` makes
 * the others wait rather than fail). Durability: WAL with `synchronous = NORMAL` keeps every
 * committed charge when the process crashes (a power cut may lose the last few; FULL would
 * fsync each query). The charge commits before the model runs, so a crash mid-request keeps it.
 * Counting windows (rate limits, failed key attempts) live in the same file: one upsert per event
 * that starts a new window when the old one has ended.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { checkQueries, promiseOf, type BudgetStore, type ChargeResult, type WindowCount, type WindowStore } from './budget-store.ts';
import type { QueryLog, QueryLogEntry } from './query-log.ts';

export const DB_FILE = 'gradlab.sqlite';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS budgets (
  key_id TEXT PRIMARY KEY,
  used INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS queries (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  key_name TEXT NOT NULL,
  model TEXT NOT NULL,
  count INTEGER NOT NULL,
  labels TEXT NOT NULL,
  shape TEXT,
  pixels BLOB
);
CREATE INDEX IF NOT EXISTS queries_by_key ON queries (key_id, time);
CREATE TABLE IF NOT EXISTS windows (
  name TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  reset_at INTEGER NOT NULL
);
`;

interface QueryRow {
  time: number;
  key_id: string;
  key_name: string;
  model: string;
  count: number;
  labels: string;
  shape: string | null;
  pixels: Buffer | null;
}

export class SqliteStore implements BudgetStore, QueryLog, WindowStore {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly chargeTx: (keyId: string, queries: number, budget: number) => ChargeResult;
  private readonly selectUsed: Database.Statement<[string], { used: number }>;
  private readonly insertQuery: Database.Statement;
  private readonly refundStmt: Database.Statement<[number, number, string]>;
  private readonly hitStmt: Database.Statement<{ name: string; now: number; reset: number }, WindowCount>;
  private readonly peekStmt: Database.Statement<[string], WindowCount>;

  /** Opens (creating if needed) the store in `dataDir`; pass a file path ending in .sqlite to name the file. */
  constructor(dataDir: string) {
    this.file = dataDir.endsWith('.sqlite') ? dataDir : path.join(dataDir, DB_FILE);
    mkdirSync(path.dirname(this.file), { recursive: true });
    this.db = new Database(this.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(SCHEMA);
    this.selectUsed = this.db.prepare('SELECT used FROM budgets WHERE key_id = ?');
    const ensure = this.db.prepare('INSERT INTO budgets (key_id, used, updated_at) VALUES (?, 0, ?) ON CONFLICT (key_id) DO NOTHING');
    const spend = this.db.prepare<[number, number, string, number, number], { used: number }>(
      'UPDATE budgets SET used = used + ?, updated_at = ? WHERE key_id = ? AND used + ? <= ? RETURNING used',
    );
    const tx = this.db.transaction((keyId: string, queries: number, budget: number): ChargeResult => {
      const now = Date.now();
      ensure.run(keyId, now);
      const row = spend.get(queries, now, keyId, queries, budget);
      const used = row ? row.used : this.selectUsed.get(keyId)!.used;
      return { granted: row !== undefined, used, remaining: Math.max(0, budget - used) };
    });
    // IMMEDIATE takes the write lock at BEGIN: two processes cannot both read the old count.
    this.chargeTx = (keyId, queries, budget) => tx.immediate(keyId, queries, budget);
    this.refundStmt = this.db.prepare('UPDATE budgets SET used = MAX(0, used - ?), updated_at = ? WHERE key_id = ?');
    // One statement, so that two processes counting the same window cannot lose an event.
    this.hitStmt = this.db.prepare(
      `INSERT INTO windows (name, count, reset_at) VALUES (@name, 1, @reset)
       ON CONFLICT (name) DO UPDATE SET
         count = CASE WHEN reset_at > @now THEN count + 1 ELSE 1 END,
         reset_at = CASE WHEN reset_at > @now THEN reset_at ELSE @reset END
       RETURNING count, reset_at AS resetAt`,
    );
    this.peekStmt = this.db.prepare('SELECT count, reset_at AS resetAt FROM windows WHERE name = ?');
    this.insertQuery = this.db.prepare(
      'INSERT INTO queries (time, key_id, key_name, model, count, labels, shape, pixels) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  charge(keyId: string, queries: number, budget: number): Promise<ChargeResult> {
    return promiseOf(() => {
      checkQueries(queries);
      return this.chargeTx(keyId, queries, budget);
    });
  }

  used(keyId: string): Promise<number> {
    return promiseOf(() => this.selectUsed.get(keyId)?.used ?? 0);
  }

  refund(keyId: string, queries: number): Promise<void> {
    return promiseOf(() => {
      checkQueries(queries);
      this.refundStmt.run(queries, Date.now(), keyId);
    });
  }

  hit(name: string, windowMs: number, now = Date.now()): Promise<WindowCount> {
    return promiseOf(() => this.hitStmt.get({ name, now, reset: now + windowMs })!);
  }

  peek(name: string, now = Date.now()): Promise<WindowCount> {
    return promiseOf(() => {
      const row = this.peekStmt.get(name);
      return row && row.resetAt > now ? row : { count: 0, resetAt: now };
    });
  }

  /** Every key's count, for reports. */
  allUsed(): Map<string, number> {
    const rows = this.db.prepare('SELECT key_id, used FROM budgets').all() as { key_id: string; used: number }[];
    return new Map(rows.map((r) => [r.key_id, r.used]));
  }

  /** Every key that has a query in the log, by name (for reports and their messages). */
  loggedKeys(): { keyId: string; keyName: string }[] {
    const rows = this.db.prepare('SELECT DISTINCT key_id, key_name FROM queries ORDER BY key_name').all() as { key_id: string; key_name: string }[];
    return rows.map((r) => ({ keyId: r.key_id, keyName: r.key_name }));
  }

  record(entry: QueryLogEntry): void {
    this.insertQuery.run(
      entry.time,
      entry.keyId,
      entry.keyName,
      entry.model,
      entry.count,
      JSON.stringify(entry.labels),
      entry.shape ? JSON.stringify(entry.shape) : null,
      entry.pixels ? Buffer.from(entry.pixels.buffer, entry.pixels.byteOffset, entry.pixels.byteLength) : null,
    );
  }

  entries(filter: { key?: string; since?: number } = {}): QueryLogEntry[] {
    const rows = this.db
      .prepare('SELECT * FROM queries WHERE (@key IS NULL OR key_id = @key OR key_name = @key) AND time >= @since ORDER BY time, id')
      .all({ key: filter.key ?? null, since: filter.since ?? 0 }) as QueryRow[];
    return rows.map((r) => ({
      time: r.time,
      keyId: r.key_id,
      keyName: r.key_name,
      model: r.model,
      count: r.count,
      labels: JSON.parse(r.labels) as string[],
      ...(r.shape ? { shape: JSON.parse(r.shape) as [number, number, number] } : {}),
      ...(r.pixels ? { pixels: new Uint8Array(r.pixels) } : {}),
    }));
  }

  close(): Promise<void> {
    return promiseOf(() => {
      if (this.db.open) this.db.close();
    });
  }
}
