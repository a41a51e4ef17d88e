/** The substitute attack's options and their defaults (substitute.ts says what each step does). */

export interface SubstituteOptions {
  architecture: 'mlp' | 'cnn';
  rounds: number;
  lambda: number;
  /** Rounds between flips of λ's sign. */
  lambdaPeriod: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  craft: 'fgsm' | 'pgd' | 'mifgsm';
  epsilon: number;
  seed: number;
  /**
   * Reservoir sampling (Papernot et al.'s follow-up to the doubling): from round `from` (0-based)
   * on, only `size` points drawn at random from the set are augmented, so that rounds past the
   * doubling cost `size` queries each. Null: every round doubles, as the 2017 paper does.
   */
  reservoir: { from: number; size: number } | null;
  /** Measure the transfer rate after every round on this many of the attacked images (extra queries, booked apart); 0: only at the end. */
  measureTransfer: number;
}

export const SUBSTITUTE_DEFAULTS: SubstituteOptions = {
  architecture: 'cnn',
  rounds: 10,
  lambda: 0.1,
  lambdaPeriod: 3,
  epochs: 10,
  batchSize: 128,
  learningRate: 0.001,
  craft: 'pgd',
  epsilon: 0.3,
  seed: 0,
  reservoir: { from: 4, size: 800 },
  measureTransfer: 0,
};
