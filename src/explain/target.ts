/** Resolves a client's `target` (a class index or a label) to a class index, or a 400 naming the field. */
import { badParameter } from '../errors.ts';

export function resolveTarget(labels: string[], target: number | string, field = 'target'): number {
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target < 0 || target >= labels.length) {
      throw badParameter(field, `class index ${target} is out of range 0..${labels.length - 1}`);
    }
    return target;
  }
  const index = labels.indexOf(target);
  if (index < 0) {
    const shown = labels.length <= 20 ? labels.map((l) => `'${l}'`).join(', ') : `${labels.length} labels (see GET /v1/models/:model)`;
    throw badParameter(field, `unknown label '${target}'; the model's labels are ${shown}`);
  }
  return index;
}
