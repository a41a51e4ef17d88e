/**
 * Top-1 accuracy of an image classifier on a labelled set, in batches, leaking no tensors. Used by
 * the training script (the accuracy written into a manifest) and by the shipped-model tests.
 * It lives with the data sets: it needs a plain tf.LayersModel and a labelled set, nothing of
 * gradlab's model layer (which must not depend on data sets).
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from './image-set.ts';

export interface AccuracyResult {
  correct: number;
  total: number;
  accuracy: number;
}

/**
 * Runs `model` on every image of `set` (as [n, height, width, 1]) and counts how often the
 * highest output is the label. Works on logits and probabilities alike.
 */
export function classificationAccuracy(model: tf.LayersModel, set: ImageSet, batchSize = 500): AccuracyResult {
  const size = set.height * set.width;
  let correct = 0;
  for (let start = 0; start < set.count; start += batchSize) {
    const n = Math.min(batchSize, set.count - start);
    const predicted = tf.tidy(() => {
      const xs = tf.tensor4d(set.images.subarray(start * size, (start + n) * size), [n, set.height, set.width, 1]);
      return tf.argMax(model.predict(xs) as tf.Tensor, -1);
    });
    // Read outside tidy: returning a TypedArray from tidy makes it scan every element.
    const classes = predicted.dataSync();
    predicted.dispose();
    for (let i = 0; i < n; i++) if (classes[i] === set.labels[start + i]) correct++;
  }
  return { correct, total: set.count, accuracy: set.count === 0 ? 0 : correct / set.count };
}
