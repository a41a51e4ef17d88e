/** The shipped image models and their held-out data, for evaluations and benchmarks. */
import { existsSync } from 'node:fs';
import { loadFashionMnist } from '../../src/datasets/fashion-mnist.ts';
import type { ImageSet } from '../../src/datasets/image-set.ts';
import { loadMnist } from '../../src/datasets/mnist.ts';

export interface ShippedModel {
  name: 'mnist' | 'fashion';
  dir: string;
  /** Held-out images the model never trained on. */
  heldOut: () => ImageSet;
}

export const SHIPPED: ShippedModel[] = [
  { name: 'mnist', dir: 'models/mnist', heldOut: () => loadMnist().test },
  { name: 'fashion', dir: 'models/fashion', heldOut: () => loadFashionMnist().test },
];

/**
 * The shipped models whose folders exist (fashion needs its training run and Debian's data set),
 * or only those named in EVAL_MODELS (comma-separated), e.g. `EVAL_MODELS=fashion npm run eval -- attacks`.
 */
export function availableShipped(): ShippedModel[] {
  const only = process.env.EVAL_MODELS?.split(',').map((s) => s.trim()).filter(Boolean);
  return SHIPPED.filter((m) => existsSync(`${m.dir}/manifest.json`) && (!only || only.includes(m.name)));
}

/** Image i of a set as a flat Float32Array copy. */
export function imageAt(set: ImageSet, i: number): Float32Array {
  const size = set.height * set.width;
  return set.images.slice(i * size, (i + 1) * size);
}
