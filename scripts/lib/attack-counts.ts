/**
 * Attack outcomes as counts, for `npm run eval -- robustness`: the eval attacks its images in
 * chunks and may split them over processes, so every figure it prints is a sum of counts, never an
 * average of rates or a set of sentences. Square's masking warning is the one warning that carries
 * a count ("broke 3 of 2000"); each chunk's copy names only its own 100 images, so it is dropped from
 * the chunks and derived once from the summed stage counts (`countWarnings`).
 */
import type { AttackRun } from '../../src/attacks/attack.ts';
import { squareWarning } from '../../src/attacks/masking-checks.ts';

/** One attack's outcome over a range of images, in counts, so that ranges run apart can be added up. */
export interface AttackCounts {
  robust: number;
  total: number;
  seconds: number;
  /** Per AutoAttack stage: its attack, how many images were still robust after it and how many it broke. */
  stages: { attack: string; left: number; broken: number }[];
  /** The chunks' warnings, deduplicated, without Square's (countWarnings derives it). */
  warnings: string[];
}

/** The counts of one range attacked chunk by chunk (`runs`: one per chunk, in order). */
export function countRuns(runs: AttackRun[], seconds: number): AttackCounts {
  const results = runs.flatMap((r) => r.results);
  // Robust: correct on the clean image and no success inside the ε-ball (FAB-T's answer may lie outside it).
  const robust = results.filter((r) => !r.success && r.original.predictions[0]!.index === r.label.index);
  const stages = (runs[0]?.stages ?? []).map((stage, i) => ({
    attack: stage.attack,
    left: Math.round(runs.reduce((sum, run) => sum + run.stages![i]!.robustAccuracy * run.results.length, 0)),
    broken: runs.reduce((sum, run) => sum + run.stages![i]!.broken, 0),
  }));
  const chunkSquare = new Set(runs.flatMap((r) => (r.stages ?? []).filter((st) => st.attack === 'square').map((st) => squareWarning(st.broken, r.results.length))));
  const warnings = [...new Set(runs.flatMap((r) => r.warnings ?? []))].filter((w) => !chunkSquare.has(w));
  return { robust: robust.length, total: results.length, seconds, stages, warnings };
}

/** Adds up the counts of ranges run apart (wall time: the longest range, as they ran at once). */
export function mergeCounts(parts: AttackCounts[]): AttackCounts {
  return {
    robust: parts.reduce((sum, p) => sum + p.robust, 0),
    total: parts.reduce((sum, p) => sum + p.total, 0),
    seconds: Math.max(...parts.map((p) => p.seconds)),
    stages: parts[0]!.stages.map((stage, i) => ({
      attack: stage.attack,
      left: parts.reduce((sum, p) => sum + p.stages[i]!.left, 0),
      broken: parts.reduce((sum, p) => sum + p.stages[i]!.broken, 0),
    })),
    warnings: [...new Set(parts.flatMap((p) => p.warnings))],
  };
}

/** The warnings to print for counts: the chunks' own, then Square's over all the images. */
export function countWarnings(counts: AttackCounts): string[] {
  const square = squareWarning(counts.stages.find((st) => st.attack === 'square')?.broken ?? 0, counts.total);
  return [...counts.warnings, ...(square ? [square] : [])];
}
