// Small pieces of randomness and rounding shared by the objectives, written once so each objective file reads
// as its own algorithm. All randomness comes from the caller's seeded Rng (src/tensor/rng.ts).

import type { Rng } from '../../tensor/rng.js';

/** Shuffle in place, Fisher–Yates: every order equally likely. Example: `shuffle([1, 2, 3], rng)`. */
export function shuffle<T>(a: { [i: number]: T; length: number }, rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/**
 * Round to the nearest integer, halves to the even neighbour: Python's round() and NumPy's np.round, which T5's
 * and Hugging Face's code use (so round(4.5) is 4, not JavaScript's Math.round 5). Example: `roundHalfEven(2.5)` → 2.
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A uniform integer in [lo, hi] (both included). Example: `uniformInt(rng, 1, 6)` is a die roll. */
export function uniformInt(rng: Rng, lo: number, hi: number): number {
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo <= hi)) throw new RangeError(`uniformInt: need integers lo ≤ hi, got ${lo}, ${hi}`);
  return lo + rng.int(hi - lo + 1);
}
