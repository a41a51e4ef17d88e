/**
 * `UnsortedSegmentSum` for wasm, missing from the stock backend: tfjs uses it for the gradient of
 * `gather`, i.e. of every Embedding layer's weights (and of any gather in a model's graph).
 *
 * How: one pass over the rows of x, adding each row into the output row its segment id names,
 * directly on the wasm heap. Sums accumulate in float64 and are rounded once, so results do not
 * depend on the order of the rows. Ids outside [0, numSegments) are dropped, as on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm, TensorInfo } from './wasm-ops.ts';

function unsortedSegmentSum(args: {
  inputs: { x: TensorInfo; segmentIds: TensorInfo };
  backend: BackendWasm;
  attrs: { numSegments: number };
}): TensorInfo {
  const { inputs: { x, segmentIds }, backend, attrs: { numSegments } } = args;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`gradlab wasm UnsortedSegmentSum: dtype '${x.dtype}' is not supported`);
  }
  const idsRank = segmentIds.shape.length;
  for (let i = 0; i < idsRank; i++) {
    if (segmentIds.shape[i] !== x.shape[i]) {
      throw new Error(`gradlab wasm UnsortedSegmentSum: segmentIds shape [${segmentIds.shape.join(',')}] must be ` +
        `a prefix of x shape [${x.shape.join(',')}]`);
    }
  }
  const innerShape = x.shape.slice(idsRank);
  const inner = innerShape.reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);

  // Views into the wasm heap are taken after the last allocation (an allocation may grow memory
  // and detach older views).
  const ids = backend.typedArrayFromHeap(segmentIds);
  const xs = backend.typedArrayFromHeap(x);
  const acc = new Float64Array(numSegments * inner);
  for (let row = 0; row < ids.length; row++) {
    const seg = ids[row]!;
    if (seg < 0 || seg >= numSegments) continue;
    const src = row * inner;
    const dst = seg * inner;
    for (let k = 0; k < inner; k++) acc[dst + k]! += xs[src + k]!;
  }
  backend.typedArrayFromHeap(out).set(acc);
  return out;
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
};
