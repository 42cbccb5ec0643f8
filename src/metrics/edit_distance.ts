// Edit distance and the error rates built on it: word error rate (speech recognition), phoneme/token error rate
// (G2P), and the whole-sequence error rate that G2P papers call "word error rate".
//
//   editDistance(ref, hyp) = the fewest substitutions, deletions and insertions turning ref into hyp
//                            (Levenshtein, 1966; each edit costs 1), by dynamic programming:
//       D[i][0] = i,  D[0][j] = j,
//       D[i][j] = min(D[i-1][j] + 1, D[i][j-1] + 1, D[i-1][j-1] + (ref[i-1] ≠ hyp[j-1]))
//   tokenErrorRate = Σ_pairs editDistance / Σ_pairs |ref|        (corpus level: total edits over total reference
//                    tokens, not a mean of per-pair rates; can exceed 1 when the hypotheses insert a lot)
//   sequenceErrorRate = fraction of pairs whose hypothesis differs from the reference anywhere
//
// In G2P, "PER" is tokenErrorRate over phoneme sequences, and "WER" is sequenceErrorRate over words (a word is
// wrong if any of its phonemes is). In speech recognition, WER is tokenErrorRate over the words of each sentence.
//
// Does not handle: weighted edits, or the split into substitutions, deletions and insertions (which needs one
// alignment chosen among equally short ones). Strings are not split for you: pass arrays of tokens
// (Array.from(word) for characters, text.split(' ') for words).

/**
 * Levenshtein distance between two token sequences. Example: `editDistance(['k', 'ae', 't'], ['k', 'ah', 't', 's'])`
 * → 2 (one substitution, one insertion). Tokens are compared with ===.
 */
export function editDistance<T>(ref: readonly T[], hyp: readonly T[]): number {
  // One row of the table at a time: prev = D[i-1][·], cur = D[i][·].
  let prev = new Int32Array(hyp.length + 1);
  let cur = new Int32Array(hyp.length + 1);
  for (let j = 0; j <= hyp.length; j++) prev[j] = j;
  for (let i = 1; i <= ref.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= hyp.length; j++) {
      const sub = prev[j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, sub);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[hyp.length];
}

export interface ErrorRate {
  /** edits / referenceTokens (token error rate) or wrong / sequences (sequence error rate). */
  rate: number;
  /** Total edits, or the number of wrong sequences. */
  errors: number;
  /** The denominator: total reference tokens, or the number of sequences. */
  total: number;
}

function checkPairs(refs: readonly unknown[], hyps: readonly unknown[], what: string): void {
  if (refs.length !== hyps.length) throw new Error(`${what}: ${refs.length} references but ${hyps.length} hypotheses; they must pair up one to one`);
  if (refs.length === 0) throw new Error(`${what}: no sequences given`);
}

/**
 * Corpus-level token error rate: total edits over total reference tokens. Example (phoneme error rate):
 * `tokenErrorRate([['k', 'ae', 't']], [['k', 'ah', 't']]).rate` → 1/3. Throws when the references hold no tokens.
 */
export function tokenErrorRate<T>(refs: readonly (readonly T[])[], hyps: readonly (readonly T[])[]): ErrorRate {
  checkPairs(refs, hyps, 'tokenErrorRate');
  let errors = 0;
  let total = 0;
  for (let i = 0; i < refs.length; i++) {
    errors += editDistance(refs[i], hyps[i]);
    total += refs[i].length;
  }
  if (total === 0) throw new Error('tokenErrorRate: the references hold no tokens, so the rate is undefined');
  return { rate: errors / total, errors, total };
}

/**
 * Fraction of sequences whose hypothesis is not exactly the reference (G2P's word error rate).
 * Example: `sequenceErrorRate([['k', 'ae', 't'], ['d', 'ao', 'g']], [['k', 'ae', 't'], ['d', 'aa', 'g']]).rate` → 0.5.
 * Strings are compared whole: `sequenceErrorRate(['kat'], ['kat'])` works too.
 */
export function sequenceErrorRate<T>(refs: readonly (string | readonly T[])[], hyps: readonly (string | readonly T[])[]): ErrorRate {
  checkPairs(refs, hyps, 'sequenceErrorRate');
  let errors = 0;
  for (let i = 0; i < refs.length; i++) {
    const r = refs[i];
    const h = hyps[i];
    const same = typeof r === 'string' || typeof h === 'string' ? r === h : r.length === h.length && r.every((x, k) => x === h[k]);
    if (!same) errors++;
  }
  return { rate: errors / refs.length, errors, total: refs.length };
}
