/**
 * The defender's summary of a query log, per key: how much it asked and how fast, how its answers
 * were spread over the labels, and (when pixels were logged) how many queries were near-copies of
 * a recent one. Attacks through a prediction API leave clear marks here: a substitute attack asks
 * for a few thousand synthetic points in rounds; SimBA, Square and HopSkipJump send long streams
 * of images a tiny distance from each other (the stateful-detection signal of Chen et al. 2020,
 * "Stateful Detection of Black-Box Adversarial Attacks").
 */
import type { QueryLogEntry } from './query-log.ts';

export interface KeySummary {
  keyId: string;
  name: string;
  requests: number;
  queries: number;
  first: number;
  last: number;
  /** Most queries in any one minute (sliding over request times). */
  peakPerMinute: number;
  /** Queries per label answered, most frequent first. */
  labels: [string, number][];
  /** Shannon entropy of the answered labels, in bits. */
  labelEntropyBits: number;
  /** With pixels: share of images within `nearL2` of one of the key's previous `window` images. */
  nearDuplicateShare?: number;
  /** With pixels: median distance (L2 over [0, 1] pixels) to the nearest of the previous `window` images. */
  medianNearestL2?: number;
}

export interface ReportOptions {
  /** L2 distance (pixels scaled to [0, 1]) under which an image counts as a near copy; default 3. */
  nearL2?: number;
  /** How many previous images of the key each image is compared with; default 128 (two full requests of 64). */
  window?: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function peakPerMinute(entries: QueryLogEntry[]): number {
  let best = 0;
  let sum = 0;
  let start = 0;
  for (let i = 0; i < entries.length; i++) {
    sum += entries[i]!.count;
    while (entries[i]!.time - entries[start]!.time >= 60_000) sum -= entries[start++]!.count;
    best = Math.max(best, sum);
  }
  return best;
}

function nearest(entries: QueryLogEntry[], window: number): number[] {
  const recent: Uint8Array[] = [];
  const out: number[] = [];
  for (const e of entries) {
    if (!e.pixels || !e.shape) continue;
    const size = e.shape[0] * e.shape[1] * e.shape[2];
    for (let i = 0; i < e.count; i++) {
      const img = e.pixels.subarray(i * size, (i + 1) * size);
      let best = Infinity;
      for (const prev of recent) {
        if (prev.length !== img.length) continue;
        let sq = 0;
        for (let j = 0; j < img.length; j++) {
          const d = (img[j]! - prev[j]!) / 255;
          sq += d * d;
        }
        best = Math.min(best, sq);
      }
      if (recent.length) out.push(Math.sqrt(best));
      recent.push(img);
      if (recent.length > window) recent.shift();
    }
  }
  return out;
}

/** One summary per key, busiest first. Entries must be in time order. */
export function summarise(entries: QueryLogEntry[], options: ReportOptions = {}): KeySummary[] {
  const byKey = new Map<string, QueryLogEntry[]>();
  for (const e of entries) byKey.set(e.keyId, [...(byKey.get(e.keyId) ?? []), e]);
  const out: KeySummary[] = [];
  for (const [keyId, list] of byKey) {
    const counts = new Map<string, number>();
    for (const e of list) for (const l of e.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    const queries = list.reduce((n, e) => n + e.count, 0);
    let entropy = 0;
    for (const c of counts.values()) entropy -= (c / queries) * Math.log2(c / queries);
    const summary: KeySummary = {
      keyId,
      name: list[0]!.keyName,
      requests: list.length,
      queries,
      first: list[0]!.time,
      last: list[list.length - 1]!.time,
      peakPerMinute: peakPerMinute(list),
      labels: [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
      labelEntropyBits: entropy,
    };
    const distances = nearest(list, options.window ?? 128);
    if (distances.length) {
      const near = options.nearL2 ?? 3;
      summary.nearDuplicateShare = distances.filter((d) => d < near).length / distances.length;
      summary.medianNearestL2 = median(distances);
    }
    out.push(summary);
  }
  return out.sort((a, b) => b.queries - a.queries);
}

/** The summaries as a Markdown table (plus a line per key with its label spread). */
export function reportMarkdown(summaries: KeySummary[], used?: Map<string, number>): string {
  if (!summaries.length) return '_The query log is empty._\n';
  const when = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 19);
  const lines = [
    '| key | requests | queries | counted | first | last | peak/min | label entropy (bits) | near-copies | median nearest L2 |',
    '|---|--:|--:|--:|---|---|--:|--:|--:|--:|',
  ];
  for (const s of summaries) {
    lines.push(
      `| ${s.name} | ${s.requests} | ${s.queries} | ${used?.get(s.keyId) ?? '—'} | ${when(s.first)} | ${when(s.last)} | ${s.peakPerMinute} | ${s.labelEntropyBits.toFixed(2)} | ` +
        `${s.nearDuplicateShare !== undefined ? `${(100 * s.nearDuplicateShare).toFixed(1)}%` : '—'} | ${s.medianNearestL2 !== undefined ? s.medianNearestL2.toFixed(2) : '—'} |`,
    );
  }
  lines.push('');
  for (const s of summaries) lines.push(`- ${s.name}: ${s.labels.map(([l, n]) => `${l}×${n}`).join(', ')}`);
  lines.push(
    '',
    '_queries_: images answered (logged); _counted_: the budget store\'s count, which also holds queries charged but not answered (e.g. a crash mid-request). ' +
      '_near-copies_ (only with `--query-log images`): share of images within L2 3.0 (pixels in [0, 1]) of one of the key\'s previous 128 — high for query-based attacks, low for ordinary traffic.',
  );
  return `${lines.join('\n')}\n`;
}
