/**
 * Gaussian noise that a seed makes reproducible, for every seed. tfjs' `randomNormal` treats a seed
 * of 0 as no seed at all (`seed ? seed : Math.random()`), so SmoothGrad's first sample and the L2
 * random start of an attack changed from call to call at the default seed 0. Seed 0 is mapped to
 * a fixed value outside the range clients can send (their seeds are ≥ 0 integers, and nothing
 * offsets them to this value); every other seed is passed through unchanged.
 */
import * as tf from '@tensorflow/tfjs';

const SEED_FOR_ZERO = 2 ** 31 - 1;

export function seededNormal(shape: number[], mean: number, stdDev: number, seed: number): tf.Tensor {
  return tf.randomNormal(shape, mean, stdDev, 'float32', seed === 0 ? SEED_FOR_ZERO : seed);
}
