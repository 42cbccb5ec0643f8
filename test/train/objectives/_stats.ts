// Statistical yardsticks for the objective tests. Every test uses a fixed seed, so it is reproducible; the
// bounds are set so a correct implementation fails with probability below ~1e-5 for any seed (a wrong rate
// or a biased distribution is far outside them at the sample sizes used).

/** |observed − n·p| ≤ z·√(n·p·(1−p)): a binomial count within z standard deviations of its mean. */
export function withinBinomial(observed: number, n: number, p: number, z = 4.5): { ok: boolean; message: string } {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  return {
    ok: Math.abs(observed - mean) <= z * sd,
    message: `observed ${observed} of ${n}, expected ${mean.toFixed(1)} ± ${(z * sd).toFixed(1)} (p = ${p})`,
  };
}

/** Pearson's χ² of observed counts against expected counts. */
export function chiSquare(observed: readonly number[], expected: readonly number[]): number {
  let x = 0;
  for (let i = 0; i < observed.length; i++) x += (observed[i] - expected[i]) ** 2 / expected[i];
  return x;
}

/**
 * The χ² value a df-degree-of-freedom statistic exceeds with probability ≈ Φ(−z) (Wilson–Hilferty:
 * (χ²/df)^(1/3) is nearly normal with mean 1 − 2/(9df) and variance 2/(9df)). z = 4.26 ↔ p ≈ 1e-5.
 */
export function chiSquareCritical(df: number, z = 4.26): number {
  const v = 2 / (9 * df);
  return df * (1 - v + z * Math.sqrt(v)) ** 3;
}

/** n choose k, exactly for the small numbers the tests use. */
export function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}
