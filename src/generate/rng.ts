// A small seeded random number generator for sampling, so `seed: 42` gives the same text on every machine
// and in every JavaScript engine. (The tensor engine has its own Rng; generation keeps its own ~30 lines so
// it does not depend on the engine.)
//
// xoshiro128** (Blackman & Vigna): 128 bits of state, period 2^128 - 1, fast 32-bit integer operations.
// The state is filled from the seed with splitmix32, which turns nearby seeds (1, 2, 3) into unrelated states.

/** A source of uniform random numbers in [0, 1). */
export type Uniform = () => number;

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * `const u = seededUniform(42); u()` → a number in [0, 1), the same sequence for the same seed.
 * Seeds are taken modulo 2^32. It is not cryptographically secure.
 */
export function seededUniform(seed: number): Uniform {
  if (!Number.isFinite(seed)) throw new Error(`seededUniform: seed must be a finite number, got ${seed}`);
  const init = splitmix32(Math.floor(seed));
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is the one state xoshiro never leaves
  return () => {
    const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c = (c ^ a) >>> 0;
    d = (d ^ b) >>> 0;
    b = (b ^ c) >>> 0;
    a = (a ^ d) >>> 0;
    c = (c ^ t) >>> 0;
    d = rotl(d, 11);
    return result / 4294967296; // 2^32: 32 random bits → [0, 1)
  };
}

/** A fresh seed from the platform's random source (crypto.getRandomValues, in Node and browsers). */
export function randomSeed(): number {
  const buf = new Uint32Array(1);
  globalThis.crypto.getRandomValues(buf);
  return buf[0]!;
}

/**
 * Draws an index with probability probs[i] / Σ probs (like torch.multinomial with one sample): walk the
 * cumulative sum until it passes u · Σ probs. Zero-probability entries are never chosen.
 */
export function sampleIndex(probs: Float32Array, uniform: Uniform): number {
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i]!;
  if (!(total > 0)) throw new Error(`sampleIndex: the probabilities sum to ${total}; every token was filtered out or a score is NaN`);
  const target = uniform() * total;
  let cum = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    if (p <= 0) continue;
    cum += p;
    last = i;
    if (target < cum) return i;
  }
  return last; // rounding left `target` just past the end: the last token with nonzero probability
}
