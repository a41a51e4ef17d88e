/**
 * The ReLUs by their definitions, as references for gradlab's fused layers (conv-for-gradient,
 * dense-for-gradient): tfjs' own ReLU, and guided backprop's (Springenberg et al. 2015: gradient
 * only where the input and the incoming gradient are both positive) written as tfjs ops.
 */
import * as tf from '@tensorflow/tfjs';
import type { ReluKind } from '../../src/model/relu-for-gradient.ts';

const guidedReference = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return { value: tf.relu(x), gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.mul(tf.mul(dy, tf.step(saved!)), tf.step(dy)) };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

/** z through the reference ReLU of `kind` ('none': unchanged). */
export function referenceRelu(kind: ReluKind | 'none', z: tf.Tensor): tf.Tensor {
  return kind === 'plain' ? tf.relu(z) : kind === 'guided' ? guidedReference(z) : z;
}
