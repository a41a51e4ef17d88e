/**
 * SmoothGrad (Smilkov et al. 2017) as a wrapper, like Captum's NoiseTunnel: the mean of any
 * method's maps over `samples` copies of the input with Gaussian noise of standard deviation
 * `noise × (max − min)` of the model's value range. Seeded: the same seed gives the same map.
 * Costs `samples` times the wrapped method's gradients. The map is not the wrapped method's
 * attribution of x, so the wrapped method's convergence check does not apply to it.
 */
import * as tf from '@tensorflow/tfjs';
import { seededNormal } from '../model/seeded-noise.ts';
import type { AttributionMethod } from './method.ts';
import { defineWrapper } from './spec.ts';

export interface SmoothGradOptions {
  samples: number;
  /** Noise standard deviation as a fraction of the value range (the paper uses 0.1–0.2). */
  noise: number;
  seed: number;
}

export function smoothgrad(base: AttributionMethod, { samples, noise, seed }: SmoothGradOptions): AttributionMethod {
  return (ctx, x, options) => {
    const [lo, hi] = ctx.model.manifest.input.range;
    const sigma = noise * (hi - lo);
    let sum: tf.Tensor4D | undefined;
    for (let s = 0; s < samples; s++) {
      // A throw here leaves the running sum to the caller's tidy.
      ctx.deadline?.check();
      const previous = sum;
      // Each sample is an equal share of this call's progress, counted whole once it is done.
      const progress = ctx.progress?.part(Math.ceil(ctx.progress.left / (samples - s)));
      const sampleCtx = progress ? { ...ctx, progress } : ctx;
      // Each sample's intermediates are freed at once; only the running sum survives.
      sum = tf.tidy(() => {
        const noisy = tf.add(x, seededNormal(x.shape, 0, sigma, seed + s * 7919)) as tf.Tensor4D;
        const map = base(sampleCtx, noisy, options);
        return previous ? tf.add<tf.Tensor4D>(previous, map) : map;
      });
      previous?.dispose();
      progress?.finish();
    }
    return tf.div(sum!, samples) as tf.Tensor4D;
  };
}

export const smoothgradSpec = defineWrapper({
  kind: 'wrapper',
  name: 'smoothgrad',
  paper: 'Smilkov, Thorat, Kim, Viégas, Wattenberg 2017, SmoothGrad: removing noise by adding noise',
  baseParameter: 'base',
  parameters: {
    base: { type: 'base-method', default: 'gradient', elsewhere: 'refuse' },
    samples: { type: 'integer', minimum: 1, default: 25, elsewhere: 'ignore' },
    noise: { type: 'number', minimum: 0, maximum: 1, default: 0.15, elsewhere: 'ignore' },
    seed: { type: 'integer', minimum: 0, default: 0, elsewhere: 'ignore' },
  },
  wrap: (base, { samples, noise, seed }) => smoothgrad(base, { samples: samples as number, noise: noise as number, seed: seed as number }),
  gradientsPerImage: (baseCost, { samples }) => baseCost * (samples as number),
  costParameters: ['samples'],
});
