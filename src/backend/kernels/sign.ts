/**
 * A correct `Sign` for wasm. The stock wasm kernel returns 0 for inputs of small magnitude
 * (measured on tfjs-backend-wasm 4.22: sign(6.8e-9) = 0, sign(-3e-12) = 0, where cpu gives ±1),
 * and input gradients of confidently classified images are exactly that small — every FGSM-style
 * step built on `tf.sign` then silently does nothing. This one compares with zero in a JS loop
 * over the wasm heap (sign is memory-bound; the loop costs about as much as a copy).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm, TensorInfo } from './wasm-ops.ts';

function sign(args: { inputs: { x: TensorInfo }; backend: BackendWasm }): TensorInfo {
  const { inputs: { x }, backend } = args;
  const out = backend.makeOutput(x.shape, x.dtype);
  // Views are taken after the last allocation (an allocation may grow memory and detach views).
  const xs = backend.typedArrayFromHeap(x);
  const ys = backend.typedArrayFromHeap(out);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    ys[i] = v > 0 ? 1 : v < 0 ? -1 : 0;
  }
  return out;
}

export const signConfig: tf.KernelConfig = {
  kernelName: tf.Sign,
  backendName: 'wasm',
  kernelFunc: sign as unknown as tf.KernelFunc,
};
