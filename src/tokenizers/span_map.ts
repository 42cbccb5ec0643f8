// A hash table whose keys are spans of a text, text[start, end), looked up without cutting them out.
//
// Encoding and training both ask, about a million times per 4 MB of text, "have I seen this piece before?".
// A Map<string, ...> would need text.slice(start, end) first — an allocation and a copy per piece — before it
// could even hash it. SpanMap hashes the characters where they are and compares them with the stored key, so
// looking up a piece that is already known allocates nothing; only a new piece is sliced, once, to be kept.
//
// Entries get dense indices 0, 1, 2, ... in insertion order, so callers keep their values in plain typed
// arrays indexed by entry (see PieceCache, and the word counts in bpe_trainer.ts). Open addressing with
// linear probing; `slots` holds entry + 1 (0 = empty) and is kept at most half full.

export class SpanMap {
  private slots = new Int32Array(8192);
  private mask = 8191;
  private keys: string[] = [];
  private hashes: Int32Array = new Int32Array(4096);

  /** Number of entries. */
  get size(): number {
    return this.keys.length;
  }

  /** The key of entry i. */
  keyOf(i: number): string {
    return this.keys[i]!;
  }

  /** FNV-1a over the UTF-16 code units of text[start, end). */
  private static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let k = start; k < end; k++) h = Math.imul(h ^ text.charCodeAt(k), 0x01000193);
    return h;
  }

  /** Entry index of text[start, end), or -1. */
  find(text: string, start: number, end: number): number {
    const h = SpanMap.hash(text, start, end);
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const e = this.slots[s]! - 1;
      if (e < 0) return -1;
      if (this.hashes[e] === h && this.sameText(e, text, start, end)) return e;
    }
  }

  /** Entry index of text[start, end), adding it (as a new, last entry) if absent. */
  findOrAdd(text: string, start: number, end: number): number {
    const h = SpanMap.hash(text, start, end);
    let s = h & this.mask;
    for (; ; s = (s + 1) & this.mask) {
      const e = this.slots[s]! - 1;
      if (e < 0) break;
      if (this.hashes[e] === h && this.sameText(e, text, start, end)) return e;
    }
    const e = this.keys.length;
    this.keys.push(text.slice(start, end));
    if (e >= this.hashes.length) {
      const bigger = new Int32Array(this.hashes.length * 2);
      bigger.set(this.hashes);
      this.hashes = bigger;
    }
    this.hashes[e] = h;
    this.slots[s] = e + 1;
    if (2 * (e + 1) > this.slots.length) this.grow();
    return e;
  }

  /** Forget every entry. */
  clear(): void {
    this.slots.fill(0);
    this.keys = [];
  }

  private sameText(e: number, text: string, start: number, end: number): boolean {
    const key = this.keys[e]!;
    const n = end - start;
    if (key.length !== n) return false;
    for (let k = 0; k < n; k++) if (key.charCodeAt(k) !== text.charCodeAt(start + k)) return false;
    return true;
  }

  private grow(): void {
    const cap = this.slots.length * 2;
    this.slots = new Int32Array(cap);
    this.mask = cap - 1;
    for (let e = 0; e < this.keys.length; e++) {
      let s = this.hashes[e]! & this.mask;
      while (this.slots[s] !== 0) s = (s + 1) & this.mask;
      this.slots[s] = e + 1;
    }
  }
}
