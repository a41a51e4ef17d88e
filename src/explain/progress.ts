/**
 * Progress of an explanation in gradient evaluations, the unit its cost is declared in (each
 * spec's `gradientsPerImage`). The driver makes one meter for the whole request whose total is the
 * declared cost, and hands each chunk of images a part of it; a wrapper (SmoothGrad) hands each
 * sample a part of its own. Methods with long loops (integrated gradients) count as they go;
 * whatever a part has left when its work is over is counted then (`finish`), so that methods that
 * report nothing still advance the meter, a method that computes more than it declared cannot push
 * `done` past `total`, and the last event always has `done === total`.
 */

export interface ExplainProgress {
  /** Gradient evaluations done so far, never more than `total`. */
  done: number;
  /** The request's declared cost: gradients per image × images. */
  total: number;
}

export interface GradientMeter {
  /** Evaluations this meter has not counted yet. */
  readonly left: number;
  /** Counts `count` gradient evaluations (what goes past this meter's size is dropped). */
  add(count: number): void;
  /** A meter for the next `size` evaluations of this one (at most what it has left). */
  part(size: number): GradientMeter;
  /** Counts everything left as done: the work this meter stood for is over. */
  finish(): void;
}

function meter(size: number, count: (n: number) => void): GradientMeter {
  let used = 0;
  const self: GradientMeter = {
    get left() {
      return size - used;
    },
    add(n) {
      const taken = Math.min(Math.max(0, n), size - used);
      if (taken <= 0) return;
      used += taken;
      count(taken);
    },
    part(partSize) {
      return meter(Math.min(Math.max(0, partSize), size - used), (n) => self.add(n));
    },
    finish() {
      self.add(size - used);
    },
  };
  return self;
}

/** The whole request's meter: calls `onProgress` each time `done` grows. */
export function gradientMeter(total: number, onProgress: (e: ExplainProgress) => void): GradientMeter {
  let done = 0;
  return meter(total, (n) => {
    done += n;
    onProgress({ done, total });
  });
}
