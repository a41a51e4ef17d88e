/**
 * `Cast` for wasm that does not copy when the dtype does not change. tfjs' ReLU gradient is
 * `dy * cast(step(x), 'float32')`, a float32 → float32 cast that the stock wasm kernel turns into a
 * full copy of every activation (the cpu backend shares the buffer here). Casts to bool test
 * `x != 0` like the cpu backend (the stock kernel truncated); other casts go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { shareBuffer } from './identity.ts';
import { runStock, type BackendWasm, type TensorInfo } from './wasm-ops.ts';

/** x != 0, as on the cpu backend (the stock wasm kernel truncates: 0.5 became false, 256 false). */
function toBool(backend: BackendWasm, x: TensorInfo): TensorInfo {
  const out = backend.makeOutput(x.shape, 'bool');
  const from = backend.typedArrayFromHeap(x);
  const to = backend.typedArrayFromHeap(out);
  for (let i = 0; i < from.length; i++) to[i] = from[i] !== 0 ? 1 : 0;
  return out;
}

function cast(args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: { dtype: tf.DataType } }): TensorInfo {
  const { inputs: { x }, backend, attrs } = args;
  if (attrs.dtype === x.dtype && x.dtype !== 'string') return shareBuffer(backend, x);
  if (attrs.dtype === 'bool' && (x.dtype === 'float32' || x.dtype === 'int32')) return toBool(backend, x);
  return runStock('Cast', backend, { x }, attrs);
}

export const castConfig: tf.KernelConfig = {
  kernelName: tf.Cast,
  backendName: 'wasm',
  kernelFunc: cast as unknown as tf.KernelFunc,
};
