/**
 * A corrected gradient for tfjs' Unpack (`tf.unstack`), registered when trained recurrent models
 * are loaded. tfjs-layers' RNN unstacks its input over time; tfjs hands a kernel with one output
 * a single dy tensor rather than a list, and the stock Unpack gradient passes that straight to
 * `tf.stack`, which throws. So every gradient through a recurrent layer failed for a one-step
 * sequence (a one-word explanation: a 500 that also left the tape's tensors behind). This one
 * accepts both forms; for two or more steps it computes exactly what the stock one does.
 */
import * as tf from '@tensorflow/tfjs';

let registered = false;

export function registerUnpackGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: tf.Unpack,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], _saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const { axis } = attrs as unknown as { axis: number };
      const parts = Array.isArray(dy) ? dy : [dy];
      return { value: () => tf.stack(parts, axis) };
    },
  });
}
