/**
 * One-hot class masks for picking each image's class score out of logits [N, classes]. Built on
 * the host as float32 and uploaded once: `tf.oneHot` of an int32 tensor costs three kernels (the
 * index upload, OneHot, and a Cast when it meets float32 logits) and the Cast's gradient on every
 * recorded pass; at batch 1 that bookkeeping was a visible share of an input gradient.
 * An index outside [0, depth) gives a row of zeros, as `tf.oneHot` does.
 */
import * as tf from '@tensorflow/tfjs';

/** Float32 [classes.length, depth]: row i is 1 at classes[i], 0 elsewhere. */
export function classMask(classes: number[], depth: number): tf.Tensor2D {
  const values = new Float32Array(classes.length * depth);
  classes.forEach((c, i) => {
    if (Number.isInteger(c) && c >= 0 && c < depth) values[i * depth + c] = 1;
  });
  return tf.tensor2d(values, [classes.length, depth]);
}
