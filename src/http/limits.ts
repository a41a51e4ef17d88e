/** Checks request parameters against the configured limits, naming the field (400). */
import type { Limits } from '../config.ts';
import { badParameter } from '../errors.ts';

export function checkSteps(limits: Limits, field: string, value: number | undefined): void {
  if (value !== undefined && value > limits.maxSteps) {
    throw badParameter(field, `${value} is over the configured maximum of ${limits.maxSteps} (--max-steps)`);
  }
}
