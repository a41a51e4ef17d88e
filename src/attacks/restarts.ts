/**
 * Random restarts as one wrapper around any attack (Foolbox's `Repeated`): run the attack again
 * from a fresh seed (seed + r·1009), keep each image's earliest success and take a new attempt
 * only where there was none, and stop as soon as every image has succeeded. One attempt is
 * returned as it is (nothing to choose between). Progress steps are numbered across attempts.
 *
 * Tensors: an attempt that throws (deadline, client gone) disposes its own tensors; this wrapper
 * disposes the best-so-far batch and any attempt it holds, so a cancelled request leaks nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { adversarialMask } from './criteria.ts';
import type { AttackContext, AttackOutput } from './spec.ts';

/** Seeds of successive restarts are this far apart. */
export const RESTART_SEED_STRIDE = 1009;

export async function withRestarts(
  context: AttackContext,
  restarts: number,
  attempt: (context: AttackContext) => Promise<AttackOutput>,
): Promise<AttackOutput> {
  if (restarts <= 1) return attempt(context);
  const { model, criterion } = context;
  let best: tf.Tensor4D | undefined;
  let bestSuccess: boolean[] = [];
  let iterations = 0;
  try {
    for (let r = 0; r < restarts; r++) {
      const output = await attempt({
        ...context,
        seed: context.seed + r * RESTART_SEED_STRIDE,
        onStep: (s) => context.onStep({ ...s, step: r * s.steps + s.step, steps: restarts * s.steps }),
      });
      iterations += output.iterations;
      let adversarial: tf.Tensor4D | undefined = output.adversarial;
      try {
        const success = adversarialMask(model, criterion, adversarial);
        if (!best) {
          best = adversarial;
          adversarial = undefined;
          bestSuccess = success;
        } else {
          // Keep earlier successes; take the new attempt where there was none.
          const take = success.map((s, i) => s && !bestSuccess[i]);
          const previous: tf.Tensor4D = best;
          const fresh: tf.Tensor4D = adversarial;
          best = tf.tidy(() => {
            const mask = tf.tensor4d(take.map((t) => (t ? 1 : 0)), [take.length, 1, 1, 1]);
            return tf.add(tf.mul(fresh, mask), tf.mul(previous, tf.sub(1, mask))) as tf.Tensor4D;
          });
          previous.dispose();
          bestSuccess = bestSuccess.map((s, i) => s || take[i]!);
        }
      } finally {
        adversarial?.dispose();
      }
      if (bestSuccess.every(Boolean)) break;
    }
    const result = best!;
    best = undefined;
    return { adversarial: result, iterations };
  } finally {
    best?.dispose();
  }
}
