/**
 * What a heavy request will cost before any of it runs, in gradient evaluations of one image
 * (steps × samples × restarts × images): checked against the configured per-request maximum so
 * that `samples: 1000, steps: 1000` is refused at once instead of freezing a worker for hours.
 */
import type { AttackPlan } from '../attacks/attack.ts';
import { iterationCost } from '../attacks/spec.ts';
import { gradientsPerImage, type RequestFields } from '../explain/resolve.ts';
import { VISUALIZE_DEFAULTS, type VisualizeRequest } from '../explain/visualize.ts';

/** An explanation's cost; undefined when the request is malformed (the driver then refuses it, naming the field). */
export function explainCost(request: RequestFields, images: number): number | undefined {
  try {
    return gradientsPerImage(request) * images;
  } catch {
    return undefined;
  }
}

/** A planned attack's cost: every run's iterations (restarts included) for every image. */
export function attackCost(plan: AttackPlan): number {
  return plan.runs.reduce((sum, run) => sum + iterationCost(plan.spec, run.params), 0) * plan.images;
}

/** A visualisation's cost: one gradient per step. */
export function visualizeCost(request: VisualizeRequest): number {
  return request.steps ?? VISUALIZE_DEFAULTS.steps;
}
