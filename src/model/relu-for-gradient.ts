/**
 * The two ReLUs a recorded gradient runs through, each with its backward pass as one kernel
 * (src/backend/relu-backprop.ts) instead of tfjs' dy · step(x):
 * - `plainRelu`: the ordinary ReLU, its gradient dy · (y > 0);
 * - `guidedRelu`: guided backprop's (Springenberg et al. 2015), forward an ordinary ReLU, backward
 *   dy · (y > 0) · (dy > 0).
 * Both save their output y, not their input (y > 0 exactly where x > 0). `reluKindOf` tells the
 * gradient forward which one it was handed, so it can fuse that ReLU into the convolution before it
 * (conv-for-gradient.ts); any other function stays a separate op.
 */
import * as tf from '@tensorflow/tfjs';
import { reluBackprop } from '../backend/relu-backprop.ts';

export type ReluKind = 'plain' | 'guided';

function reluWithBackprop(guided: boolean) {
  return tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = tf.relu(x);
    save([y]);
    return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => reluBackprop(dy, saved[0]!, guided) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
}

const plain = reluWithBackprop(false);
const guided = reluWithBackprop(true);

// Nothing recorded (the model's plain forward pass): tfjs' ReLU alone, no custom gradient's bookkeeping.
const recording = () => tf.engine().state.gradientDepth > 0;

export function plainRelu(x: tf.Tensor): tf.Tensor {
  return recording() ? plain(x) : tf.relu(x);
}

export function guidedRelu(x: tf.Tensor): tf.Tensor {
  return recording() ? guided(x) : tf.relu(x);
}

/** Which of the two a ReLU function is (tfjs' own `tf.relu` counts as plain), or undefined. */
export function reluKindOf(relu: (x: tf.Tensor) => tf.Tensor): ReluKind | undefined {
  if (relu === plainRelu || relu === tf.relu) return 'plain';
  if (relu === guidedRelu) return 'guided';
  return undefined;
}
