/**
 * Seeded randomness for datasets and training: a splittable source of numbers in [0, 1) and a
 * Fisher-Yates shuffle driven by it. Splits and training runs that use these are reproducible
 * from their seed alone, which is what lets a manifest state "seed 42" and mean it.
 */
import seedrandom from 'seedrandom';

/** A function returning uniform numbers in [0, 1), like Math.random but from a seed. */
export type Random = () => number;

/** A generator for `seed` (ARC4-based `seedrandom`: the same seed gives the same sequence). */
export function seededRandom(seed: number | string): Random {
  const rng = seedrandom(String(seed));
  return () => rng.quick();
}

/** A uniform integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/** Shuffles `items` in place (Fisher-Yates) and returns it. */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(items: T, random: Random): T {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

/** The numbers 0..n-1 in a random order. */
export function permutation(n: number, random: Random): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return shuffleInPlace(order, random);
}
