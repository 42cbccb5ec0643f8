// Byte-level BPE (GPT-2 family): text → ids → text, exact for any input.
//
// The algorithm, one piece at a time:
//   1. pre-tokenize: split the text into pieces with a regex (GPT-2's by default, see gpt2_pretokenize.ts);
//   2. turn the piece into UTF-8 bytes, and each byte into its token (ids of the 256 single-byte tokens);
//   3. repeatedly merge the adjacent pair of tokens whose merge has the lowest rank (the merge that training
//      learned earliest), until no adjacent pair has a merge. The tokens left are the piece's ids.
// Special tokens such as <|endoftext|> never go through 1-3: they are found in the raw text first and become
// their own id — but only when the caller allows it (see `encode`), because a user's text containing the
// characters "<|endoftext|>" must not silently end a document.
//
// Why it is fast (about 3× gpt-tokenizer, the fastest JavaScript encoder we know; see bench/tokenizer.ts):
//   - pre-tokenization is a hand-written loop over char codes (gpt2PieceEnd) instead of a regex, so no match
//     objects are allocated;
//   - a piece → ids cache: natural text repeats its words, so after a few pages almost every piece is one
//     hash lookup, done on the text in place (PieceCache / SpanMap: no substring is cut for a lookup);
//   - on a cache miss, merges run over an Int32Array of ids with rank lookups in a PairMap (typed-array hash
//     table keyed by the two ids), never building strings; long pieces use a heap so the work is
//     O(n log n), not the O(n²) of rescanning for the minimum after every merge.
//
// ── API contract (used by the Tokenizer class and tokenizer.json code; keep these names and shapes) ──────────
//   new ByteLevelBPE({ vocab, merges, specialTokens?, pattern?, ignoreMerges?, cacheSize? })
//       vocab: Map<string, number>      token in byte-level form ("Ġthe") → id; may include special tokens
//                                        under their raw text ("<|endoftext|>")
//       merges: Array<[string, string]>  byte-level pairs in rank order (rank 0 first)
//       specialTokens: Map<string, number>  raw text → id, e.g. "<|endoftext|>" → 50256
//       pattern: RegExp                  pre-tokenizer (needs the u flag); default GPT2_PATTERN
//   new ByteLevelBPE({ tokenBytes, tokenStarts, mergePairs, mergedIds, ... })   the same, given by ids
//                                        (ByteLevelBPEIdConfig; toIdConfig() gives it back)
//   encode(text, { allowedSpecial?, disallowedSpecial? }): number[]     tiktoken's semantics, see encode()
//   encodeOrdinary(text): number[]                                      special tokens are plain text
//   encodeWithOffsets(text, opts): { ids, offsets }                     UTF-16 [start, end) per token
//   decode(ids): string, decodeBytes(ids): Uint8Array
//   tokenToId(s), idToToken(id), vocabSize, vocab, merges, specialTokens (read-only)
//   static fromVocabMerges(vocabJsonText, mergesTxtText, specialTokens?)   GPT-2's vocab.json + merges.txt
//   toModelJSON() / static fromModelJSON(obj, { specialTokens?, pattern? })   tokenizer.json "model" (BPE)
//
// What it does not do: normalization, add_prefix_space, dropout, continuing-subword prefixes or end-of-word
// suffixes (BERT-style / original-Sennrich BPE), byte fallback. Bytes with no single-byte token in the vocab
// raise an error naming the byte (GPT-2-style vocabularies always have all 256).
//
// Lone surrogates (invalid UTF-16, e.g. "\uD83D" alone) are encoded as the bytes of U+FFFD (EF BF BD), exactly
// what TextEncoder does and what tiktoken sees. decode() therefore returns "\uFFFD" for them; every *valid*
// string round-trips: decode(encode(s)) === s.

import { bytesToByteLevel, bytesToUnicode, byteLevelToBytes } from './byte_level.js';
import { checkPattern, gpt2PieceEnd, isGPT2Pattern, splitWithRegex } from './gpt2_pretokenize.js';
import { PairMap } from './pair_map.js';
import { PieceCache } from './piece_cache.js';

export interface ByteLevelBPEConfig {
  vocab: ReadonlyMap<string, number>;
  merges: ReadonlyArray<readonly [string, string]>;
  specialTokens?: ReadonlyMap<string, number>;
  /** Pre-tokenizer regex (with the `u` flag). Default: GPT2_PATTERN, run by a hand-written scanner. */
  pattern?: RegExp;
  /** Hugging Face's `ignore_merges` (Llama 3): a piece that is itself a vocab token is emitted unmerged. */
  ignoreMerges?: boolean;
  /** Most pieces kept in the piece → ids cache before it is emptied and refilled (default 200 000). */
  cacheSize?: number;
}

/**
 * The same tokenizer given by ids instead of strings (what gpt2() and the trainer build; no string work).
 * Token ids not in tokenBytes (and not special) are unused.
 */
export interface ByteLevelBPEIdConfig {
  /**
   * All tokens' bytes back to back: token `id` stands for tokenBytes[tokenStarts[id], tokenStarts[id + 1]).
   * An empty range marks an unused id, or a special token (whose bytes are its text). Length n + 1 for n ids.
   */
  tokenBytes: Uint8Array;
  tokenStarts: Int32Array;
  /** Merge r (rank order) joins ids mergePairs[2r] and mergePairs[2r + 1] ... */
  mergePairs: Int32Array;
  /** ... into id mergedIds[r]. */
  mergedIds: Int32Array;
  /** Id of the single-byte token for each byte value (-1: none). Default: the first id whose bytes are that byte. */
  byteToId?: Int32Array;
  specialTokens?: ReadonlyMap<string, number>;
  pattern?: RegExp;
  ignoreMerges?: boolean;
  cacheSize?: number;
}

/** What both configs are turned into before the tables are built. */
interface IdForm {
  tokenBytes: Uint8Array;
  tokenStarts: Int32Array;
  mergePairs: Int32Array;
  mergedIds: Int32Array;
  byteToId?: Int32Array;
  idToString?: Array<string | undefined>;
}

/** Which special tokens encode() may turn into their ids (tiktoken's allowed_special / disallowed_special). */
export interface SpecialTokenOptions {
  /** Special tokens to encode as their id when they appear in the text. Default: none. */
  allowedSpecial?: 'all' | ReadonlySet<string>;
  /** Special tokens whose appearance in the text is an error. Default 'all': every one not allowed. */
  disallowedSpecial?: 'all' | ReadonlySet<string>;
}

/** The `model` section of a Hugging Face tokenizer.json for byte-level BPE. */
export interface BPEModelJSON {
  type: 'BPE';
  dropout: null;
  unk_token: null;
  continuing_subword_prefix: null;
  end_of_word_suffix: null;
  fuse_unk: false;
  byte_fallback: false;
  ignore_merges: boolean;
  vocab: Record<string, number>;
  merges: Array<[string, string]>;
}

const NO_RANK = 0x7fffffff; // "no merge for this pair": larger than every real rank
const LONG_PIECE = 48; // pieces with more bytes than this merge with a heap (O(n log n)) instead of rescans
const UNCACHED_PIECE = 256; // pieces longer than this (UTF-16 units) are not cached: they rarely repeat

/**
 * Merge a word in place with the "rescan for the lowest rank" loop (what tiktoken does; fastest for short
 * words). parts[0, n) holds token ids; returns the number of tokens left in parts[0, result).
 * `ranks` maps a pair to its merge rank, `mergedId[rank]` is the token the merge produces. Ties (the same pair
 * twice) merge the leftmost first.
 */
export function mergeWordLinear(parts: Int32Array, n: number, ranks: PairMap, mergedId: Int32Array): number {
  if (n < 2) return n;
  // pairRank[i] = rank of the pair (parts[i], parts[i + 1]), for i in [0, n - 1)
  const pairRank = new Int32Array(n - 1);
  for (let i = 0; i < n - 1; i++) {
    const r = ranks.get(parts[i]!, parts[i + 1]!);
    pairRank[i] = r < 0 ? NO_RANK : r;
  }
  while (n > 1) {
    let best = NO_RANK;
    let at = -1;
    for (let i = 0; i < n - 1; i++) {
      if (pairRank[i]! < best) {
        best = pairRank[i]!;
        at = i;
      }
    }
    if (at < 0) break;
    // Replace parts[at], parts[at + 1] by the merged token; shift everything after it one place left.
    parts[at] = mergedId[best]!;
    for (let k = at + 1; k < n - 1; k++) parts[k] = parts[k + 1]!;
    for (let k = at + 1; k < n - 2; k++) pairRank[k] = pairRank[k + 1]!;
    n--;
    // Only the pairs touching the new token changed: (parts[at - 1], new) and (new, parts[at + 1]).
    if (at < n - 1) {
      const r = ranks.get(parts[at]!, parts[at + 1]!);
      pairRank[at] = r < 0 ? NO_RANK : r;
    }
    if (at > 0) {
      const r = ranks.get(parts[at - 1]!, parts[at]!);
      pairRank[at - 1] = r < 0 ? NO_RANK : r;
    }
  }
  return n;
}

/**
 * Same result as mergeWordLinear, in O(n log n): a doubly linked list of tokens and a min-heap of
 * (rank, position) for every adjacent pair. A popped entry whose pair has since changed is skipped ("lazy
 * deletion"); positions are the original indices, so equal ranks still merge leftmost first.
 */
export function mergeWordHeap(parts: Int32Array, n: number, ranks: PairMap, mergedId: Int32Array): number {
  if (n < 2) return n;
  const next = new Int32Array(n); // next[i]: index of the token after i (n = none)
  const prev = new Int32Array(n); // prev[i]: index of the token before i (-1 = none)
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  // The heap holds at most the n - 1 initial pairs plus 2 new pairs per merge (< n merges): 3n entries.
  const heapRank = new Int32Array(3 * n);
  const heapPos = new Int32Array(3 * n);
  let size = 0;
  const before = (a: number, b: number) =>
    heapRank[a]! < heapRank[b]! || (heapRank[a] === heapRank[b] && heapPos[a]! < heapPos[b]!);
  const swap = (a: number, b: number) => {
    const r = heapRank[a]!;
    heapRank[a] = heapRank[b]!;
    heapRank[b] = r;
    const p = heapPos[a]!;
    heapPos[a] = heapPos[b]!;
    heapPos[b] = p;
  };
  const push = (rank: number, pos: number) => {
    let i = size++;
    heapRank[i] = rank;
    heapPos[i] = pos;
    while (i > 0 && before(i, (i - 1) >> 1)) {
      swap(i, (i - 1) >> 1);
      i = (i - 1) >> 1;
    }
  };
  const popInto = (): void => {
    size--;
    heapRank[0] = heapRank[size]!;
    heapPos[0] = heapPos[size]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && before(l, m)) m = l;
      if (r < size && before(r, m)) m = r;
      if (m === i) break;
      swap(i, m);
      i = m;
    }
  };
  for (let i = 0; i < n - 1; i++) {
    const r = ranks.get(parts[i]!, parts[i + 1]!);
    if (r >= 0) push(r, i);
  }
  const REMOVED = -1;
  while (size > 0) {
    const rank = heapRank[0]!;
    const pos = heapPos[0]!;
    popInto();
    if (parts[pos] === REMOVED) continue;
    const right = next[pos]!;
    if (right >= n) continue;
    if (ranks.get(parts[pos]!, parts[right]!) !== rank) continue; // the pair at pos changed since it was pushed
    parts[pos] = mergedId[rank]!;
    parts[right] = REMOVED;
    next[pos] = next[right]!;
    if (next[pos]! < n) prev[next[pos]!] = pos;
    if (prev[pos]! >= 0) {
      const r = ranks.get(parts[prev[pos]!]!, parts[pos]!);
      if (r >= 0) push(r, prev[pos]!);
    }
    if (next[pos]! < n) {
      const r = ranks.get(parts[pos]!, parts[next[pos]!]!);
      if (r >= 0) push(r, pos);
    }
  }
  let m = 0;
  for (let i = 0; i < n; i = next[i]!) parts[m++] = parts[i]!;
  return m;
}

/** Number of UTF-8 bytes of the code point `cp` (a lone surrogate counts as U+FFFD: 3 bytes). */
function utf8Length(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/**
 * A global regex that finds any of `tokens` in a text, longest first so that a token wins over its own prefix
 * ("<|end|>" over "<|e"). Example: specialTokenRegex(['<|endoftext|>']).exec('a<|endoftext|>').index === 1
 */
export function specialTokenRegex(tokens: Iterable<string>): RegExp {
  const escaped = [...tokens].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(escaped.join('|'), 'g');
}

/** "<|endoftext|>" at index 12 → a readable, quoted token for error messages. */
function quote(s: string): string {
  return JSON.stringify(s);
}

export class ByteLevelBPE {
  /** Special token raw text → id. */
  readonly specialTokens: ReadonlyMap<string, number>;
  /** One past the largest id (ids may have holes; decode rejects them). */
  readonly vocabSize: number;
  readonly ignoreMerges: boolean;
  /** The pre-tokenizer regex given at construction; undefined means GPT2_PATTERN (run by a fast scanner). */
  readonly pattern: RegExp | undefined;

  // Bytes of every token, concatenated: token id's bytes are tokenBytes[byteStart[id], byteStart[id + 1]).
  private readonly tokenBytes: Uint8Array;
  private readonly byteStart: Int32Array;
  private readonly known: Uint8Array; // 1 where the id exists
  private readonly isSpecial: Uint8Array; // 1 where the id is a special token
  private readonly byteToId: Int32Array; // byte value → id of its single-byte token (-1: none)
  private readonly mergePairs: Int32Array; // merge r joins mergePairs[2r] and mergePairs[2r + 1] ...
  private readonly mergedId: Int32Array; // ... into mergedId[r]
  private readonly ranks: PairMap; // (left id, right id) → merge rank
  private readonly splitter: RegExp | undefined; // undefined: use the fast GPT-2 scanner

  // The string views (vocab, merges, id → token) are what loading and saving use, not what encoding uses;
  // a tokenizer built from ids (gpt2(), the trainer) creates them only when first asked.
  private vocabMap: ReadonlyMap<string, number> | undefined;
  private mergeStrings: ReadonlyArray<readonly [string, string]> | undefined;
  private idToString: Array<string | undefined> | undefined;

  private readonly cache: PieceCache; // piece → ids
  private scratchBytes = new Uint8Array(1024);
  private scratchIds = new Int32Array(1024);
  private readonly textEncoder = new TextEncoder();
  private readonly textDecoder = new TextDecoder('utf-8', { ignoreBOM: true }); // keep a leading U+FEFF
  private specialRegexAll: RegExp | undefined;

  /**
   * From strings (vocab + merges, as in vocab.json / merges.txt / tokenizer.json) or from ids (token bytes +
   * merge id pairs, what gpt2() and the trainer produce). Both describe the same thing.
   */
  constructor(config: ByteLevelBPEConfig | ByteLevelBPEIdConfig) {
    const specials = config.specialTokens ?? new Map<string, number>();
    this.specialTokens = specials;
    this.ignoreMerges = config.ignoreMerges ?? false;
    this.cache = new PieceCache(config.cacheSize ?? 200_000);
    this.pattern = config.pattern;
    this.splitter = isGPT2Pattern(config.pattern) ? undefined : checkPattern(config.pattern!, 'ByteLevelBPE');
    const ids = 'tokenBytes' in config ? checkIdConfig(config) : idsFromStrings(config);
    if ('vocab' in config) {
      this.vocabMap = new Map(config.vocab); // copies: later changes to the caller's objects do not leak in
      this.mergeStrings = config.merges.map((m): [string, string] => [m[0], m[1]]);
      this.idToString = ids.idToString;
    }

    let maxId = ids.tokenStarts.length - 2;
    for (const [tok, id] of specials) {
      if (!Number.isInteger(id) || id < 0) throw new Error(`ByteLevelBPE: special token ${quote(tok)} has id ${id}; ids must be integers >= 0`);
      if (tok.length === 0) throw new Error(`ByteLevelBPE: special token with id ${id} is the empty string`);
      if (id > maxId) maxId = id;
    }
    this.vocabSize = maxId + 1;

    // Token bytes, with each special token's text (UTF-8) put in at its id.
    this.isSpecial = new Uint8Array(this.vocabSize);
    const specialBytes = new Map<number, Uint8Array>();
    for (const [tok, id] of specials) {
      specialBytes.set(id, this.textEncoder.encode(tok));
      this.isSpecial[id] = 1;
    }
    const srcBytes = ids.tokenBytes;
    const srcStart = ids.tokenStarts;
    const nSrc = srcStart.length - 1;
    let total = srcBytes.length;
    for (const b of specialBytes.values()) total += b.length;
    this.tokenBytes = new Uint8Array(total);
    this.byteStart = new Int32Array(this.vocabSize + 1);
    this.known = new Uint8Array(this.vocabSize);
    // Copy whole runs of ordinary ids at once (their bytes are contiguous in the source), special tokens between.
    let at = 0;
    let runStart = 0; // first id of the current run of ordinary ids
    const flushRun = (runEnd: number) => {
      const from = srcStart[Math.min(runStart, nSrc)]!;
      const to = srcStart[Math.min(runEnd, nSrc)]!;
      this.tokenBytes.set(srcBytes.subarray(from, to), at);
      for (let id = runStart; id < runEnd; id++) this.byteStart[id] = at + srcStart[Math.min(id, nSrc)]! - from;
      at += to - from;
    };
    for (let id = 0; id < this.vocabSize; id++) {
      const special = specialBytes.get(id);
      if (special === undefined) continue;
      flushRun(id);
      this.byteStart[id] = at;
      this.tokenBytes.set(special, at);
      at += special.length;
      runStart = id + 1;
    }
    flushRun(this.vocabSize);
    this.byteStart[this.vocabSize] = at;
    for (let id = 0; id < this.vocabSize; id++) if (this.byteStart[id + 1]! > this.byteStart[id]!) this.known[id] = 1;

    // The 256 single-byte tokens, where present (a special token never stands in for a byte).
    this.byteToId = ids.byteToId ? Int32Array.from(ids.byteToId) : new Int32Array(256).fill(-1);
    if (ids.byteToId === undefined) {
      for (let id = 0; id < this.vocabSize; id++) {
        const start = this.byteStart[id]!;
        if (this.byteStart[id + 1] !== start + 1 || this.isSpecial[id]) continue;
        const b = this.tokenBytes[start]!;
        if (this.byteToId[b] === -1) this.byteToId[b] = id;
      }
    }

    // Merges: pair of ids → rank, rank → merged id. A pair listed twice keeps its last rank, as Hugging Face
    // and GPT-2's encoder.py (a dict built from the list) both do.
    this.mergePairs = Int32Array.from(ids.mergePairs); // copies: the caller's arrays stay the caller's
    this.mergedId = Int32Array.from(ids.mergedIds);
    const nMerges = this.mergedId.length;
    this.ranks = new PairMap(nMerges);
    for (let r = 0; r < nMerges; r++) this.ranks.set(this.mergePairs[2 * r]!, this.mergePairs[2 * r + 1]!, r);
  }

  /** Byte-level token string → id; includes special tokens (under their raw text), as vocab.json does. */
  get vocab(): ReadonlyMap<string, number> {
    if (this.vocabMap === undefined) {
      const map = new Map<string, number>();
      const strings = this.tokenStrings();
      for (let id = 0; id < this.vocabSize; id++) if (strings[id] !== undefined) map.set(strings[id]!, id);
      this.vocabMap = map;
    }
    return this.vocabMap;
  }

  /** Merges in rank order, as byte-level strings: ["Ġ", "t"] means "Ġ" + "t" → "Ġt". */
  get merges(): ReadonlyArray<readonly [string, string]> {
    if (this.mergeStrings === undefined) {
      const strings = this.tokenStrings();
      const out: Array<[string, string]> = new Array<[string, string]>(this.mergedId.length);
      for (let r = 0; r < out.length; r++) out[r] = [strings[this.mergePairs[2 * r]!]!, strings[this.mergePairs[2 * r + 1]!]!];
      this.mergeStrings = out;
    }
    return this.mergeStrings;
  }

  /** id → token string (byte-level form; a special token's raw text), built on first use. */
  private tokenStrings(): Array<string | undefined> {
    if (this.idToString === undefined) {
      const strings = new Array<string | undefined>(this.vocabSize);
      const specialName = new Map<number, string>();
      for (const [tok, id] of this.specialTokens) specialName.set(id, tok);
      for (let id = 0; id < this.vocabSize; id++) {
        if (!this.known[id]) continue;
        strings[id] = specialName.get(id) ?? bytesToByteLevel(this.tokenBytes.subarray(this.byteStart[id]!, this.byteStart[id + 1]!));
      }
      this.idToString = strings;
    }
    return this.idToString;
  }

  // ── loading and saving ──────────────────────────────────────────────────────────────────────────────────

  /**
   * GPT-2's original files: vocab.json ({"!": 0, ...}) and merges.txt ("#version: 0.2" then "Ġ t" lines).
   * `specialTokens` default: "<|endoftext|>" if the vocab has it.
   * Example: ByteLevelBPE.fromVocabMerges(readFileSync('vocab.json', 'utf8'), readFileSync('merges.txt', 'utf8'))
   */
  static fromVocabMerges(vocabJsonText: string, mergesTxtText: string, specialTokens?: readonly string[]): ByteLevelBPE {
    let parsed: unknown;
    try {
      parsed = JSON.parse(vocabJsonText);
    } catch (e) {
      throw new Error(`ByteLevelBPE.fromVocabMerges: vocab.json is not valid JSON (${(e as Error).message})`);
    }
    const vocab = vocabFromObject(parsed, 'ByteLevelBPE.fromVocabMerges: vocab.json');
    const merges: Array<[string, string]> = [];
    const lines = mergesTxtText.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '' || (i === 0 && line.startsWith('#version'))) continue;
      const parts = line.split(' ');
      if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
        throw new Error(`ByteLevelBPE.fromVocabMerges: merges.txt line ${i + 1} is ${quote(line)}; expected two tokens separated by one space`);
      }
      merges.push([parts[0]!, parts[1]!]);
    }
    const names = specialTokens ?? (vocab.has('<|endoftext|>') ? ['<|endoftext|>'] : []);
    return new ByteLevelBPE({ vocab, merges, specialTokens: specialMap(names, vocab, 'ByteLevelBPE.fromVocabMerges') });
  }

  /**
   * Read the `model` section of a Hugging Face tokenizer.json (type "BPE"). Merges may be "a b" strings
   * (tokenizers < 0.20) or ["a", "b"] pairs (what 0.20+ writes). Special tokens live in tokenizer.json's
   * `added_tokens`, outside this section: pass their names (they must be in the vocab) or a Map.
   */
  static fromModelJSON(
    obj: unknown,
    options: { specialTokens?: readonly string[] | ReadonlyMap<string, number>; pattern?: RegExp } = {},
  ): ByteLevelBPE {
    const who = 'ByteLevelBPE.fromModelJSON';
    if (typeof obj !== 'object' || obj === null) throw new Error(`${who}: expected the "model" object, got ${typeof obj}`);
    const m = obj as Record<string, unknown>;
    if (m['type'] !== undefined && m['type'] !== 'BPE') throw new Error(`${who}: model type is ${quote(String(m['type']))}; expected "BPE"`);
    for (const key of ['dropout', 'continuing_subword_prefix', 'end_of_word_suffix'] as const) {
      if (m[key] !== undefined && m[key] !== null) {
        throw new Error(`${who}: ${key} = ${JSON.stringify(m[key])} is not supported by byte-level BPE (expected null)`);
      }
    }
    if (m['byte_fallback'] === true) throw new Error(`${who}: byte_fallback = true is not supported by byte-level BPE (expected false)`);
    const vocab = vocabFromObject(m['vocab'], `${who}: vocab`);
    const rawMerges = m['merges'];
    if (!Array.isArray(rawMerges)) throw new Error(`${who}: merges is ${typeof rawMerges}; expected an array`);
    const merges: Array<[string, string]> = rawMerges.map((x: unknown, i: number): [string, string] => {
      if (typeof x === 'string') {
        const parts = x.split(' ');
        if (parts.length === 2) return [parts[0]!, parts[1]!];
      } else if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string') {
        return [x[0], x[1]];
      }
      throw new Error(`${who}: merges[${i}] is ${JSON.stringify(x)}; expected "a b" or ["a", "b"]`);
    });
    const st = options.specialTokens;
    const specialTokens = st === undefined ? new Map<string, number>() : isNameList(st) ? specialMap(st, vocab, who) : st;
    return new ByteLevelBPE({ vocab, merges, specialTokens, pattern: options.pattern, ignoreMerges: m['ignore_merges'] === true });
  }

  /** The tokenizer.json `model` section, in the format Hugging Face tokenizers 0.20+ writes (merges as pairs). */
  toModelJSON(): BPEModelJSON {
    // A prototype-free object, so a token literally named "__proto__" is stored as a key like any other.
    const vocab = Object.create(null) as Record<string, number>;
    const strings = this.tokenStrings();
    for (let id = 0; id < this.vocabSize; id++) {
      const s = strings[id];
      if (s !== undefined && this.vocab.get(s) === id) vocab[s] = id;
    }
    return {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: this.ignoreMerges,
      vocab,
      merges: this.merges.map((m): [string, string] => [m[0], m[1]]),
    };
  }

  /** This tokenizer as an id config (typed arrays; cheap to send to a worker thread, see node_parallel.ts). */
  toIdConfig(): ByteLevelBPEIdConfig {
    return {
      tokenBytes: this.tokenBytes,
      tokenStarts: this.byteStart,
      mergePairs: this.mergePairs,
      mergedIds: this.mergedId,
      byteToId: this.byteToId,
      specialTokens: this.specialTokens,
      pattern: this.pattern,
      ignoreMerges: this.ignoreMerges,
    };
  }

  // ── lookups ─────────────────────────────────────────────────────────────────────────────────────────────

  /** Id of a token given in byte-level form ("Ġthe") or of a special token ("<|endoftext|>"). */
  tokenToId(token: string): number | undefined {
    return this.vocab.get(token) ?? this.specialTokens.get(token);
  }

  /** Token string of an id (byte-level form, or a special token's raw text); undefined if there is none. */
  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.tokenStrings()[id] : undefined;
  }

  /** The raw bytes of one token. */
  tokenBytesOf(id: number): Uint8Array {
    this.checkId(id, 'tokenBytesOf');
    return this.tokenBytes.slice(this.byteStart[id]!, this.byteStart[id + 1]!);
  }

  // ── encoding ────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Text → ids, with tiktoken's rules for special tokens:
   *   - `allowedSpecial` (default none): these special tokens, where they appear, become their ids;
   *   - `disallowedSpecial` (default 'all' = every special token not allowed): appearing in the text is an
   *     error that names the token and its index — the safe default for user-supplied text;
   *   - a special token that is neither allowed nor disallowed is encoded as ordinary text.
   * Example: gpt2().encode('hi<|endoftext|>', { allowedSpecial: 'all' }) → [5303, 50256]
   */
  encode(text: string, options: SpecialTokenOptions = {}): number[] {
    const allowed = this.allowedSpecials(options, text, 'encode');
    const out: number[] = [];
    if (allowed.size === 0) {
      this.encodeSegment(text, 0, text.length, out);
      return out;
    }
    const re = this.specialRegex(allowed);
    let pos = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      this.encodeSegment(text, pos, m.index, out);
      out.push(this.specialTokens.get(m[0])!);
      pos = m.index + m[0].length;
    }
    this.encodeSegment(text, pos, text.length, out);
    return out;
  }

  /** Text → ids with every special token treated as plain text (never an error). */
  encodeOrdinary(text: string): number[] {
    const out: number[] = [];
    this.encodeSegment(text, 0, text.length, out);
    return out;
  }

  /**
   * Like encode(), plus the [start, end) span of every token in `text`, in UTF-16 code units (JavaScript string
   * indices). A token that holds only some of the bytes of a character (an emoji split into two tokens, say)
   * gets the span of that whole character, so neighbouring tokens can share a span; a token spanning several
   * characters gets from the first one's start to the last one's end.
   */
  encodeWithOffsets(text: string, options: SpecialTokenOptions = {}): { ids: number[]; offsets: Array<[number, number]> } {
    const allowed = this.allowedSpecials(options, text, 'encodeWithOffsets');
    const ids: number[] = [];
    const offsets: Array<[number, number]> = [];
    let pos = 0;
    if (allowed.size > 0) {
      const re = this.specialRegex(allowed);
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        this.encodeSegmentWithOffsets(text, pos, m.index, ids, offsets);
        ids.push(this.specialTokens.get(m[0])!);
        offsets.push([m.index, m.index + m[0].length]);
        pos = m.index + m[0].length;
      }
    }
    this.encodeSegmentWithOffsets(text, pos, text.length, ids, offsets);
    return { ids, offsets };
  }

  /** Validate the special-token options against the text; return the set of allowed special tokens. */
  private allowedSpecials(options: SpecialTokenOptions, text: string, who: string): ReadonlySet<string> {
    const { allowedSpecial = new Set<string>(), disallowedSpecial = 'all' } = options;
    const allowed: ReadonlySet<string> = allowedSpecial === 'all' ? new Set(this.specialTokens.keys()) : allowedSpecial;
    for (const name of allowed) this.checkSpecialName(name, who, 'allowedSpecial');
    let disallowed: Iterable<string>;
    if (disallowedSpecial === 'all') {
      disallowed = [...this.specialTokens.keys()].filter((s) => !allowed.has(s));
    } else {
      for (const name of disallowedSpecial) this.checkSpecialName(name, who, 'disallowedSpecial');
      disallowed = disallowedSpecial;
    }
    let first = -1;
    let which = '';
    for (const s of disallowed) {
      const at = text.indexOf(s);
      if (at >= 0 && (first < 0 || at < first)) {
        first = at;
        which = s;
      }
    }
    if (first >= 0) {
      throw new Error(
        `ByteLevelBPE.${who}: the text contains the special token ${quote(which)} at index ${first}, and special ` +
          `tokens are disallowed unless allowed. Pass { allowedSpecial: new Set([${quote(which)}]) } (or 'all') ` +
          `to encode it as id ${this.specialTokens.get(which)}, or { disallowedSpecial: new Set() } to encode it as plain text.`,
      );
    }
    return allowed;
  }

  private checkSpecialName(name: string, who: string, option: string): void {
    if (!this.specialTokens.has(name)) {
      const known = [...this.specialTokens.keys()].map(quote).join(', ') || 'none';
      throw new Error(`ByteLevelBPE.${who}: ${option} names ${quote(name)}, which is not a special token (special tokens: ${known})`);
    }
  }

  /** A global regex matching any of `allowed`, longest first so that a token wins over its own prefix. */
  private specialRegex(allowed: ReadonlySet<string>): RegExp {
    const all = allowed.size === this.specialTokens.size;
    if (all && this.specialRegexAll) return this.specialRegexAll;
    const re = specialTokenRegex(allowed);
    if (all) this.specialRegexAll = re;
    return re;
  }

  /** Encode text[start, end) (no special tokens in it) and append the ids to `out`. The hot loop. */
  private encodeSegment(text: string, start: number, end: number, out: number[]): void {
    if (start >= end) return;
    if (this.splitter !== undefined) {
      const segment = start === 0 && end === text.length ? text : text.slice(start, end);
      for (const [a, b] of splitWithRegex(segment, this.splitter)) this.appendPiece(segment.slice(a, b), out);
      return;
    }
    const cache = this.cache;
    let i = start;
    while (i < end) {
      const j = gpt2PieceEnd(text, i, end);
      const v = cache.get(text, i, j);
      if (v === undefined) this.appendUncached(text.slice(i, j), out);
      else if (v >= 0) out.push(v);
      else {
        const pool = cache.pool;
        const o = -1 - v;
        for (let k = 1; k <= pool[o]!; k++) out.push(pool[o + k]!);
      }
      i = j;
    }
  }

  /** Ids of one piece (through the cache), appended to `out`. */
  private appendPiece(piece: string, out: number[]): void {
    const v = this.cache.get(piece, 0, piece.length);
    if (v === undefined) this.appendUncached(piece, out);
    else if (v >= 0) out.push(v);
    else {
      const pool = this.cache.pool;
      const o = -1 - v;
      for (let k = 1; k <= pool[o]!; k++) out.push(pool[o + k]!);
    }
  }

  /** Run BPE on a piece that is not in the cache, append its ids, and cache them. */
  private appendUncached(piece: string, out: number[]): void {
    const n = this.mergePiece(piece);
    const parts = this.scratchIds;
    for (let k = 0; k < n; k++) out.push(parts[k]!);
    if (piece.length <= UNCACHED_PIECE) this.cache.set(piece, parts, n);
  }

  /** BPE on one piece, uncached: leaves its ids in scratchIds[0, result). */
  private mergePiece(piece: string): number {
    // UTF-8 bytes of the piece (ASCII copies directly; encodeInto turns lone surrogates into EF BF BD).
    if (this.scratchBytes.length < piece.length * 3) this.scratchBytes = new Uint8Array(piece.length * 3);
    const bytes = this.scratchBytes;
    let n = 0;
    let ascii = true;
    for (let k = 0; k < piece.length; k++) {
      const c = piece.charCodeAt(k);
      if (c >= 128) {
        ascii = false;
        break;
      }
      bytes[k] = c;
    }
    if (ascii) n = piece.length;
    else n = this.textEncoder.encodeInto(piece, bytes).written;

    if (this.scratchIds.length < n) this.scratchIds = new Int32Array(n);
    const parts = this.scratchIds;
    if (this.ignoreMerges) {
      const whole = this.vocab.get(bytesToByteLevel(bytes.subarray(0, n)));
      if (whole !== undefined) {
        parts[0] = whole;
        return 1;
      }
    }
    for (let k = 0; k < n; k++) {
      const id = this.byteToId[bytes[k]!]!;
      if (id < 0) {
        throw new Error(
          `ByteLevelBPE: the vocab has no token for byte 0x${bytes[k]!.toString(16).padStart(2, '0')} ` +
            `(byte-level character ${quote(bytesToUnicode()[bytes[k]!]!)}), needed to encode ${quote(piece)}`,
        );
      }
      parts[k] = id;
    }
    return n > LONG_PIECE ? mergeWordHeap(parts, n, this.ranks, this.mergedId) : mergeWordLinear(parts, n, this.ranks, this.mergedId);
  }

  /** encodeSegment plus UTF-16 offsets per token. */
  private encodeSegmentWithOffsets(text: string, start: number, end: number, ids: number[], offsets: Array<[number, number]>): void {
    if (start >= end) return;
    const bounds: Array<[number, number]> = [];
    if (this.splitter !== undefined) {
      for (const [a, b] of splitWithRegex(text.slice(start, end), this.splitter)) bounds.push([start + a, start + b]);
    } else {
      for (let i = start; i < end; ) {
        const j = gpt2PieceEnd(text, i, end);
        bounds.push([i, j]);
        i = j;
      }
    }
    const pieceIds: number[] = [];
    for (const [a, b] of bounds) {
      const piece = text.slice(a, b);
      pieceIds.length = 0;
      this.appendPiece(piece, pieceIds);
      // Byte index within the piece → UTF-16 span of the character that byte belongs to.
      const charStart: number[] = [];
      const charEnd: number[] = [];
      for (let k = 0; k < piece.length; ) {
        const cp = piece.codePointAt(k)!;
        const width = cp > 0xffff ? 2 : 1;
        const nb = utf8Length(cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp);
        for (let t = 0; t < nb; t++) {
          charStart.push(a + k);
          charEnd.push(a + k + width);
        }
        k += width;
      }
      let byte = 0;
      for (const id of pieceIds) {
        const len = this.byteStart[id + 1]! - this.byteStart[id]!;
        ids.push(id);
        offsets.push([charStart[byte]!, charEnd[byte + len - 1]!]);
        byte += len;
      }
    }
  }

  // ── decoding ────────────────────────────────────────────────────────────────────────────────────────────

  /** Ids → the exact bytes they stand for (special tokens as their UTF-8 text). */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      this.checkId(id, 'decodeBytes', i);
      total += this.byteStart[id + 1]! - this.byteStart[id]!;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const s = this.byteStart[id]!;
      const e = this.byteStart[id + 1]!;
      out.set(this.tokenBytes.subarray(s, e), at);
      at += e - s;
    }
    return out;
  }

  /**
   * Ids → text. Bytes that are not valid UTF-8 (a prefix of ids that stops inside a character, for example)
   * become U+FFFD, like TextDecoder; for streaming output use StreamDecoder, which waits for the rest.
   */
  decode(ids: ArrayLike<number>): string {
    return this.textDecoder.decode(this.decodeBytes(ids));
  }

  private checkId(id: number, who: string, index?: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.known[id] !== 1) {
      const where = index === undefined ? '' : ` at position ${index}`;
      throw new Error(`ByteLevelBPE.${who}: id ${id}${where} is not a token id (vocab size ${this.vocabSize})`);
    }
  }
}

function isNameList(x: readonly string[] | ReadonlyMap<string, number>): x is readonly string[] {
  return Array.isArray(x);
}

/** A JSON object {token: id} → Map, checking every id is an integer. */
function vocabFromObject(obj: unknown, who: string): Map<string, number> {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error(`${who} must be an object {token: id}`);
  const vocab = new Map<string, number>();
  for (const [tok, id] of Object.entries(obj as Record<string, unknown>)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new Error(`${who}: token ${quote(tok)} has id ${JSON.stringify(id)}; expected an integer >= 0`);
    }
    vocab.set(tok, id);
  }
  return vocab;
}

/** Special token names → Map name → id, each looked up in the vocab. */
function specialMap(names: readonly string[], vocab: ReadonlyMap<string, number>, who: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const name of names) {
    const id = vocab.get(name);
    if (id === undefined) throw new Error(`${who}: special token ${quote(name)} is not in the vocab`);
    map.set(name, id);
  }
  return map;
}

/** Check an id config's shapes. */
function checkIdConfig(config: ByteLevelBPEIdConfig): IdForm {
  const { tokenBytes, tokenStarts, mergePairs, mergedIds } = config;
  const n = tokenStarts.length - 1;
  if (n < 0 || tokenStarts[0] !== 0 || tokenStarts[n] !== tokenBytes.length) {
    throw new Error(`ByteLevelBPE: tokenStarts must run from 0 to tokenBytes.length = ${tokenBytes.length}; got ${tokenStarts[0]} .. ${tokenStarts[n]}`);
  }
  if (mergePairs.length !== 2 * mergedIds.length) {
    throw new Error(`ByteLevelBPE: mergePairs has ${mergePairs.length} entries; expected 2 × mergedIds.length = ${2 * mergedIds.length}`);
  }
  for (let i = 0; i < mergePairs.length; i++) {
    const id = mergePairs[i]!;
    if (id < 0 || id >= n || tokenStarts[id] === tokenStarts[id + 1]) {
      throw new Error(`ByteLevelBPE: merge #${i >> 1} uses id ${id}, which has no token bytes`);
    }
  }
  if (config.byteToId !== undefined && config.byteToId.length !== 256) {
    throw new Error(`ByteLevelBPE: byteToId has ${config.byteToId.length} entries; expected 256`);
  }
  return { tokenBytes, tokenStarts, mergePairs, mergedIds, byteToId: config.byteToId };
}

/**
 * Strings → ids: each vocab token back to bytes through the byte-level alphabet (or, for a token with
 * characters outside it, its UTF-8 — Hugging Face's ByteLevel decoder does the same), merges to id pairs.
 */
function idsFromStrings(config: ByteLevelBPEConfig): IdForm {
  const { vocab, merges } = config;
  const specials = config.specialTokens ?? new Map<string, number>();
  const encoder = new TextEncoder();
  let maxId = -1;
  for (const [tok, id] of vocab) {
    if (!Number.isInteger(id) || id < 0) throw new Error(`ByteLevelBPE: vocab entry ${quote(tok)} has id ${id}; ids must be integers >= 0`);
    if (id > maxId) maxId = id;
  }
  const idToString = new Array<string | undefined>(maxId + 1);
  const bytesOf = new Array<Uint8Array | undefined>(maxId + 1);
  let total = 0;
  for (const [tok, id] of vocab) {
    const seen = idToString[id];
    if (seen !== undefined) throw new Error(`ByteLevelBPE: id ${id} is used by both ${quote(seen)} and ${quote(tok)} in the vocab`);
    idToString[id] = tok;
    const b = byteLevelToBytes(tok) ?? encoder.encode(tok);
    bytesOf[id] = b;
    total += b.length;
  }
  const tokenBytes = new Uint8Array(total);
  const tokenStarts = new Int32Array(maxId + 2);
  let at = 0;
  for (let id = 0; id <= maxId; id++) {
    tokenStarts[id] = at;
    const b = bytesOf[id];
    if (b !== undefined) {
      tokenBytes.set(b, at);
      at += b.length;
    }
  }
  tokenStarts[maxId + 1] = at;
  for (const [tok, id] of specials) {
    const seen = idToString[id];
    if (seen !== undefined && seen !== tok) {
      throw new Error(`ByteLevelBPE: special token ${quote(tok)} has id ${id}, which the vocab gives to ${quote(seen)}`);
    }
    idToString[id] = tok;
  }
  // Bytes are encoded through their alphabet character, as the byte-level pre-tokenizer does ("Ġ" for 0x20,
  // even if some other token happens to decode to a lone space).
  const byteToId = new Int32Array(256).fill(-1);
  const alphabet = bytesToUnicode();
  for (let b = 0; b < 256; b++) {
    const id = vocab.get(alphabet[b]!);
    if (id !== undefined && !specials.has(alphabet[b]!)) byteToId[b] = id;
  }
  const mergePairs = new Int32Array(2 * merges.length);
  const mergedIds = new Int32Array(merges.length);
  for (let r = 0; r < merges.length; r++) {
    const m = merges[r]!;
    const a = vocab.get(m[0]);
    const b = vocab.get(m[1]);
    const ab = vocab.get(m[0] + m[1]);
    if (a === undefined || b === undefined || ab === undefined) {
      const missing = a === undefined ? m[0] : b === undefined ? m[1] : m[0] + m[1];
      throw new Error(`ByteLevelBPE: merge #${r} (${quote(m[0])} ${quote(m[1])}) uses ${quote(missing)}, which is not in the vocab`);
    }
    mergePairs[2 * r] = a;
    mergePairs[2 * r + 1] = b;
    mergedIds[r] = ab;
  }
  return { tokenBytes, tokenStarts, mergePairs, mergedIds, byteToId, idToString };
}
