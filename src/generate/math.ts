// Small numeric helpers on one row of scores (a Float32Array slice of length V): softmax, log-softmax,
// argmax, the k-th largest value and the k best (value, index) pairs. Generation needs nothing heavier.
//
// Precision: sums run in float64 (JavaScript numbers) and results are stored as float32, so they agree with
// PyTorch's float32 results to about one unit in the last place. Ties are broken towards the lower index,
// like torch.argmax; torch.topk leaves tie order unspecified, and the Hugging Face fixtures avoid ties.

/**
 * softmax(x)_i = exp(x_i - max) / Σ_j exp(x_j - max), written into `out` (which may be `x`).
 * Returns log Σ_j exp(x_j) (so log softmax(x)_i = x_i - that, without a second pass).
 */
export function softmaxInto(x: Float32Array, out: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    // exp(-Infinity) = 0; skipping the call matters after top-k, where most entries are -Infinity
    const e = x[i] === -Infinity ? 0 : Math.exp(x[i]! - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < x.length; i++) out[i] = out[i]! / sum;
  return max + Math.log(sum);
}

/** log Σ_i exp(x_i), computed as max + log Σ_i exp(x_i - max) so that exp() cannot overflow. */
export function logSumExp(x: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== -Infinity) sum += Math.exp(x[i]! - max);
  return max + Math.log(sum);
}

/**
 * log_softmax(x)_i = x_i - log Σ_j exp(x_j) = x_i - max - log Σ_j exp(x_j - max), into `out` (may be `x`).
 * Subtracting the max first keeps exp() from overflowing; -Infinity entries stay -Infinity.
 */
export function logSoftmaxInto(x: Float32Array, out: Float32Array): void {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.exp(x[i]! - max);
  const logSum = Math.log(sum);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! - max - logSum;
}

/** Index of the largest value; the first one on ties (torch.argmax). NaN is never chosen over a number. */
export function argmax(x: Float32Array): number {
  let best = 0;
  let bestValue = -Infinity;
  let found = false;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!found ? v >= bestValue : v > bestValue) {
      best = i;
      bestValue = v;
      found = true;
    }
  }
  return best;
}

/**
 * The k-th largest value of x (k = 1 is the maximum), by quickselect on a copy: expected O(V), where sorting
 * would be O(V log V). Used by top-k, which keeps everything >= this value (so ties with it survive).
 */
export function kthLargest(x: Float32Array, k: number): number {
  if (k < 1 || k > x.length) throw new Error(`kthLargest: k must be in 1..${x.length}, got ${k}`);
  const a = Float32Array.from(x);
  // We want the element that would sit at index k-1 if `a` were sorted in descending order.
  const target = k - 1;
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    // Partition a[lo..hi] around a pivot (middle element): larger values to the left.
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! > pivot) i++;
      while (a[j]! < pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    // Now a[lo..j] >= pivot >= a[i..hi]; keep the side that holds `target`.
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target]!; // between j and i: equal to the pivot
  }
  return a[target]!;
}

/**
 * The k largest entries of x as (values, indices), best first; equal values keep the lower index first; NaNs
 * are skipped. A small sorted buffer is enough because k is small (2 × num_beams) while x can be num_beams × V
 * long. With `shifts`, x is rows of `rowLen` and entry i counts as the float32 sum x[i] + shifts[row] (beam
 * search: a candidate's log-probability plus its beam's running score, as PyTorch adds them), without a pass
 * that writes those sums first.
 */
export function topK(x: Float32Array, k: number, shifts?: ArrayLike<number>, rowLen = x.length): { values: Float32Array; indices: Int32Array } {
  const n = Math.min(k, x.length);
  const values = new Float32Array(n).fill(-Infinity);
  const indices = new Int32Array(n).fill(-1);
  let filled = 0;
  const rows = shifts ? Math.ceil(x.length / rowLen) : 1;
  for (let r = 0; r < rows; r++) {
    const s = shifts ? shifts[r]! : 0;
    const start = shifts ? r * rowLen : 0;
    const end = shifts ? Math.min(x.length, (r + 1) * rowLen) : x.length;
    // Once the buffer is full an entry must beat its last value `worst`. Rounding to float32 never moves a sum
    // past a float32 bound, so fround(x + s) > worst needs x + s > worst, i.e. x > worst − s give or take the
    // rounding of that double difference: `bar` sits a hair below it and the cheap test x > bar skips almost
    // every entry (a beam search reads 4 × 58 101 of them per step to keep 8) before the exact test below.
    let bar = filled === n ? barBelow(values[n - 1]! - s) : -Infinity;
    for (let i = start; i < end; i++) {
      const xi = x[i]!;
      if (!(xi > bar) && filled === n) continue; // (NaN too)
      const v = shifts ? Math.fround(xi + s) : xi;
      if (filled === n) {
        if (!(v > values[n - 1]!)) continue;
      } else if (Number.isNaN(v)) continue;
      let pos = filled < n ? filled : n - 1;
      // Shift smaller entries right; stop at an entry >= v so earlier (lower) indices stay in front on ties.
      while (pos > 0 && values[pos - 1]! < v) {
        values[pos] = values[pos - 1]!;
        indices[pos] = indices[pos - 1]!;
        pos--;
      }
      values[pos] = v;
      indices[pos] = i;
      if (filled < n) filled++;
      if (filled === n) bar = barBelow(values[n - 1]! - s);
    }
  }
  return { values, indices };
}

/** A number a little below t (by far more than a double's rounding of a float32 difference): a safe lower bar. */
function barBelow(t: number): number {
  return t - Math.abs(t) * 1e-9 - 1e-30;
}
