/**
 * Does an adversarial example survive being saved? An attack works on exact floats; a PNG keeps
 * 8 bits per channel. Each successful adversarial image is snapped to the 256 levels of the value
 * range (exactly what its PNG holds, and what the server decodes from it) and sent once more:
 * `successQuantized` says whether that image still fools the target. The enlarged 224×224 PNGs
 * the client used to write did not, for many images; the PNG at the model's own size does when
 * this says so.
 */
import { quantizeInput } from '../images/encode.ts';
import type { AttackTarget, ImageOutcome } from './attacks/common.ts';
import { BudgetExhausted, type HttpOracle } from './oracle.ts';

export interface QuantizedCheck {
  /** Image id → whether its 8-bit image still fools the target; only images that were checked. */
  byId: Map<number, boolean>;
  /** Why some successes went unchecked (the budget). */
  stopped?: string;
}

export async function checkQuantized(oracle: HttpOracle, outcomes: ImageOutcome[], targets: AttackTarget[], range: [number, number]): Promise<QuantizedCheck> {
  const clean = new Map(targets.map((t) => [t.id, t.clean.label]));
  const wins = outcomes.filter((o) => o.success && o.adversarial);
  const affordable = wins.slice(0, Math.min(wins.length, oracle.remaining));
  const byId = new Map<number, boolean>();
  try {
    const answers = affordable.length ? await oracle.classify(affordable.map((o) => quantizeInput(o.adversarial!, range))) : [];
    answers.forEach((a, i) => byId.set(affordable[i]!.id, a.label !== clean.get(affordable[i]!.id)));
  } catch (err) {
    if (!(err instanceof BudgetExhausted)) throw err;
  }
  const unchecked = wins.length - byId.size;
  return { byId, ...(unchecked ? { stopped: `the budget left ${unchecked} of ${wins.length} successes unchecked after 8-bit quantisation` } : {}) };
}
