/**
 * A dense layer (matrix product, bias, optional ReLU) as one op while an INPUT gradient is
 * recorded, the dense counterpart of conv-for-gradient.ts: forward, tfjs' `_FusedMatMul` (product,
 * bias and ReLU in one kernel: gradlab's batch-invariant row kernel with the native addon);
 * backward, the ReLU mask in one pass (relu-backprop.ts) and dx = dy · Wᵀ. Unfused, the same
 * layer was three kernels forward and four backward (ReLU mask, the bias gradient's reduction over
 * the batch, dx and the weight gradient Aᵀ · dy, which an input gradient throws away).
 *
 * The kernel and bias are constants here: no weight or bias gradient is ever computed. Training
 * uses the model's own `apply`, never this path. Outside a recorded gradient the forward kernel
 * runs alone, without the bookkeeping of a custom gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { reluBackprop } from '../backend/relu-backprop.ts';
import type { ReluKind } from './relu-for-gradient.ts';

/** x · kernel + bias (then ReLU) as one `_FusedMatMul` call; x is [N, features]. */
export function fusedProduct(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D | undefined, relu: boolean): tf.Tensor2D {
  const [rows, features] = x.shape;
  const units = kernel.shape[1];
  const inputs: Record<string, tf.Tensor> = { a: tf.reshape(x, [1, rows, features]), b: tf.reshape(kernel, [1, features, units]), ...(bias ? { bias } : {}) };
  const y = tf.engine().runKernel('_FusedMatMul', inputs, { transposeA: false, transposeB: false, activation: relu ? 'relu' : 'linear' }) as tf.Tensor3D;
  return tf.reshape(y, [rows, units]);
}

/** x · kernel + bias, then the ReLU of `relu` (none: linear), with an input-only gradient; x is [N, features]. */
export function denseForGradient(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D | undefined, relu: ReluKind | 'none'): tf.Tensor2D | undefined {
  if (x.dtype !== 'float32' || kernel.dtype !== 'float32' || (bias && bias.dtype !== 'float32')) return undefined;
  if (tf.engine().state.gradientDepth === 0) return fusedProduct(x, kernel, bias, relu !== 'none');
  const op = tf.customGrad(((input: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const y = fusedProduct(input, kernel, bias, relu !== 'none');
    if (relu !== 'none') save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const masked = relu === 'none' ? dy : reluBackprop(dy, saved[0]!, relu === 'guided');
        return tf.matMul(masked as tf.Tensor2D, kernel, false, true);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor2D;
}
