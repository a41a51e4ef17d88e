/**
 * scripts/lib/attack-counts.ts: robust counts and AutoAttack stage counts add up over chunks and
 * processes, and Square's masking warning counts every image it broke over all of them (each
 * chunk's own sentence names only that chunk).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttackRun } from '../../../src/attacks/attack.ts';
import { squareWarning } from '../../../src/attacks/masking-checks.ts';
import { countRuns, countWarnings, mergeCounts } from '../../../scripts/lib/attack-counts.ts';

/** A chunk of `n` images, all classified correctly; `broken` of them by Square, `apgd` by APGD-CE. */
function chunk(n: number, apgd: number, broken: number, extra: string[] = []): AttackRun {
  const results = Array.from({ length: n }, (_, i) => ({ success: i < apgd + broken, original: { predictions: [{ index: 1 }] }, label: { index: 1 } }));
  const square = squareWarning(broken, n);
  return {
    results,
    stages: [
      { attack: 'apgd-ce', attacked: n, broken: apgd, robustAccuracy: (n - apgd) / n, elapsedMs: 1 },
      { attack: 'square', attacked: n - apgd, broken, robustAccuracy: (n - apgd - broken) / n, elapsedMs: 1 },
    ],
    warnings: [...extra, ...(square ? [square] : [])],
  } as unknown as AttackRun;
}

test('chunks add up: robust images, images left after each stage, images each stage broke', () => {
  const counts = countRuns([chunk(100, 10, 1), chunk(100, 20, 1), chunk(50, 5, 0)], 3);
  assert.equal(counts.total, 250);
  assert.equal(counts.robust, 250 - 35 - 2);
  assert.deepEqual(counts.stages, [
    { attack: 'apgd-ce', left: 215, broken: 35 },
    { attack: 'square', left: 213, broken: 2 },
  ]);
});

test("Square's warning counts every break over all chunks and processes, once; other warnings stay, deduplicated", () => {
  const other = 'zero gradients: 1 of 100 images have an exactly zero cross-entropy gradient';
  const a = countRuns([chunk(100, 10, 1, [other]), chunk(100, 10, 1, [other])], 1);
  const b = countRuns([chunk(100, 10, 1)], 1);
  assert.deepEqual(a.warnings, [other]);
  const merged = mergeCounts([a, b]);
  assert.deepEqual(countWarnings(merged), [other, squareWarning(3, 300)]);
  assert.match(countWarnings(merged)[1]!, /Square broke 3 of 300 images/);
});

test('no Square break, no Square warning', () => {
  assert.deepEqual(countWarnings(countRuns([chunk(100, 10, 0)], 1)), []);
});
