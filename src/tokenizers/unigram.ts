// Unigram: the subword model of SentencePiece (T5, Marian, ALBERT, XLNet, mBART, XLM-R).
//
// The vocabulary is a list of pieces, each with a score: the log probability of the piece under a unigram
// language model, log p(piece). A word is split into the pieces whose probabilities multiply to the largest
// number, i.e. whose scores ADD to the largest sum:
//
//   best(word) = argmax over segmentations s1 s2 ... sk of   score(s1) + score(s2) + ... + score(sk)
//
// Viterbi finds it in one left-to-right pass. best[i] is the best score of any segmentation of word[0, i):
//
//   best[0] = 0
//   best[j] = max over pieces p = word[i, j) in the vocabulary of   best[i] + score(p)
//
//   "▁hello"   pieces ▁he (-4.1), llo (-5.0), ▁hell (-6.3), o (-2.2), ...
//              ▁he + llo = -9.1   beats   ▁hell + o = -8.5?  no: -8.5 > -9.1, so ["▁hell", "o"]
//
// and following the back-pointers from the end gives the pieces. Every vocabulary piece that starts at i is
// found by walking a trie of the vocabulary from i, so a position costs one step per matching prefix.
//
// A character that no piece covers is unknown: it gets the unknown piece (unk_id) with the score
// min(all scores) - 10 (HF's K_UNK_PENALTY), so the path prefers any real piece, and runs of unknown characters
// are fused into one unknown token. With byte_fallback, an unknown token whose UTF-8 bytes all have byte
// pieces ("<0xE2>", "<0x82>", "<0xAC>") becomes those byte tokens instead (Llama-2 style).
//
// Every detail follows Hugging Face `tokenizers` (models/unigram/model.rs, `encode_optimized`), so that ids are
// identical on the same tokenizer.json: the order in which candidates reach a position (by start, then by
// length) and the strict "greater than" that keeps the earlier one on a tie; the last id of a piece listed
// twice; the unknown penalty; fusing. One more detail decides exact ties: Hugging Face reads the scores of
// tokenizer.json with serde_json's fast float parser, which can land one unit in the last place away from the
// correctly rounded value JavaScript's JSON.parse gives. `fromJSON` reads scores the same way (readScoreAsHF),
// so two segmentations whose scores tie in Rust tie here too.
//
// Offsets: each token reports its [start, end) inside the word in UTF-16 code units; byte-fallback tokens all
// report the range of the unknown text they spell. Lone surrogates (invalid UTF-16) are matched as U+FFFD, the
// character Hugging Face receives for them.
//
// What it does not do: sampling (subword regularization, alpha / nbest_size); the tokenizer pipeline does the
// normalization and the "▁" word marks (normalizers.ts, precompiled.ts, the Metaspace pre-tokenizer).

import { PairMap } from './pair_map.js';
import type { ModelToken } from './wordpiece.js';

/** The tokenizer.json "model" section of a Unigram tokenizer. */
export interface UnigramModelJSON {
  type: 'Unigram';
  unk_id: number | null;
  vocab: Array<[string, number]>;
  byte_fallback: boolean;
}

/** Options of a Unigram model (tokenizer.json names in comments). */
export interface UnigramOptions {
  /** "unk_id": index of the unknown piece; null/undefined: none (then an unknown character is an error). */
  unkId?: number | null;
  /** "byte_fallback": spell unknown text as <0xXX> byte pieces when they are all in the vocabulary. */
  byteFallback?: boolean;
}

/** Hugging Face's K_UNK_PENALTY: the unknown piece scores this much below the lowest score in the vocabulary. */
export const UNK_PENALTY = 10;

/** Most words kept in the word -> tokens cache before it is emptied and refilled. */
const CACHE_LIMIT = 100_000;

// ── reading scores the way Hugging Face does ───────────────────────────────────────────────────────────────

const POW10: number[] = Array.from({ length: 309 }, (_, k) => Number(`1e${k}`));
const U64_MAX = 18446744073709551615n;

/**
 * The number Hugging Face's Rust reader gets for `text` (serde_json without "float_roundtrip"): the decimal
 * digits become an unsigned 64-bit integer m (digits beyond 2^64 are dropped), rounded to a double, then
 * multiplied or divided by the double 10^|e|. Two roundings instead of one, so for some 17-digit numbers the
 * result is one unit in the last place below the correctly rounded value.
 * Example: serdeParseFloat('-13.809099723367499') === -13.8090997233675 (JSON.parse gives -13.809099723367499).
 */
export function serdeParseFloat(text: string): number {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return Number(text);
  const negative = m[1] === '-';
  const intDigits = m[2]!;
  const fracDigits = m[3] ?? '';
  let exponent = Number(m[4] ?? 0);
  let significand = 0n;
  let overflowed = false;
  for (const d of intDigits) {
    if (overflowed) {
      exponent++; // integer digits past the 64-bit range still scale the number
      continue;
    }
    const next = significand * 10n + BigInt(d.charCodeAt(0) - 48);
    if (next > U64_MAX) {
      overflowed = true;
      exponent++;
    } else significand = next;
  }
  for (const d of fracDigits) {
    if (overflowed) break; // fraction digits past the 64-bit range are ignored
    const next = significand * 10n + BigInt(d.charCodeAt(0) - 48);
    if (next > U64_MAX) {
      overflowed = true;
      break;
    }
    significand = next;
    exponent--;
  }
  let f = Number(significand);
  for (;;) {
    const abs = Math.abs(exponent);
    if (abs < POW10.length) {
      if (exponent >= 0) f *= POW10[abs]!;
      else f /= POW10[abs]!;
      break;
    }
    if (f === 0) break;
    if (exponent >= 0) return negative ? -Infinity : Infinity;
    f /= 1e308;
    exponent += 308;
  }
  return negative ? -f : f;
}

/**
 * A score as Hugging Face reads it back from the shortest decimal text of `x` (what JSON.stringify, Python and
 * Rust all write). Example: readScoreAsHF(-13.809099723367499) === -13.8090997233675.
 */
export function readScoreAsHF(x: number): number {
  return Number.isFinite(x) ? serdeParseFloat(String(x)) : x;
}

/**
 * The nearest number to `x` that Hugging Face reads back unchanged from our tokenizer.json, so a model we
 * write and the model it loads score every path the same. Usually x itself; otherwise a neighbour one or two
 * units in the last place away.
 */
export function jsonStableScore(x: number): number {
  if (!Number.isFinite(x)) return x;
  let y = x;
  for (let i = 0; i < 8; i++) {
    const back = readScoreAsHF(y);
    if (back === y) return y;
    y = back;
  }
  return y;
}

// ── the model ──────────────────────────────────────────────────────────────────────────────────────────────

/** True for a UTF-16 unit that is half of a surrogate pair. */
function isSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdfff;
}

/** The string with every lone surrogate replaced by U+FFFD (same length). */
export function toWellFormed(s: string): string {
  let out: string[] | null = null;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isSurrogate(c)) continue;
    const paired = c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff;
    if (paired) {
      i++;
      continue;
    }
    out ??= [];
    out.push(s.slice(from, i), '\ufffd');
    from = i + 1;
  }
  if (out === null) return s;
  out.push(s.slice(from));
  return out.join('');
}

const utf8 = new TextEncoder();

/**
 * The Unigram model. Build it from the tokenizer.json model section (`Unigram.fromJSON`), from a
 * SentencePiece .model (sentencepiece_model.ts), from the trainer (unigram_trainer.ts) or from pieces and
 * scores.
 * Example:
 *   const m = new Unigram([['<unk>', 0], ['a', -1], ['b', -1], ['ab', -1.5]], { unkId: 0 });
 *   m.tokenize('abx')   // "ab" (0..2), then "x" as <unk> (2..3)
 * Does not normalize or split text into words: that is the tokenizer pipeline's job.
 */
export class Unigram {
  readonly type = 'Unigram' as const;
  readonly unkId: number | null;
  readonly byteFallback: boolean;
  /** pieces[id] and scores[id]: the vocabulary in id order. */
  readonly pieces: readonly string[];
  readonly scores: Float64Array;
  /** Lowest score in the vocabulary (NaN scores ignored), and the score of an unknown character. */
  readonly minScore: number;
  readonly unkScore: number;
  private readonly ids = new Map<string, number>();
  // The trie: node 0 is the root; child(node, UTF-16 unit) via `edges`; tokenAt[node] = id ending there or -1.
  private readonly edges: PairMap;
  private readonly tokenAt: Int32Array;
  private readonly cache = new Map<string, readonly ModelToken[]>();

  constructor(vocab: ReadonlyArray<readonly [string, number]>, options: UnigramOptions = {}) {
    const unkId = options.unkId ?? null;
    if (unkId !== null) {
      if (vocab.length === 0) throw new Error('Unigram: the vocabulary is empty, but an unknown piece (unk_id) needs at least one entry');
      if (!Number.isInteger(unkId) || unkId < 0 || unkId >= vocab.length) {
        throw new Error(`Unigram: unk_id ${unkId} is outside the vocabulary of ${vocab.length} pieces`);
      }
    }
    this.unkId = unkId;
    this.byteFallback = options.byteFallback ?? false;
    const pieces: string[] = [];
    this.scores = new Float64Array(vocab.length);
    let min = Infinity;
    vocab.forEach(([piece, score], id) => {
      if (typeof piece !== 'string') throw new Error(`Unigram: vocabulary entry ${id} must be [piece, score], got ${JSON.stringify(vocab[id])}`);
      pieces.push(piece);
      this.scores[id] = score;
      this.ids.set(piece, id); // a piece listed twice keeps its LAST id, as in Hugging Face's map
      if (score < min) min = score; // NaN never compares smaller: ignored, as in Rust
    });
    this.pieces = pieces;
    this.minScore = min;
    this.unkScore = min - UNK_PENALTY;

    // Build the trie over UTF-16 units. (HF's is over UTF-8 bytes; both find exactly the pieces that are
    // prefixes of the rest of the word, in order of length.)
    let units = 0;
    for (const p of pieces) units += p.length;
    this.edges = new PairMap(units + 16);
    const tokenAt: number[] = [-1];
    for (const [piece, id] of this.ids) {
      if (piece.length === 0) continue;
      let node = 0;
      for (let k = 0; k < piece.length; k++) {
        const c = piece.charCodeAt(k);
        let child = this.edges.get(node, c);
        if (child < 0) {
          child = tokenAt.length;
          tokenAt.push(-1);
          this.edges.set(node, c, child);
        }
        node = child;
      }
      tokenAt[node] = id;
    }
    this.tokenAt = Int32Array.from(tokenAt);
  }

  /**
   * Build from the tokenizer.json model section; errors name the offending field. Scores are read as Hugging
   * Face reads them (see the top of this file).
   */
  static fromJSON(obj: Record<string, unknown>): Unigram {
    const vocab = obj.vocab;
    if (!Array.isArray(vocab)) throw new Error('tokenizer.json model Unigram: "vocab" must be a list of [piece, score] pairs');
    const entries: Array<[string, number]> = vocab.map((entry: unknown, i: number) => {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') {
        throw new Error(`tokenizer.json model Unigram: vocab[${i}] must be [piece, score], got ${JSON.stringify(entry)?.slice(0, 80)}`);
      }
      return [entry[0], readScoreAsHF(entry[1])];
    });
    const unk = obj.unk_id;
    if (unk !== undefined && unk !== null && (typeof unk !== 'number' || !Number.isInteger(unk))) {
      throw new Error(`tokenizer.json model Unigram: "unk_id" must be an integer or null, got ${JSON.stringify(unk)}`);
    }
    const bf = obj.byte_fallback;
    if (bf !== undefined && bf !== null && typeof bf !== 'boolean') {
      throw new Error(`tokenizer.json model Unigram: "byte_fallback" must be true or false, got ${JSON.stringify(bf)}`);
    }
    try {
      return new Unigram(entries, { unkId: (unk as number | null | undefined) ?? null, byteFallback: bf ?? false });
    } catch (e) {
      throw new Error(`tokenizer.json model Unigram: ${(e as Error).message}`);
    }
  }

  /** The tokenizer.json model section (pieces in id order, as Hugging Face writes it). */
  toJSON(): UnigramModelJSON {
    return {
      type: 'Unigram',
      unk_id: this.unkId,
      vocab: this.pieces.map((p, id) => [p, Number.isNaN(this.scores[id]) ? 0 : this.scores[id]!] as [string, number]),
      byte_fallback: this.byteFallback,
    };
  }

  /** Number of pieces (ids 0 .. vocabSize - 1). */
  get vocabSize(): number {
    return this.pieces.length;
  }

  /** piece -> id (a piece listed twice maps to its last id). */
  getVocab(): Map<string, number> {
    return new Map(this.ids);
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.pieces[id];
  }

  /**
   * Split one word into its most probable pieces. Offsets are UTF-16 positions inside `word`. The result is
   * frozen (later calls for the same word share it). Throws when a character is unknown and the model has no
   * unk_id, as Hugging Face does.
   * Example: with pieces ▁he, llo, ▁hell, o, ... tokenize("▁hello") gives "▁hell" (0..5), "o" (5..6).
   */
  tokenize(word: string): readonly ModelToken[] {
    const cached = this.cache.get(word);
    if (cached !== undefined) return cached;
    const tokens = Object.freeze(this.tokenizeUncached(word).map((t) => Object.freeze(t)));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    if (word.length <= 64) this.cache.set(word, tokens);
    return tokens;
  }

  /** The best segmentation as [start, end) spans of `word` (UTF-16), unknown runs fused; see `tokenize`. */
  segment(word: string): Array<{ start: number; end: number; unknown: boolean }> {
    const text = toWellFormed(word);
    const n = text.length;
    if (n === 0) return [];
    // bestScore[j], bestStart[j], bestId[j]: the best path ending at unit j and its last piece [start, j).
    const bestScore = new Float64Array(n + 1);
    const bestStart = new Int32Array(n + 1).fill(-1);
    const bestId = new Int32Array(n + 1);
    const { edges, tokenAt, scores } = this;
    for (let i = 0; i < n; ) {
      const charLength = isSurrogate(text.charCodeAt(i)) ? 2 : 1;
      const here = bestScore[i]!;
      let hasSingleChar = false;
      // Every piece that starts at i, shortest first (the walk down the trie).
      let node = 0;
      for (let j = i; j < n; j++) {
        node = edges.get(node, text.charCodeAt(j));
        if (node < 0) break;
        const id = tokenAt[node]!;
        if (id < 0) continue;
        const end = j + 1;
        const candidate = scores[id]! + here;
        if (bestStart[end]! < 0 || candidate > bestScore[end]!) {
          bestScore[end] = candidate;
          bestStart[end] = i;
          bestId[end] = id;
        }
        if (end - i === charLength) hasSingleChar = true;
      }
      if (!hasSingleChar) {
        const end = i + charLength;
        if (this.unkId === null) {
          throw new Error(
            `Unigram: the character ${JSON.stringify(text.slice(i, end))} (U+${text.codePointAt(i)!.toString(16).toUpperCase().padStart(4, '0')}) ` +
              'is not in the vocabulary and the model has no unk_id',
          );
        }
        const candidate = this.unkScore + here;
        if (bestStart[end]! < 0 || candidate > bestScore[end]!) {
          bestScore[end] = candidate;
          bestStart[end] = i;
          bestId[end] = this.unkId;
        }
      }
      i += charLength;
    }
    // Walk back from the end; consecutive unknown pieces become one span.
    const spans: Array<{ start: number; end: number; unknown: boolean }> = [];
    for (let end = n; end > 0; ) {
      const start = bestStart[end]!;
      const unknown = bestId[end] === this.unkId;
      const last = spans[spans.length - 1];
      if (unknown && last !== undefined && last.unknown && last.start === end) last.start = start;
      else spans.push({ start, end, unknown });
      end = start;
    }
    return spans.reverse();
  }

  private tokenizeUncached(word: string): ModelToken[] {
    const text = toWellFormed(word);
    const out: ModelToken[] = [];
    for (const { start, end } of this.segment(text)) {
      const value = text.slice(start, end);
      const id = this.ids.get(value);
      if (id !== undefined) {
        out.push({ id, value, start, end });
        continue;
      }
      // An unknown run (HF looks the fused text up first; it is in the vocabulary only in odd vocabularies).
      if (this.byteFallback) {
        const bytes = utf8.encode(value);
        const byteIds: number[] = [];
        for (const b of bytes) {
          const byteId = this.ids.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
          if (byteId === undefined) break;
          byteIds.push(byteId);
        }
        if (byteIds.length === bytes.length) {
          for (const byteId of byteIds) out.push({ id: byteId, value: this.pieces[byteId]!, start, end });
          continue;
        }
      }
      out.push({ id: this.unkId as number, value, start, end });
    }
    return out;
  }
}
