/**
 * ReLU's backward pass as one kernel: `dx = dy` where the ReLU's output y is positive, else 0
 * (guided backprop: also only where dy > 0). tfjs computes it as dy · step(x), two kernels and a
 * temporary the size of the activation; with the native addon loaded, `GradlabReluBackprop`
 * (native/src/eltwise.cc, registered on the wasm backend) does it in one pass, as PyTorch's
 * threshold_backward does. Elsewhere (cpu backend, addon absent, other dtypes) the two-kernel form
 * runs, with the same values.
 *
 * y is the ReLU's output, not its input: y > 0 exactly where x > 0, and a fused conv + bias + ReLU
 * (conv-for-gradient.ts) never materialises x.
 */
import * as tf from '@tensorflow/tfjs';

export const RELU_BACKPROP_KERNEL = 'GradlabReluBackprop';

/** Whether the current backend runs `RELU_BACKPROP_KERNEL` (the native addon on wasm). */
export function hasReluBackpropKernel(): boolean {
  return tf.getKernel(RELU_BACKPROP_KERNEL, tf.getBackend()) !== undefined;
}

/** dy masked by y > 0 (and dy > 0 when guided); same shape as dy. */
export function reluBackprop(dy: tf.Tensor, y: tf.Tensor, guided = false): tf.Tensor {
  if (dy.dtype === 'float32' && y.dtype === 'float32' && tf.util.arraysEqual(dy.shape, y.shape) && hasReluBackpropKernel()) {
    return tf.engine().runKernel(RELU_BACKPROP_KERNEL, { dy, y }, { guided }) as tf.Tensor;
  }
  return tf.tidy(() => {
    const masked = tf.mul(dy, tf.step(y));
    return guided ? tf.mul(masked, tf.step(dy)) : masked;
  });
}
