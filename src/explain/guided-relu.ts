/**
 * The guided-backprop ReLU (Springenberg et al. 2015): forward it is an ordinary ReLU; backward
 * it passes the incoming gradient only where the forward input was positive AND the incoming
 * gradient is positive, `dy * (x > 0) * (dy > 0)`. It is used only inside a forward function built
 * for guided backprop (see layer-walk.ts); no global gradient override is ever installed.
 */
import * as tf from '@tensorflow/tfjs';

const guided = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: tf.relu(x),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.mul(dy, tf.step(saved[0]!)), tf.step(dy)),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

export function guidedRelu(x: tf.Tensor): tf.Tensor {
  return guided(x);
}
