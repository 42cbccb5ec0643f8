// Train a WordPiece vocabulary (BERT-style, "##" continuation pieces) to an exact size.
//
//   1. Normalize and pre-tokenize the corpus exactly as the finished tokenizer will (BertNormalizer +
//      BertPreTokenizer by default) and count each distinct word once, with its frequency.
//   2. Spell every word as characters, the first plain and the rest with the continuation prefix:
//        "hugs" -> h ##u ##g ##s
//      The alphabet (every character, plus the "##" form of each character seen inside a word) starts the
//      vocabulary, after the special tokens.
//   3. Repeatedly merge the best adjacent pair (a, b) into one piece: a+b with b's "##" removed,
//      (h, ##u) -> "hu", (##g, ##s) -> "##gs". Each new piece is one new vocabulary entry.
//   4. Stop when the vocabulary has exactly vocabSize tokens.
//
// "Best" is one of two criteria (option `criterion`):
//   'frequency' (default)   the most frequent pair, count(ab). This is what Hugging Face's WordPieceTrainer
//                           does (it is its BPE trainer with a "##" prefix), and it gives BERT-like
//                           vocabularies: frequent words ("the", "was") become single tokens first.
//   'likelihood'            WordPiece's original criterion (Schuster & Nakajima 2012; Hugging Face course):
//                               score(a, b) = count(ab) / (count(a) · count(b))
//                           the gain in likelihood of a unigram language model when a and b are replaced by
//                           ab. It prefers pairs whose parts rarely occur apart. Beware: on small vocabularies
//                           it spends its budget building rare long words letter by letter ("qualifica",
//                           "qualificat", ...) and leaves frequent words split ("w ##a ##s"); try both and look.
// Counts are occurrences in the current segmentation of the corpus, word frequencies included.
// Either way the output is an ordinary WordPiece vocabulary, used at encode time by greedy longest-match-first.
//
// Determinism: ties are broken by the higher pair count, then by the smaller left token id, then the smaller
// right token id — Hugging Face's rule, with ids laid out as: special tokens, plain characters by code point,
// "##" characters by code point, then merged pieces in the order learned. (Hugging Face numbers the "##"
// characters in hash-map order, so it can break some ties differently from one run to the next; we cannot.)
// The same corpus and options always give the same vocabulary.
//
// Cost: each merge rewrites only the words that contain the pair and re-scores only the pairs whose score
// changed (for 'likelihood' that includes every pair touching a, b or ab), kept in a max-heap with version
// stamps so that outdated entries are skipped when popped.

import { WordPieceDecoder } from './decoders.js';
import { BertNormalizer, NormalizedString, type Normalizer } from './normalizers.js';
import { TemplateProcessing } from './post_processors.js';
import { BertPreTokenizer, WhitespaceSplit, type PreTokenizer } from './pre_tokenizers.js';
import { Tokenizer } from './tokenizer.js';
import { WordPiece } from './wordpiece.js';

/** Options of trainWordPiece / WordPieceTrainer. */
export interface TrainWordPieceOptions {
  /** Total tokens: special tokens + alphabet + merged pieces. Reached exactly, or the trainer throws. */
  vocabSize: number;
  /** A pair must occur at least this often (counting word frequencies) to be merged. Default 2. */
  minFrequency?: number;
  /** Given ids 0, 1, ...; found whole in the text and never split. Default [PAD] [UNK] [CLS] [SEP] [MASK]. */
  specialTokens?: readonly string[];
  /** The unknown token; added to the special tokens if missing. Default "[UNK]". */
  unkToken?: string;
  /** Continuation prefix. Default "##". */
  continuingSubwordPrefix?: string;
  /** Keep only the N most frequent characters; words with other characters are not learned from. */
  limitAlphabet?: number;
  /** Lowercase and strip accents (BERT "uncased"). Default true. */
  lowercase?: boolean;
  /** Normalizer and pre-tokenizer to train with (and to put in the tokenizer). Default BERT's. */
  normalizer?: Normalizer | null;
  preTokenizer?: PreTokenizer | null;
  /** Called now and then: 'count' (characters seen so far) and 'merge' (pieces learned of those needed). */
  onProgress?: (p: { phase: 'count' | 'merge'; done: number; total: number }) => void;
  /** If the corpus runs out of pairs before vocabSize, return the smaller vocabulary instead of throwing. */
  allowSmallerVocab?: boolean;
  /** How the next pair to merge is chosen: 'frequency' (default) or 'likelihood'; see the top of this file. */
  criterion?: 'frequency' | 'likelihood';
}

// ── a max-heap of scored pairs ─────────────────────────────────────────────────────────────────────────────

interface HeapEntry {
  score: number;
  count: number;
  left: number;
  right: number;
  key: number;
  version: number;
}

/** True when x should be merged before y: higher score, then higher count, then smaller (left, right) ids. */
function better(x: HeapEntry, y: HeapEntry): boolean {
  if (x.score !== y.score) return x.score > y.score;
  if (x.count !== y.count) return x.count > y.count;
  if (x.left !== y.left) return x.left < y.left;
  return x.right < y.right;
}

class MaxHeap {
  private readonly items: HeapEntry[] = [];
  get size(): number {
    return this.items.length;
  }
  push(e: HeapEntry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!better(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }
  pop(): HeapEntry | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop() as HeapEntry;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < a.length && better(a[l], a[best])) best = l;
        if (r < a.length && better(a[r], a[best])) best = r;
        if (best === i) break;
        [a[i], a[best]] = [a[best], a[i]];
        i = best;
      }
    }
    return top;
  }
}

// ── the trainer ─────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Runs of the whitespace that BERT's normalizer turns into spaces: Unicode White_Space except \v, \f and U+0085,
 * which are control characters that "clean text" deletes instead (so "a\u0085b" is one word "ab").
 */
const WHITESPACE_RUN = /[\t\n\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
/** Every Unicode White_Space character: what the pre-tokenizers split on when nothing deletes \v \f U+0085. */
const ALL_WHITESPACE_RUN = /[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

const KEY_BASE = 2 ** 24; // pair key = left * KEY_BASE + right (symbol ids stay far below 2^24)

interface PairInfo {
  left: number;
  right: number;
  count: number;
  words: Set<number>;
  version: number;
}

/**
 * Incremental WordPiece trainer: feed() texts, then finish() for the Tokenizer.
 * Example:
 *   const t = new WordPieceTrainer({ vocabSize: 500 });
 *   for (const line of lines) t.feed(line);
 *   const tok = t.finish();  // a BERT-style Tokenizer with a 500-token vocabulary
 */
export class WordPieceTrainer {
  private readonly vocabSize: number;
  private readonly minFrequency: number;
  private readonly specialTokens: string[];
  private readonly unkToken: string;
  private readonly prefix: string;
  private readonly normalizer: Normalizer | null;
  private readonly preTokenizer: PreTokenizer | null;
  private readonly options: TrainWordPieceOptions;
  private readonly wordCounts = new Map<string, number>();
  private readonly chunkCounts = new Map<string, number>(); // raw whitespace-separated chunks (fast path)
  private readonly chunkable: boolean;
  private readonly chunkSplitter: RegExp;
  private charsSeen = 0;
  private nextProgress = 0;

  constructor(options: TrainWordPieceOptions) {
    this.options = options;
    this.minFrequency = options.minFrequency ?? 2;
    this.unkToken = options.unkToken ?? '[UNK]';
    this.prefix = options.continuingSubwordPrefix ?? '##';
    const specials = [...(options.specialTokens ?? ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'])];
    if (!specials.includes(this.unkToken)) specials.push(this.unkToken);
    if (new Set(specials).size !== specials.length) {
      throw new Error(`trainWordPiece: special tokens must be distinct, got ${JSON.stringify(specials)}`);
    }
    this.specialTokens = specials;
    this.vocabSize = options.vocabSize;
    if (!Number.isInteger(this.vocabSize) || this.vocabSize < 1) {
      throw new Error(`trainWordPiece: vocabSize must be a positive integer, got ${options.vocabSize}`);
    }
    if (!Number.isInteger(this.minFrequency) || this.minFrequency < 1) {
      throw new Error(`trainWordPiece: minFrequency must be an integer >= 1, got ${options.minFrequency}`);
    }
    const lowercase = options.lowercase ?? true;
    this.normalizer = options.normalizer === undefined ? new BertNormalizer({ lowercase }) : options.normalizer;
    this.preTokenizer = options.preTokenizer === undefined ? new BertPreTokenizer() : options.preTokenizer;
    this.chunkable =
      (this.normalizer === null || this.normalizer instanceof BertNormalizer) &&
      (this.preTokenizer instanceof BertPreTokenizer || this.preTokenizer instanceof WhitespaceSplit);
    this.chunkSplitter = this.normalizer instanceof BertNormalizer && this.normalizer.cleanText ? WHITESPACE_RUN : ALL_WHITESPACE_RUN;
  }

  /**
   * Count the words of one text. Words never span two feed() calls: feed whole lines or paragraphs.
   * Fast path: with BERT's normalizer (or none) and a pre-tokenizer that splits on whitespace, every
   * whitespace-separated chunk of raw text normalizes and splits on its own, so we only count raw chunks here
   * and normalize each DISTINCT chunk once, in finish(). Real text repeats its words, so this is much cheaper.
   */
  feed(text: string): void {
    // Special tokens are cut out first (as the tokenizer will), so their text is never learned from.
    let pieces = [text];
    for (const s of this.specialTokens) pieces = pieces.flatMap((p) => (p.includes(s) ? p.split(s) : [p]));
    for (const piece of pieces) {
      if (piece.length === 0) continue;
      if (this.chunkable) {
        for (const chunk of piece.split(this.chunkSplitter)) {
          if (chunk.length > 0) this.chunkCounts.set(chunk, (this.chunkCounts.get(chunk) ?? 0) + 1);
        }
      } else this.countWords(piece, 1);
    }
    this.charsSeen += text.length;
    if (this.options.onProgress && this.charsSeen >= this.nextProgress) {
      this.options.onProgress({ phase: 'count', done: this.charsSeen, total: 0 });
      this.nextProgress = this.charsSeen + 1_000_000;
    }
  }

  /** Normalize and pre-tokenize `text`, adding `times` to the count of each word. */
  private countWords(text: string, times: number): void {
    const ns = new NormalizedString(text);
    if (this.normalizer) this.normalizer.normalize(ns);
    const t = ns.normalized;
    const words = this.preTokenizer ? this.preTokenizer.preTokenize(t, [{ start: 0, end: t.length }]) : [{ start: 0, end: t.length }];
    for (const w of words) {
      if (w.end <= w.start) continue;
      const word = t.slice(w.start, w.end);
      this.wordCounts.set(word, (this.wordCounts.get(word) ?? 0) + times);
    }
  }

  /** Learn the vocabulary and return the finished Tokenizer. */
  finish(): Tokenizer {
    const model = this.learn();
    const cls = model.tokenToId('[CLS]');
    const sep = model.tokenToId('[SEP]');
    // BERT's template when [CLS] and [SEP] are among the special tokens; otherwise no special tokens are added.
    const postProcessor =
      cls !== undefined && sep !== undefined
        ? TemplateProcessing.fromStrings('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [
            ['[CLS]', cls],
            ['[SEP]', sep],
          ])
        : null;
    return new Tokenizer({
      model,
      normalizer: this.normalizer,
      preTokenizer: this.preTokenizer,
      postProcessor,
      decoder: new WordPieceDecoder(this.prefix, true),
      addedTokens: this.specialTokens.map((content) => ({
        id: model.tokenToId(content) as number,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      truncation: null,
      padding: null,
    });
  }

  /** The merge loop; returns the WordPiece model. */
  private learn(): WordPiece {
    for (const [chunk, n] of this.chunkCounts) this.countWords(chunk, n);
    this.chunkCounts.clear();
    const prefix = this.prefix;
    // Symbols: id -> token string, and back. Special tokens take the first ids.
    const strings: string[] = [];
    const idOf = new Map<string, number>();
    const intern = (s: string): number => {
      let id = idOf.get(s);
      if (id === undefined) {
        id = strings.length;
        strings.push(s);
        idOf.set(s, id);
      }
      return id;
    };
    for (const s of this.specialTokens) intern(s);

    // The alphabet, optionally limited to the most frequent characters.
    const charFreq = new Map<string, number>();
    for (const [word, c] of this.wordCounts) for (const ch of word) charFreq.set(ch, (charFreq.get(ch) ?? 0) + c);
    let alphabet = [...charFreq.keys()];
    if (this.options.limitAlphabet !== undefined && alphabet.length > this.options.limitAlphabet) {
      alphabet.sort((x, y) => (charFreq.get(y) as number) - (charFreq.get(x) as number) || (x < y ? -1 : x > y ? 1 : 0));
      alphabet = alphabet.slice(0, this.options.limitAlphabet);
    }
    const allowed = new Set(alphabet);
    const byCodePoint = (x: string, y: string): number => (x.codePointAt(0) as number) - (y.codePointAt(0) as number);
    const continuationChars = new Set<string>();
    for (const word of this.wordCounts.keys()) {
      let first = true;
      for (const ch of word) {
        if (!first && allowed.has(ch)) continuationChars.add(ch);
        first = false;
      }
    }
    for (const ch of [...allowed].sort(byCodePoint)) intern(ch);
    for (const ch of [...continuationChars].sort(byCodePoint)) intern(prefix + ch);
    const minimum = strings.length;
    if (this.vocabSize < minimum) {
      throw new Error(
        `trainWordPiece: vocabSize ${this.vocabSize} is too small; the minimum for this corpus is ${minimum} ` +
          `(${this.specialTokens.length} special tokens + ${allowed.size} characters + ${continuationChars.size} "${prefix}" continuation ` +
          `characters). Use a vocabSize of at least ${minimum}${this.options.limitAlphabet === undefined ? ', or limit the alphabet (limitAlphabet, --limit-alphabet)' : ''}.`,
      );
    }

    // Words as symbol-id arrays; words with characters outside the alphabet are left out.
    const words: Int32Array[] = [];
    const freq: number[] = [];
    for (const [word, c] of this.wordCounts) {
      const chars = [...word];
      if (!chars.every((ch) => allowed.has(ch))) continue;
      words.push(Int32Array.from(chars, (ch, i) => idOf.get(i === 0 ? ch : prefix + ch) as number));
      freq.push(c);
    }

    // Symbol counts and pair counts over the corpus.
    let symCount = new Float64Array(Math.max(1024, strings.length * 2));
    const pairs = new Map<number, PairInfo>();
    const pairsOf = new Map<number, Set<number>>(); // symbol -> keys of the pairs it is part of
    const addPair = (a: number, b: number, f: number, w: number, changed: Set<number>): void => {
      const key = a * KEY_BASE + b;
      let p = pairs.get(key);
      if (!p) {
        p = { left: a, right: b, count: 0, words: new Set(), version: 0 };
        pairs.set(key, p);
        for (const s of [a, b]) {
          let set = pairsOf.get(s);
          if (!set) pairsOf.set(s, (set = new Set()));
          set.add(key);
        }
      }
      p.count += f;
      p.words.add(w);
      changed.add(key);
    };
    const removePair = (a: number, b: number, f: number, changed: Set<number>): void => {
      const key = a * KEY_BASE + b;
      const p = pairs.get(key) as PairInfo;
      p.count -= f;
      changed.add(key);
    };
    const initial = new Set<number>();
    words.forEach((sym, w) => {
      const f = freq[w];
      for (let i = 0; i < sym.length; i++) {
        symCount[sym[i]] += f;
        if (i + 1 < sym.length) addPair(sym[i], sym[i + 1], f, w, initial);
      }
    });

    const heap = new MaxHeap();
    const criterion = this.options.criterion ?? 'frequency';
    if (criterion !== 'frequency' && criterion !== 'likelihood') {
      throw new Error(`trainWordPiece: criterion must be 'frequency' or 'likelihood', got ${JSON.stringify(criterion)}`);
    }
    const likelihood = criterion === 'likelihood';
    const mergedString = (p: PairInfo): string => strings[p.left] + strings[p.right].slice(prefix.length);
    const rescore = (key: number): void => {
      const p = pairs.get(key);
      if (!p) return;
      p.version++;
      if (p.count <= 0) {
        // Gone from the corpus: forget it so that pairsOf does not grow without bound.
        pairs.delete(key);
        pairsOf.get(p.left)?.delete(key);
        pairsOf.get(p.right)?.delete(key);
        return;
      }
      if (p.count < this.minFrequency) return;
      heap.push({
        score: likelihood ? p.count / (symCount[p.left] * symCount[p.right]) : p.count,
        count: p.count,
        left: p.left,
        right: p.right,
        key,
        version: p.version,
      });
    };
    for (const key of initial) rescore(key);

    const target = this.vocabSize;
    const needed = target - strings.length;
    let vocabLength = strings.length;
    const report = this.options.onProgress;
    while (vocabLength < target) {
      const top = heap.pop();
      if (!top) break;
      const p = pairs.get(top.key);
      if (!p || p.version !== top.version) continue; // outdated entry
      const a = p.left;
      const b = p.right;
      const merged = mergedString(p);
      const isNew = !idOf.has(merged);
      const m = intern(merged);
      if (isNew) vocabLength++;
      if (symCount.length <= m) {
        const grown = new Float64Array(symCount.length * 2);
        grown.set(symCount);
        symCount = grown;
      }

      // Rewrite every word that contains (a, b), updating pair and symbol counts.
      const changed = new Set<number>();
      for (const w of [...p.words]) {
        const sym = words[w];
        const f = freq[w];
        let hit = false;
        for (let i = 0; i + 1 < sym.length; i++) if (sym[i] === a && sym[i + 1] === b) hit = true;
        if (!hit) {
          p.words.delete(w);
          continue;
        }
        for (let i = 0; i + 1 < sym.length; i++) removePair(sym[i], sym[i + 1], f, changed);
        for (let i = 0; i + 1 < sym.length; i++) pairs.get(sym[i] * KEY_BASE + sym[i + 1])?.words.delete(w);
        const out: number[] = [];
        for (let i = 0; i < sym.length; ) {
          if (i + 1 < sym.length && sym[i] === a && sym[i + 1] === b) {
            out.push(m);
            symCount[a] -= f;
            symCount[b] -= f;
            symCount[m] += f;
            i += 2;
          } else {
            out.push(sym[i]);
            i++;
          }
        }
        const next = Int32Array.from(out);
        words[w] = next;
        for (let i = 0; i + 1 < next.length; i++) addPair(next[i], next[i + 1], f, w, changed);
      }
      // With 'likelihood', the score of every pair touching a, b or m changed with their symbol counts.
      if (likelihood) for (const s of [a, b, m]) for (const key of pairsOf.get(s) ?? []) changed.add(key);
      for (const key of changed) rescore(key);

      if (report && (vocabLength % 100 === 0 || vocabLength === target)) {
        report({ phase: 'merge', done: needed - (target - vocabLength), total: needed });
      }
    }

    if (vocabLength < target && !this.options.allowSmallerVocab) {
      throw new Error(
        `trainWordPiece: the corpus supports only ${vocabLength} tokens at minFrequency ${this.minFrequency} ` +
          `(no pair of pieces occurs ${this.minFrequency} times any more), short of vocabSize ${target}. ` +
          `Use a vocabSize of at most ${vocabLength}, a lower minFrequency, or more text.`,
      );
    }
    const vocab = new Map<string, number>();
    strings.forEach((s, id) => vocab.set(s, id));
    return new WordPiece(vocab, { unkToken: this.unkToken, continuingSubwordPrefix: prefix });
  }
}

/**
 * Train a WordPiece tokenizer from texts (each string is one document; lines or paragraphs are fine).
 * Example: `const tok = await trainWordPiece(lines, { vocabSize: 8000 })`.
 * Returns a BERT-style Tokenizer ([CLS] $A [SEP] when [CLS] and [SEP] are among the special tokens).
 */
export async function trainWordPiece(input: Iterable<string> | AsyncIterable<string>, options: TrainWordPieceOptions): Promise<Tokenizer> {
  const trainer = new WordPieceTrainer(options);
  for await (const text of input) trainer.feed(text);
  return trainer.finish();
}
