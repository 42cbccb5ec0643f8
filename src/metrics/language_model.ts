// How well a language model predicts text: perplexity and bits per byte, from the model's negative
// log-likelihood (NLL, the cross-entropy loss) in nats.
//
//   mean loss L = (1/T) Σ_t −ln p(x_t | x_<t)           nats per token, over T predicted tokens
//   perplexity  = e^L                                   "as unsure as a uniform choice among e^L tokens"
//   bits/byte   = (T · L) / (B · ln 2)                  the total NLL in bits, spread over the B bytes of the text
//
// Perplexity depends on the tokenizer (a model over bytes and one over 50k-token BPE see different T), so it only
// compares models that share one. Bits per byte divides the same total information by the text's UTF-8 length,
// which every tokenizer agrees on, so it compares any two models on the same text (the measure of the Hutter
// Prize and of byte-level benchmarks such as enwik8). B counts the bytes of the text whose tokens were predicted.
//
// A NaN or infinite loss (a diverged run) passes through as NaN or Infinity rather than throwing, so an
// evaluation in the middle of training reports it instead of stopping the run.
//
// Does not handle: the loss itself (that needs a model; see `evaluate` in attn's trainer), or bits per character.

/** e^L for a mean loss L in nats per token. Example: `perplexity(Math.log(50257))` → 50257 (a uniform guess). */
export function perplexity(meanLossNats: number): number {
  return Math.exp(meanLossNats);
}

/**
 * Bits per byte from a mean loss in nats per token over `tokens` tokens covering `bytes` bytes of text.
 * Example: `bitsPerByte(Math.LN2 * 8, 1, 1)` → 8 (eight bits of surprise for one byte-sized token).
 */
export function bitsPerByte(meanLossNats: number, tokens: number, bytes: number): number {
  if (!Number.isInteger(tokens) || tokens < 0) throw new Error(`bitsPerByte: tokens must be a whole number ≥ 0, got ${tokens}`);
  if (!(bytes > 0)) throw new Error(`bitsPerByte: bytes must be > 0, got ${bytes}`);
  return (meanLossNats * tokens) / (bytes * Math.LN2);
}

/** Mean loss in nats per token from per-token log-probabilities (natural log). Example: `meanNll([Math.log(0.5)])` → ln 2. */
export function meanNll(logProbs: ArrayLike<number>): number {
  if (logProbs.length === 0) throw new Error('meanNll: no log-probabilities given');
  let sum = 0;
  for (let i = 0; i < logProbs.length; i++) {
    const lp = logProbs[i];
    if (!(lp <= 0)) throw new Error(`meanNll: log-probability ${i} is ${lp}; a log-probability is ≤ 0`);
    sum -= lp;
  }
  return sum / logProbs.length;
}

/** The UTF-8 length of a text: the B of bits per byte. Example: `utf8Bytes('é')` → 2. */
export function utf8Bytes(text: string): number {
  return new TextEncoder().encode(text).length;
}
