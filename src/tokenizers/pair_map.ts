// A hash map from a pair of token ids (left, right) to an int, stored in typed arrays.
//
// BPE asks one question over and over: "is there a merge for the adjacent tokens (a, b), and what is its rank?"
// (the encoder) or "which slot counts the pair (a, b)?" (the trainer). A JavaScript Map keyed by strings such
// as "a b" would allocate a string per question; a Map keyed by the number a * V + b works but goes past 2^31
// for V > 46341, where V8 stops using small integers and boxes the key. This open-addressing table keeps the
// keys in two Int32Arrays and probes linearly, so a lookup is a multiply, a shift and one or two array reads.

const EMPTY = -1;

export class PairMap {
  private left: Int32Array;
  private right: Int32Array;
  private values: Int32Array;
  private mask: number;
  private count = 0;

  /** `expected`: about how many pairs will be stored (the table grows past that when needed). */
  constructor(expected = 1024) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2; // keep the load factor at or below 1/2: short probe sequences
    this.left = new Int32Array(cap).fill(EMPTY);
    this.right = new Int32Array(cap);
    this.values = new Int32Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Slot where (a, b) lives or would be inserted. Both ids must be >= 0. */
  private slot(a: number, b: number): number {
    // Mix both ids into 32 bits (multiplicative hashing with odd constants), then keep the low bits.
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    let s = h & this.mask;
    const left = this.left;
    while (left[s] !== EMPTY && (left[s] !== a || this.right[s] !== b)) s = (s + 1) & this.mask;
    return s;
  }

  /** The value stored for (a, b), or -1 when the pair is absent. */
  get(a: number, b: number): number {
    const s = this.slot(a, b);
    return this.left[s] === EMPTY ? -1 : this.values[s]!;
  }

  /** Store `value` (>= 0) for (a, b), replacing any earlier value. */
  set(a: number, b: number, value: number): void {
    let s = this.slot(a, b);
    if (this.left[s] === EMPTY) {
      if ((this.count + 1) * 2 > this.left.length) {
        this.grow();
        s = this.slot(a, b);
      }
      this.left[s] = a;
      this.right[s] = b;
      this.count++;
    }
    this.values[s] = value;
  }

  private grow(): void {
    const { left, right, values } = this;
    const cap = left.length * 2;
    this.left = new Int32Array(cap).fill(EMPTY);
    this.right = new Int32Array(cap);
    this.values = new Int32Array(cap);
    this.mask = cap - 1;
    for (let s = 0; s < left.length; s++) {
      if (left[s] === EMPTY) continue;
      const t = this.slot(left[s]!, right[s]!);
      this.left[t] = left[s]!;
      this.right[t] = right[s]!;
      this.values[t] = values[s]!;
    }
  }
}
