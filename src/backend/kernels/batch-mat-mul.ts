/**
 * `BatchMatMul` for wasm that never hands a transposed operand to the stock kernel. The stock
 * kernel is fast (XNNPACK, with the packed right-hand operand cached per tensor) only when neither
 * operand is transposed; with `transposeB` or `transposeA` it runs a plain loop. Every dense
 * layer's backward pass asks for both: dx = dy · Wᵀ and dW = xᵀ · dy. Measured on this machine
 * (ms): [64×128]·[1600×128]ᵀ 46.8 stock vs 1.7 with Wᵀ cached; [64×1600]ᵀ·[64×128] 53.8 stock vs
 * 2.0 with xᵀ made per call.
 *
 * How: a transposed right-hand operand is usually a weight, constant between calls, so its
 * transpose is cached per tensor (filter-cache.ts: used only while the source is alive, released
 * with it, size-capped); a transposed left-hand operand is usually an activation, so it is
 * transposed per call (cheap next to the plain loop). Then the stock kernel runs untransposed.
 */
import * as tf from '@tensorflow/tfjs';
import { cachePerBackend } from './filter-cache.ts';
import { runStock, transpose, withIntermediates, type BackendWasm, type TensorInfo } from './wasm-ops.ts';

/** Swaps the last two axes. */
function swapLastTwo(backend: BackendWasm, x: TensorInfo): TensorInfo {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return transpose(backend, x, perm);
}

const transposedOperands = cachePerBackend(swapLastTwo);
const MAX_CACHED_BYTES = 64 * 1024 * 1024;

/** Releases the cached transposed operands (tests, or after unloading models). */
export function clearBatchMatMulCache(): void {
  transposedOperands.clear();
}

function batchMatMul(args: {
  inputs: { a: TensorInfo; b: TensorInfo };
  backend: BackendWasm;
  attrs: { transposeA: boolean; transposeB: boolean };
}): TensorInfo {
  const { inputs: { a, b }, backend, attrs: { transposeA, transposeB } } = args;
  if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return runStock('BatchMatMul', backend, { a, b }, { transposeA, transposeB });
  }
  return withIntermediates(backend, (keep) => {
    const left = transposeA ? keep(swapLastTwo(backend, a)) : a;
    let right = b;
    if (transposeB) {
      // Operands too large to cache (over a quarter of the cache) are transposed per call.
      const bytes = 4 * b.shape.reduce((x, y) => x * y, 1);
      right = bytes <= MAX_CACHED_BYTES ? transposedOperands.of(backend).get(b) : keep(swapLastTwo(backend, b));
    }
    return runStock('BatchMatMul', backend, { a: left, b: right }, { transposeA: false, transposeB: false });
  });
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMul as unknown as tf.KernelFunc,
};
