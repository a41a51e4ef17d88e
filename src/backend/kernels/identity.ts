/**
 * `Identity` for wasm without a copy. tfjs clones every tensor it saves for a backward pass
 * (`engine.clone` runs `Identity`), and the stock wasm kernel copies the buffer each time: a full
 * copy of every activation and weight a gradient saves. It also gives each clone a new data id, so
 * caches keyed by the weight's data id (the input-gradient kernels' flipped filters and XNNPACK's
 * packed operators) miss on every gradient call. Tensor data is immutable in tfjs, so the clone can
 * share the buffer, as the cpu backend's `Identity` and the wasm `Reshape` already do (the backend
 * counts references and frees the buffer with the last one).
 */
import * as tf from '@tensorflow/tfjs';
import { runStock, type BackendWasm, type TensorInfo } from './wasm-ops.ts';

/** A new reference to x's buffer (the caller owns one reference). */
export function shareBuffer(backend: BackendWasm, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

function identity(args: { inputs: { x: TensorInfo }; backend: BackendWasm }): TensorInfo {
  const { inputs: { x }, backend } = args;
  // String tensors live outside the wasm heap; the stock kernel handles them.
  if (x.dtype === 'string') return runStock('Identity', backend, { x });
  return shareBuffer(backend, x);
}

export const identityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: identity as unknown as tf.KernelFunc,
};
