/**
 * Shared pieces of the kernel tests, which compare gradlab's wasm kernels with the cpu backend:
 * deterministic inputs, shape sizes, and the relative error the tests bound.
 */
import assert from 'node:assert/strict';

/** Deterministic values in [-1, 1), so a failure reproduces. */
export function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** A shape, or a number-or-pair attribute, as the test names print it: `2,8,9,3`, `2`. */
export function dims(value: number | readonly number[]): string {
  return typeof value === 'number' ? `${value}` : value.join(',');
}

export function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** max |actual − expected| / max |expected| (guarded against an all-zero reference). */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
    maxRef = Math.max(maxRef, Math.abs(expected[i]!));
  }
  return maxDiff / Math.max(maxRef, 1e-6);
}

/**
 * Runs `compute` in a tidy on `backend` and reads the result, asserting that no tensor was left
 * behind on that backend.
 */
export async function on(backend: string, compute: () => import('@tensorflow/tfjs').Tensor): Promise<ArrayLike<number>> {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const out = tf.tidy(compute);
  const data = await out.data();
  out.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend}: leaked tensors`);
  return data;
}
