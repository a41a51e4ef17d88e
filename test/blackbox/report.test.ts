import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reportMarkdown, summarise } from '../../src/blackbox/report.ts';
import type { QueryLogEntry } from '../../src/blackbox/query-log.ts';

const entry = (time: number, key: string, labels: string[], pixels?: Uint8Array): QueryLogEntry => ({
  time,
  keyId: `id-${key}`,
  keyName: key,
  model: 'm',
  count: labels.length,
  labels,
  ...(pixels ? { shape: [2, 2, 1] as [number, number, number], pixels } : {}),
});

test('per key: volume, peak rate, label entropy, and near copies when pixels were kept', () => {
  const base = [10, 200, 30, 90];
  const nudged = (d: number) => Uint8Array.from(base, (v, i) => (i === 0 ? v + d : v));
  const entries = [
    entry(0, 'attacker', ['a', 'a'], Uint8Array.of(...nudged(0), ...nudged(1))),
    entry(1000, 'attacker', ['a'], nudged(2)),
    entry(120_000, 'attacker', ['b'], nudged(3)),
    entry(5000, 'honest', ['a', 'b', 'c', 'd']),
  ].sort((x, y) => x.time - y.time);
  const [attacker, honest] = summarise(entries);
  assert.equal(attacker!.name, 'attacker');
  assert.equal(attacker!.queries, 4);
  assert.equal(attacker!.requests, 3);
  assert.equal(attacker!.peakPerMinute, 3);
  assert.deepEqual(attacker!.labels, [['a', 3], ['b', 1]]);
  assert.ok(Math.abs(attacker!.labelEntropyBits - 0.811) < 0.001);
  assert.equal(attacker!.nearDuplicateShare, 1);
  assert.ok(Math.abs(attacker!.medianNearestL2! - 1 / 255) < 1e-9);
  assert.equal(honest!.labelEntropyBits, 2);
  assert.equal(honest!.nearDuplicateShare, undefined);
  const md = reportMarkdown([attacker!, honest!], new Map([['id-attacker', 6]]));
  assert.match(md, /\| attacker \| 3 \| 4 \| 6 \|/);
  assert.match(md, /100\.0%/);
  assert.equal(reportMarkdown([]), '_The query log is empty._\n');
});
