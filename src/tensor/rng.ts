// A small seeded random number generator: xoshiro128** (Blackman & Vigna), seeded through splitmix32.
//
// Why not Math.random: training must be reproducible from a seed, and resumable from a checkpoint, so the
// generator's whole state is four 32-bit words (plus one cached normal) that getState()/setState() save and
// restore exactly. xoshiro128** is fast in JS (32-bit integer ops only) and passes BigCrush.
//
//   const rng = new Rng(42);
//   rng.uniform();  // 0.0 ≤ u < 1.0
//   rng.normal();   // N(0, 1)

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  /** Box–Muller makes normals in pairs; the second one waits here (NaN = none). */
  private spare = NaN;

  constructor(seed: number) {
    this.seed(seed);
  }

  /** Resets the generator to the stream of `seed` (any 32-bit integer; other numbers are truncated). */
  seed(seed: number): void {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng: seed must be a finite number, got ${seed}`);
    // splitmix32 spreads one seed over the four state words, so nearby seeds give unrelated streams.
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    this.spare = NaN;
  }

  /** Next raw 32-bit output, an integer in [0, 2³²). */
  uint32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    // result = rotl(s1 * 5, 7) * 9
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    this.s1 = s1 ^ n2;
    this.s0 = s0 ^ n3;
    this.s2 = n2 ^ t;
    this.s3 = (n3 << 11) | (n3 >>> 21);
    return result;
  }

  /** Uniform in [0, 1) with 24 random bits (every value is exactly representable in float32). */
  uniform(): number {
    return (this.uint32() >>> 8) * (1 / 16777216);
  }

  /** A uniform integer in [0, n), for shuffling and sampling; n ≤ 2³². */
  int(n: number): number {
    if (!(n >= 1 && n <= 4294967296) || !Number.isInteger(n)) throw new RangeError(`Rng.int: n must be an integer in 1..2^32, got ${n}`);
    // Multiply-shift on 32 random bits; the bias is below 2⁻³² · n, far under anything a model notices.
    return Math.floor((this.uint32() / 4294967296) * n);
  }

  /** Standard normal N(0, 1) by the Box–Muller transform: r = √(−2 ln u₁), θ = 2π u₂ → r·cos θ, r·sin θ. */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const z = this.spare;
      this.spare = NaN;
      return z;
    }
    const u1 = 1 - this.uniform(); // (0, 1], so the log is finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** The full state as plain numbers (JSON-safe): [s0, s1, s2, s3, spare or NaN-flag]. */
  getState(): number[] {
    const hasSpare = Number.isNaN(this.spare) ? 0 : 1;
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0, hasSpare, hasSpare ? this.spare : 0];
  }

  /** Restores a state from getState(); the stream continues exactly where it was saved. */
  setState(state: readonly number[]): void {
    if (state.length !== 6 || state.slice(0, 4).some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new RangeError(`Rng.setState: expected [s0, s1, s2, s3, hasSpare, spare] with 32-bit words, got ${JSON.stringify(state)}`);
    }
    if (state[0] === 0 && state[1] === 0 && state[2] === 0 && state[3] === 0) {
      throw new RangeError('Rng.setState: the all-zero state is not valid for xoshiro128**');
    }
    this.s0 = state[0] | 0;
    this.s1 = state[1] | 0;
    this.s2 = state[2] | 0;
    this.s3 = state[3] | 0;
    this.spare = state[4] ? state[5] : NaN;
  }
}

const defaultRng = new Rng(0);

/** The generator used when an op is not given one (randn, rand, dropout, nn init). */
export function getDefaultRng(): Rng {
  return defaultRng;
}

/** Reseeds the default generator in place (like torch.manual_seed), so holders of getDefaultRng() follow. */
export function manualSeed(seed: number): void {
  defaultRng.seed(seed);
}
