/**
 * AutoAttack (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble
 * of diverse parameter-free attacks", ICML): the standard ensemble run in stages — APGD-CE, then
 * APGD-T, FAB-T and Square, each on the images still robust after the stages before it. An image
 * counts robust only if every stage failed on it (misclassified clean images count as broken
 * before any stage). The answer carries the robust accuracy after each stage (AutoAttack's
 * running view), which stage broke each image, and the gradient-masking warnings
 * (masking-checks.ts).
 *
 * Versions: `standard` (the paper's: APGD-CE 100 steps; APGD-T and FAB-T 100 steps against each of
 * the 9 most likely other classes; Square 5,000 queries) and `cheap` (one target for APGD-T and
 * FAB-T, i.e. no restarts over targets, and Square with 1,000 queries). `steps` overrides the
 * iterations of the gradient stages. Square is L∞ only; with L2 the ensemble has three stages.
 * Fixed-ε (FAB-T, a minimization attack, is judged at ε). Untargeted.
 * Cost: steps·(1 + 2·targets) gradient iterations plus Square's queries at a third each (a query
 * is a forward pass only).
 */
import * as tf from '@tensorflow/tfjs';
import { apgdCe, apgdT, scatterRows, subBatch } from './apgd.ts';
import { subsetCriterion } from './criteria.ts';
import { fabT } from './fab.ts';
import { maskingWarnings, squareWarning } from './masking-checks.ts';
import { defineAttack, type AnyAttackSpec, type AttackContext, type StageResult } from './spec.ts';
import { queryCost, square } from './square.ts';

export const AUTOATTACK_VERSIONS = {
  standard: { targets: 9, queries: 5000 },
  cheap: { targets: 1, queries: 1000 },
} as const;
type Version = keyof typeof AUTOATTACK_VERSIONS;

interface Stage {
  spec: AnyAttackSpec;
  params: Record<string, number>;
}

function stagesFor(version: Version, steps: number, norm: string): Stage[] {
  const { targets, queries } = AUTOATTACK_VERSIONS[version];
  const stages: Stage[] = [
    { spec: apgdCe, params: { steps } },
    { spec: apgdT, params: { steps, targets } },
    { spec: fabT, params: { steps, targets } },
  ];
  if (norm === 'linf') stages.push({ spec: square, params: { queries, pInit: 0.8 } });
  return stages;
}

/** Per image: adversarial by the criterion and inside the ε-ball. */
function brokenRows(c: AttackContext, x: tf.Tensor4D, x0: tf.Tensor4D, indices: number[]): boolean[] {
  const [predicted, sizes] = tf.tidy(() => {
    const d = tf.sub(x, x0);
    const size = c.norm === 'linf' ? tf.max(tf.abs(d), [1, 2, 3]) : tf.sqrt(tf.sum(tf.square(d), [1, 2, 3]));
    return [tf.argMax(c.model.logits(x), 1).dataSync(), size.dataSync()];
  });
  const eps = c.epsilon!;
  return indices.map((row, j) => c.criterion.isAdversarial(predicted[j]!, row) && sizes[j]! <= eps * (1 + 1e-6) + 1e-7);
}

export const autoAttack = defineAttack<{ [k: string]: number | string; version: string; steps: number }>({
  name: 'autoattack',
  paper: 'Croce & Hein 2020 (AutoAttack: APGD-CE, APGD-T, FAB-T, Square)',
  kind: 'fixed-epsilon',
  norms: ['linf', 'l2'],
  defaultNorm: 'linf',
  targetable: false,
  params: {
    version: { type: 'string', values: Object.keys(AUTOATTACK_VERSIONS), default: 'standard', description: 'standard (9 targets, Square 5,000 queries) or cheap (1 target, 1,000 queries)' },
    steps: { type: 'integer', minimum: 1, maximum: 10_000, default: 100, description: 'iterations per run (APGD, FAB)' },
  },
  iterationFactors: ['steps'],
  cost: (p) => {
    const { targets, queries } = AUTOATTACK_VERSIONS[p.version as Version] ?? AUTOATTACK_VERSIONS.standard;
    return p.steps * (1 + 2 * targets) + queryCost(queries);
  },
  run: async (c, p) => {
    const n = c.x0.shape[0];
    const warnings = maskingWarnings(c.model, c.x0, c.criterion);
    const all = Array.from({ length: n }, (_, i) => i);
    const brokenBy: (string | null)[] = brokenRows(c, c.x0, c.x0, all).map((b) => (b ? 'clean' : null));
    const stages: StageResult[] = [];
    let result = tf.clone(c.x0);
    let iterations = 0;
    try {
      for (const { spec, params } of stagesFor(p.version as Version, p.steps, c.norm)) {
        const started = performance.now();
        const open = all.filter((i) => brokenBy[i] === null);
        let broken = 0;
        if (open.length > 0) {
          const x0 = subBatch(c.x0, open);
          try {
            const context: AttackContext = { ...c, x0, criterion: subsetCriterion(c.criterion, open), onStep: (s) => c.onStep(s) };
            const out = await spec.run(context, params);
            iterations += out.iterations;
            try {
              const hits = brokenRows(context, out.adversarial, x0, open.map((_, j) => j));
              const rows = open.filter((_, j) => hits[j]);
              if (rows.length) {
                const adversarialRows = subBatch(out.adversarial, hits.flatMap((h, j) => (h ? [j] : [])));
                const merged = scatterRows(result, adversarialRows, rows);
                adversarialRows.dispose();
                result.dispose();
                result = merged;
              }
              for (const row of rows) brokenBy[row] = spec.name;
              broken = rows.length;
            } finally {
              out.adversarial.dispose();
            }
          } finally {
            x0.dispose();
          }
        }
        const robust = brokenBy.filter((b) => b === null).length;
        stages.push({ attack: spec.name, attacked: open.length, broken, robustAccuracy: robust / n, elapsedMs: performance.now() - started });
      }
      const fromSquare = squareWarning(stages.find((s) => s.attack === 'square')?.broken ?? 0, n);
      if (fromSquare) warnings.push(fromSquare);
      const adversarial = result;
      result = undefined as unknown as tf.Tensor4D;
      return { adversarial, iterations, stages, brokenBy, warnings };
    } finally {
      result?.dispose();
    }
  },
});
