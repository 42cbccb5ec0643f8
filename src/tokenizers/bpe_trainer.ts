// Train a byte-level BPE tokenizer: learn which adjacent tokens to merge, most frequent first.
//
// The textbook algorithm: start with one token per byte; count every adjacent pair of tokens in the corpus;
// add the most frequent pair as a new token and replace it everywhere; repeat until the vocabulary has
// vocabSize tokens. Done literally, each of the ~30 000 rounds rescans the whole corpus. The fast version
// (Hugging Face's BpeTrainer, SentencePiece) rests on three observations:
//   1. Pairs never cross piece boundaries, and text repeats its words: count each distinct pre-tokenized piece
//      ("word") once, with its frequency. 11.8 MB of English is ~2.9 M pieces but only ~66 000 distinct ones.
//   2. Merging (a, b) → ab changes only the pairs next to each occurrence: (x, a) and (b, y) lose the word's
//      count, (x, ab) and (ab, y) gain it. So pair counts are updated incrementally, and only in the words that
//      contain (a, b) — we keep, for every pair, the list of words where it occurs.
//   3. The most frequent pair comes from a priority queue (binary max-heap). Counts that dropped leave stale,
//      too-high entries in the heap; a popped entry is checked against the true count and pushed back if it
//      was stale ("lazy deletion"). Counts never grow except for brand-new pairs (every pair that gains count
//      contains the token just created), which are pushed once, when they appear.
//
// Token ids: special tokens first (0, 1, ...), then the 256 bytes in GPT-2's order (the byte-level alphabet
// sorted by character, as Hugging Face does), then one id per merge, in the order learned — the layout of a
// tokenizer.json written by Hugging Face's trainer.
//
// Deterministic tie-breaking: among pairs with the same count, the pair (left id, right id) that is smallest
// (compare left ids, then right ids) is merged first — Hugging Face's rule. Given the same word counts, this
// trainer learns the same merges as Hugging Face's BpeTrainer (a test checks this).
//
// Streaming: feed() takes one document at a time and keeps only the word counts, so a multi-GB corpus is never
// in memory at once. Pieces never span two feed() calls (each call is pre-tokenized on its own); to stream a
// big file, cut it where a piece boundary is certain — node_files.ts cuts before a "\n" that follows a
// non-space character, which is exact for GPT-2's pattern.

import { ByteLevelBPE, specialTokenRegex } from './bpe.js';
import { bytesToUnicode } from './byte_level.js';
import { checkPattern, gpt2PieceEnd, isGPT2Pattern, splitWithRegex } from './gpt2_pretokenize.js';
import { PairMap } from './pair_map.js';
import { SpanMap } from './span_map.js';

export interface TrainBPEOptions {
  /** Total tokens: 256 bytes + merges + special tokens. The trainer reaches it exactly, or throws. */
  vocabSize: number;
  /** A pair must occur at least this often to be merged (default 2; Hugging Face's default is 0). */
  minFrequency?: number;
  /** Added with ids 0, 1, ...; never split, never merged. Their text in the corpus is skipped, not counted. */
  specialTokens?: readonly string[];
  /** Pre-tokenizer (needs the u flag). Default GPT-2's pattern. The trained tokenizer uses the same one. */
  pattern?: RegExp;
  /** Called now and then: while counting ('count': documents and characters seen) and merging ('merge'). */
  onProgress?: (p: TrainProgress) => void;
  /** If the corpus runs out of pairs (at minFrequency) before vocabSize, return the smaller vocab instead of throwing. */
  allowSmallerVocab?: boolean;
}

export interface TrainProgress {
  phase: 'count' | 'merge';
  /** 'count': characters fed so far (bytes read, from trainBPEFromFiles); 'merge': merges learned so far. */
  done: number;
  /** 'count': 0 = unknown (total bytes, from trainBPEFromFiles); 'merge': merges needed. */
  total: number;
}

/**
 * Incremental trainer: feed() documents, then finish(). trainBPE() below wraps it for (async) iterables.
 * Example:
 *   const t = new BPETrainer({ vocabSize: 1000, specialTokens: ['<|endoftext|>'] });
 *   for (const doc of docs) t.feed(doc);
 *   const tok = t.finish();
 */
export class BPETrainer {
  private readonly options: TrainBPEOptions & { minFrequency: number; specialTokens: readonly string[]; allowSmallerVocab: boolean };
  private readonly splitter: RegExp | undefined; // undefined: GPT-2's fast scanner
  private readonly specialRegex: RegExp | undefined;
  private readonly pieces = new SpanMap(); // distinct pieces seen, as dense entries 0, 1, ...
  private pieceCount: Float64Array = new Float64Array(4096); // entry → how many times it occurs
  private charsFed = 0;
  private nextProgress = 0;
  private finished = false;

  constructor(options: TrainBPEOptions) {
    const { vocabSize, minFrequency = 2, specialTokens = [], allowSmallerVocab = false } = options;
    if (!Number.isInteger(vocabSize) || vocabSize < 256 + specialTokens.length) {
      throw new Error(
        `BPETrainer: vocabSize ${vocabSize} is too small; it must be an integer >= 256 (one token per byte) + ` +
          `${specialTokens.length} special tokens = ${256 + specialTokens.length}`,
      );
    }
    if (!Number.isFinite(minFrequency) || minFrequency < 0) throw new Error(`BPETrainer: minFrequency ${minFrequency} must be a number >= 0`);
    const seen = new Set<string>();
    for (const s of specialTokens) {
      if (s.length === 0) throw new Error('BPETrainer: a special token is the empty string');
      if (seen.has(s)) throw new Error(`BPETrainer: special token ${JSON.stringify(s)} is listed twice`);
      seen.add(s);
    }
    this.options = { vocabSize, minFrequency, specialTokens, allowSmallerVocab, pattern: options.pattern, onProgress: options.onProgress };
    this.splitter = isGPT2Pattern(options.pattern) ? undefined : checkPattern(options.pattern!, 'BPETrainer');
    this.specialRegex = specialTokens.length === 0 ? undefined : specialTokenRegex(specialTokens);
  }

  /** Number of distinct pre-tokenized pieces counted so far. */
  get distinctWords(): number {
    return this.pieces.size;
  }

  /** Count the pieces of one document (special tokens in it are cut out, not counted). */
  feed(text: string): void {
    if (this.finished) throw new Error('BPETrainer.feed: finish() was already called; make a new trainer');
    if (this.specialRegex === undefined) this.countPieces(text, 0, text.length);
    else {
      let pos = 0;
      this.specialRegex.lastIndex = 0;
      for (let m = this.specialRegex.exec(text); m !== null; m = this.specialRegex.exec(text)) {
        this.countPieces(text, pos, m.index);
        pos = m.index + m[0].length;
      }
      this.countPieces(text, pos, text.length);
    }
    this.charsFed += text.length;
    if (this.options.onProgress && this.charsFed >= this.nextProgress) {
      this.options.onProgress({ phase: 'count', done: this.charsFed, total: 0 });
      this.nextProgress = this.charsFed + (1 << 20);
    }
  }

  private countPieces(text: string, start: number, end: number): void {
    if (this.splitter === undefined) {
      for (let i = start; i < end; ) {
        const j = gpt2PieceEnd(text, i, end);
        this.countOne(text, i, j);
        i = j;
      }
    } else {
      const segment = text.slice(start, end);
      for (const [a, b] of splitWithRegex(segment, this.splitter)) this.countOne(segment, a, b);
    }
  }

  private countOne(text: string, start: number, end: number): void {
    const e = this.pieces.findOrAdd(text, start, end);
    if (e >= this.pieceCount.length) {
      const bigger = new Float64Array(this.pieceCount.length * 2);
      bigger.set(this.pieceCount);
      this.pieceCount = bigger;
    }
    this.pieceCount[e]++;
  }

  /** Learn the merges and build the tokenizer. */
  finish(): ByteLevelBPE {
    if (this.finished) throw new Error('BPETrainer.finish: already called; make a new trainer');
    this.finished = true;
    const { vocabSize, minFrequency, specialTokens, allowSmallerVocab, onProgress } = this.options;
    const nSpecial = specialTokens.length;
    const targetMerges = vocabSize - nSpecial - 256;

    // Byte b gets id nSpecial + (its position in GPT-2's order: byte-level characters sorted by code point).
    const alphabet = bytesToUnicode();
    const byOrder = [...Array(256).keys()].sort((x, y) => alphabet[x]!.charCodeAt(0) - alphabet[y]!.charCodeAt(0));
    const byteId = new Int32Array(256);
    byOrder.forEach((b, k) => (byteId[b] = nSpecial + k));

    const words = Words.fromPieces(this.pieces, this.pieceCount, byteId);
    this.pieces.clear(); // the words hold everything now
    const merger = new Merger(words, nSpecial + 256);
    const progressEvery = Math.max(1, Math.floor(targetMerges / 100));
    let learned = 0;
    while (learned < targetMerges) {
      const ok = merger.mergeBest(Math.max(minFrequency, 1));
      if (!ok) break;
      learned++;
      if (onProgress && (learned % progressEvery === 0 || learned === targetMerges)) {
        onProgress({ phase: 'merge', done: learned, total: targetMerges });
      }
    }
    if (learned < targetMerges && !allowSmallerVocab) {
      const reach = 256 + nSpecial + learned;
      throw new Error(
        `trainBPE: the corpus supports only ${learned} merges with minFrequency ${minFrequency} (no remaining pair ` +
          `occurs ${Math.max(minFrequency, 1)} or more times), so the vocabulary can reach ${reach} tokens ` +
          `(256 bytes + ${nSpecial} special + ${learned} merges), not vocabSize ${vocabSize}. Use vocabSize <= ${reach}, ` +
          `a lower minFrequency, more text, or { allowSmallerVocab: true }.`,
      );
    }
    return merger.toTokenizer(byOrder, specialTokens, this.options.pattern);
  }
}

/**
 * Train from documents (strings), synchronously or from an async source such as a file stream.
 * Example: const tok = await trainBPE(['some text', 'more text'], { vocabSize: 300, minFrequency: 1 });
 * Each string is pre-tokenized on its own; see node_files.ts (trainBPEFromFiles) for files of any size.
 */
export async function trainBPE(input: Iterable<string> | AsyncIterable<string>, options: TrainBPEOptions): Promise<ByteLevelBPE> {
  const trainer = new BPETrainer(options);
  for await (const text of input) trainer.feed(text);
  return trainer.finish();
}

/**
 * The distinct words as arrays of token ids, all in one Int32Array: word w's symbols are
 * sym[meta[2w], meta[2w] + meta[2w + 1]) (start, length side by side: one memory access finds both); merging
 * shortens the length in place. count[w] is how often the word occurs.
 */
class Words {
  constructor(
    readonly sym: Int32Array,
    readonly meta: Int32Array,
    readonly count: Float64Array,
  ) {}

  get size(): number {
    return this.count.length;
  }

  static fromPieces(pieces: SpanMap, pieceCount: Float64Array, byteId: Int32Array): Words {
    // Words of one byte have no pairs and can never change: leave them out.
    const encoder = new TextEncoder();
    let scratch = new Uint8Array(1024);
    const kept: Array<[Uint8Array, number]> = [];
    let total = 0;
    for (let e = 0; e < pieces.size; e++) {
      const piece = pieces.keyOf(e);
      if (scratch.length < piece.length * 3) scratch = new Uint8Array(piece.length * 3);
      const n = encoder.encodeInto(piece, scratch).written;
      if (n < 2) continue;
      kept.push([scratch.slice(0, n), pieceCount[e]!]);
      total += n;
    }
    const sym = new Int32Array(total);
    const meta = new Int32Array(2 * kept.length);
    const count = new Float64Array(kept.length);
    let at = 0;
    kept.forEach(([bytes, c], w) => {
      meta[2 * w] = at;
      meta[2 * w + 1] = bytes.length;
      count[w] = c;
      for (let k = 0; k < bytes.length; k++) sym[at + k] = byteId[bytes[k]!]!;
      at += bytes.length;
    });
    return new Words(sym, meta, count);
  }
}

/** Growable Int32Array / Float64Array helpers (typed arrays cannot grow in place). */
function growInt32(a: Int32Array, need: number): Int32Array {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}
function growFloat64(a: Float64Array, need: number): Float64Array {
  if (need <= a.length) return a;
  const b = new Float64Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** The merge loop: pair counts, pair → words index, the max-heap. */
class Merger {
  private readonly words: Words;
  private readonly pairIndex: PairMap; // (left, right) → pair number p
  // Per pair p: its two ids, its current count, and the head of its list of words (-1 = empty).
  private pLeft: Int32Array = new Int32Array(1 << 16);
  private pRight: Int32Array = new Int32Array(1 << 16);
  private pCount: Float64Array = new Float64Array(1 << 16);
  private pHead: Int32Array = new Int32Array(1 << 16);
  private pRound: Int32Array = new Int32Array(1 << 16); // last round in which the pair gained count (to push it once)
  private pLastWord: Int32Array = new Int32Array(1 << 16); // last word added to its list (to avoid listing a word twice)
  private nPairs = 0;
  // Lists of words as linked entries: entry e says "word entWord[e]", and entNext[e] is the next entry.
  private entWord: Int32Array = new Int32Array(1 << 20);
  private entNext: Int32Array = new Int32Array(1 << 20);
  private nEnt = 0;
  // Max-heap of (count when pushed, pair).
  private heapCount: Float64Array = new Float64Array(1 << 16);
  private heapPair: Int32Array = new Int32Array(1 << 16);
  private heapSize = 0;
  // Learned merges: merge r joins mergeLeft[r] and mergeRight[r] into id firstMergeId + r.
  private readonly firstMergeId: number;
  readonly mergeLeft: number[] = [];
  readonly mergeRight: number[] = [];
  private round = 0;
  private created: number[] = []; // pairs that gained count in this round

  constructor(words: Words, firstMergeId: number) {
    this.words = words;
    this.firstMergeId = firstMergeId;
    const { sym, meta, count } = words;
    this.pairIndex = new PairMap(Math.max(1024, sym.length >> 3));
    // Initial counts: every adjacent pair in every word, weighted by the word's count.
    for (let w = 0; w < words.size; w++) {
      const s = meta[2 * w]!;
      const end = s + meta[2 * w + 1]!;
      for (let i = s; i < end - 1; i++) this.addToPair(sym[i]!, sym[i + 1]!, w, count[w]!);
    }
    this.groupEntriesByPair();
    for (let p = 0; p < this.nPairs; p++) this.heapPush(this.pCount[p]!, p);
  }

  /**
   * Lay the initial word lists out pair by pair (a counting sort of the entries). Walking a pair's list then
   * reads consecutive memory instead of hopping across the whole entry array — the merge loop is bound by
   * memory latency, not arithmetic, so this matters more than any instruction count.
   */
  private groupEntriesByPair(): void {
    const length = new Int32Array(this.nPairs);
    for (let p = 0; p < this.nPairs; p++) for (let e = this.pHead[p]!; e >= 0; e = this.entNext[e]!) length[p]++;
    const word = new Int32Array(Math.max(this.nEnt, 1 << 16));
    const next = new Int32Array(word.length);
    let at = 0;
    for (let p = 0; p < this.nPairs; p++) {
      // Entries of p become word[at .. at + length[p]), each pointing to the one after it.
      let k = at;
      for (let e = this.pHead[p]!; e >= 0; e = this.entNext[e]!) {
        word[k] = this.entWord[e]!;
        next[k] = k + 1;
        k++;
      }
      if (k > at) next[k - 1] = -1;
      this.pHead[p] = k > at ? at : -1;
      at = k;
    }
    this.entWord = word;
    this.entNext = next;
  }

  /** Pair number of (a, b), creating it if new. */
  private pairOf(a: number, b: number): number {
    let p = this.pairIndex.get(a, b);
    if (p >= 0) return p;
    p = this.nPairs++;
    if (p >= this.pLeft.length) {
      const n = p + 1;
      this.pLeft = growInt32(this.pLeft, n);
      this.pRight = growInt32(this.pRight, n);
      this.pCount = growFloat64(this.pCount, n);
      this.pHead = growInt32(this.pHead, n);
      this.pRound = growInt32(this.pRound, n);
      this.pLastWord = growInt32(this.pLastWord, n);
    }
    this.pLeft[p] = a;
    this.pRight[p] = b;
    this.pCount[p] = 0;
    this.pHead[p] = -1;
    this.pRound[p] = -1;
    this.pLastWord[p] = -1;
    this.pairIndex.set(a, b, p);
    return p;
  }

  /** (a, b) occurs (once more) in word w, which occurs c times. */
  private addToPair(a: number, b: number, w: number, c: number): number {
    const p = this.pairOf(a, b);
    this.pCount[p] += c;
    if (this.pLastWord[p] !== w) {
      this.pLastWord[p] = w;
      const e = this.nEnt++;
      if (e >= this.entWord.length) {
        this.entWord = growInt32(this.entWord, e + 1);
        this.entNext = growInt32(this.entNext, e + 1);
      }
      this.entWord[e] = w;
      this.entNext[e] = this.pHead[p]!;
      this.pHead[p] = e;
    }
    return p;
  }

  // ── the heap: entry i is above entry j when its count is larger, or equal with a smaller (left, right) ──
  private above(i: number, j: number): boolean {
    const ci = this.heapCount[i]!;
    const cj = this.heapCount[j]!;
    if (ci !== cj) return ci > cj;
    const pi = this.heapPair[i]!;
    const pj = this.heapPair[j]!;
    const li = this.pLeft[pi]!;
    const lj = this.pLeft[pj]!;
    return li !== lj ? li < lj : this.pRight[pi]! < this.pRight[pj]!;
  }

  private swap(i: number, j: number): void {
    const c = this.heapCount[i]!;
    this.heapCount[i] = this.heapCount[j]!;
    this.heapCount[j] = c;
    const p = this.heapPair[i]!;
    this.heapPair[i] = this.heapPair[j]!;
    this.heapPair[j] = p;
  }

  private heapPush(count: number, p: number): void {
    if (this.heapSize >= this.heapCount.length) {
      this.heapCount = growFloat64(this.heapCount, this.heapSize + 1);
      this.heapPair = growInt32(this.heapPair, this.heapSize + 1);
    }
    let i = this.heapSize++;
    this.heapCount[i] = count;
    this.heapPair[i] = p;
    while (i > 0 && this.above(i, (i - 1) >> 1)) {
      this.swap(i, (i - 1) >> 1);
      i = (i - 1) >> 1;
    }
  }

  private heapPop(): void {
    this.heapSize--;
    this.heapCount[0] = this.heapCount[this.heapSize]!;
    this.heapPair[0] = this.heapPair[this.heapSize]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      let m = i;
      if (l < this.heapSize && this.above(l, m)) m = l;
      if (l + 1 < this.heapSize && this.above(l + 1, m)) m = l + 1;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  /** Find the most frequent pair (count >= minCount), merge it everywhere; false when there is none. */
  mergeBest(minCount: number): boolean {
    for (;;) {
      if (this.heapSize === 0) return false;
      const stored = this.heapCount[0]!;
      const p = this.heapPair[0]!;
      const actual = this.pCount[p]!;
      this.heapPop();
      if (stored !== actual) {
        // Stale: the count dropped since this entry was pushed. Put it back with the true count.
        if (actual > 0) this.heapPush(actual, p);
        continue;
      }
      if (actual < minCount) return false;
      this.mergePair(p);
      return true;
    }
  }

  private mergePair(p: number): void {
    const a = this.pLeft[p]!;
    const b = this.pRight[p]!;
    const newId = this.firstMergeId + this.mergeLeft.length;
    this.mergeLeft.push(a);
    this.mergeRight.push(b);
    const round = ++this.round;
    this.created.length = 0;
    const { sym, meta, count } = this.words;
    // Each word is listed at most once per pair (addToPair checks pLastWord), and a stale entry — a word that
    // lost the pair to an earlier merge — simply finds no occurrence below.
    for (let e = this.pHead[p]!; e >= 0; e = this.entNext[e]!) {
      const w = this.entWord[e]!;
      // One pass over the word, copying symbols left and replacing each (a, b) by newId, left to right.
      // For each occurrence: (prev, a) and (b, next) lose c, (prev, new) and (new, next) gain c.
      const s = meta[2 * w]!;
      const end = s + meta[2 * w + 1]!;
      let c = -1; // the word's count, read only if the pair occurs
      let out = s;
      let r = s;
      while (r < end) {
        if (r + 1 < end && sym[r] === a && sym[r + 1] === b) {
          if (c < 0) c = count[w]!;
          if (out > s) {
            const prev = sym[out - 1]!;
            this.pCount[this.pairIndex.get(prev, a)] -= c;
            this.gain(prev, newId, w, c, round);
          }
          if (r + 2 < end) {
            const next = sym[r + 2]!;
            this.pCount[this.pairIndex.get(b, next)] -= c;
            this.gain(newId, next, w, c, round);
          }
          sym[out++] = newId;
          r += 2;
        } else {
          sym[out++] = sym[r++]!;
        }
      }
      meta[2 * w + 1] = out - s;
    }
    this.pCount[p] = 0; // merged: gone from every word
    this.pHead[p] = -1;
    // New pairs enter the heap once, with their count after the whole round.
    for (const q of this.created) if (this.pCount[q]! > 0) this.heapPush(this.pCount[q]!, q);
  }

  private gain(x: number, y: number, w: number, c: number, round: number): void {
    const q = this.addToPair(x, y, w, c);
    if (this.pRound[q] !== round) {
      this.pRound[q] = round;
      this.created.push(q);
    }
  }

  /** The learned merges as a ByteLevelBPE (ids: specials, bytes in `byOrder`, merges). */
  toTokenizer(byOrder: readonly number[], specialTokens: readonly string[], pattern: RegExp | undefined): ByteLevelBPE {
    const nSpecial = specialTokens.length;
    const nMerges = this.mergeLeft.length;
    const n = nSpecial + 256 + nMerges;
    const tokenStarts = new Int32Array(n + 1);
    // Specials have empty ranges here (ByteLevelBPE fills in their text); bytes are one byte each.
    for (let id = nSpecial; id < nSpecial + 256; id++) tokenStarts[id + 1] = tokenStarts[id]! + 1;
    const mergePairs = new Int32Array(2 * nMerges);
    const mergedIds = new Int32Array(nMerges);
    for (let r = 0; r < nMerges; r++) {
      const l = this.mergeLeft[r]!;
      const rt = this.mergeRight[r]!;
      mergePairs[2 * r] = l;
      mergePairs[2 * r + 1] = rt;
      mergedIds[r] = this.firstMergeId + r;
      const id = this.firstMergeId + r;
      tokenStarts[id + 1] = tokenStarts[id]! + (tokenStarts[l + 1]! - tokenStarts[l]!) + (tokenStarts[rt + 1]! - tokenStarts[rt]!);
    }
    const tokenBytes = new Uint8Array(tokenStarts[n]!);
    for (let k = 0; k < 256; k++) tokenBytes[tokenStarts[nSpecial + k]!] = byOrder[k]!;
    for (let r = 0; r < nMerges; r++) {
      const l = mergePairs[2 * r]!;
      const rt = mergePairs[2 * r + 1]!;
      const at = tokenStarts[this.firstMergeId + r]!;
      tokenBytes.copyWithin(at, tokenStarts[l]!, tokenStarts[l + 1]!);
      tokenBytes.copyWithin(at + tokenStarts[l + 1]! - tokenStarts[l]!, tokenStarts[rt]!, tokenStarts[rt + 1]!);
    }
    const specials = new Map<string, number>(specialTokens.map((s, i) => [s, i]));
    return new ByteLevelBPE({ tokenBytes, tokenStarts, mergePairs, mergedIds, specialTokens: specials, pattern });
  }
}
