/**
 * The teacher's view of a black-box lab, per key: budget and how much of it is spent, queries
 * over time (one count per time bucket across the whole log, so keys line up), and the query-log
 * report's attack signatures (src/blackbox/report.ts: peak rate, label spread, near-duplicate
 * images when pixels are logged). The lab page shows it behind `--admin-key`.
 */
import type { ApiKey } from './keys.ts';
import type { QueryLogEntry } from './query-log.ts';
import { summarise, type KeySummary } from './report.ts';

export const TIMELINE_BUCKETS = 24;

export interface KeyUsage {
  keyId: string;
  name: string;
  budget: number;
  used: number;
  remaining: number;
  /** Queries per bucket of `bucketMs` from `start` (see UsageReport). */
  timeline: number[];
  /** The report's summary; absent for a key with no query in the log. */
  summary?: KeySummary;
}

export interface UsageReport {
  start: number;
  bucketMs: number;
  keys: KeyUsage[];
}

export function usageReport(keys: ApiKey[], used: Map<string, number>, entries: QueryLogEntry[], now = Date.now()): UsageReport {
  const start = entries[0]?.time ?? now;
  const bucketMs = Math.max(1000, Math.ceil((Math.max(now, start + 1) - start + 1) / TIMELINE_BUCKETS));
  const summaries = new Map(summarise(entries).map((s) => [s.keyId, s]));
  const timelines = new Map<string, number[]>();
  for (const e of entries) {
    const line = timelines.get(e.keyId) ?? new Array<number>(TIMELINE_BUCKETS).fill(0);
    const bucket = Math.min(TIMELINE_BUCKETS - 1, Math.floor((e.time - start) / bucketMs));
    line[bucket]! += e.count;
    timelines.set(e.keyId, line);
  }
  const report = keys.map((k) => {
    const spent = used.get(k.id) ?? 0;
    const summary = summaries.get(k.id);
    return {
      keyId: k.id, name: k.name, budget: k.budget, used: spent, remaining: Math.max(0, k.budget - spent),
      timeline: timelines.get(k.id) ?? new Array<number>(TIMELINE_BUCKETS).fill(0),
      ...(summary ? { summary } : {}),
    };
  });
  return { start, bucketMs, keys: report.sort((a, b) => b.used - a.used || a.name.localeCompare(b.name)) };
}
