// WordPiece: the subword model of BERT.
//
// A vocabulary holds whole words ("hello"), word beginnings ("un") and word continuations, written with a
// "##" prefix ("##aff", "##able"). A word is split greedily, longest match first, left to right:
//
//   "unaffable"  ->  "un"? no: the longest vocabulary entry that starts the word is "una"
//                ->  "una", then the longest "##..." entry for "ffable": "##ffa", then "##ble"
//                ->  ["una", "##ffa", "##ble"]
//
// If at some position no entry matches, the WHOLE word becomes [UNK] (not just the unmatched part), and so does
// any word longer than `maxInputCharsPerWord` (100) characters. Characters are counted as code points.
// This matches Google's original BERT tokenizer and Hugging Face's `WordPiece` model.
//
// Input words come from the pre-tokenizer (already lowercased and split on spaces and punctuation for BERT).
// The model returns, per token, its id, its string and its [start, end) range inside the word, in UTF-16 code
// units; the tokenizer maps those back to the original text.

/** A token produced by a model for one word; start/end are UTF-16 offsets inside that word. */
export interface ModelToken {
  id: number;
  value: string;
  start: number;
  end: number;
}

/** Options of a WordPiece model (tokenizer.json names in comments). */
export interface WordPieceOptions {
  /** "unk_token": the token for words that cannot be split. Default "[UNK]". */
  unkToken?: string;
  /** "continuing_subword_prefix": marks pieces that continue a word. Default "##". */
  continuingSubwordPrefix?: string;
  /** "max_input_chars_per_word": longer words become [UNK]. Default 100. */
  maxInputCharsPerWord?: number;
}

/** The tokenizer.json "model" section of a WordPiece tokenizer. */
export interface WordPieceModelJSON {
  type: 'WordPiece';
  unk_token: string;
  continuing_subword_prefix: string;
  max_input_chars_per_word: number;
  vocab: Record<string, number>;
}

/** Most words kept in the word -> tokens cache before it is emptied and refilled. */
const CACHE_LIMIT = 100_000;

/** Count code points (surrogate pairs count once). */
function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) n++;
    else {
      const d = s.charCodeAt(i + 1);
      n++;
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}

/**
 * The WordPiece model. Build it from a vocab.txt (`WordPiece.fromVocabTxt`), from the tokenizer.json model
 * section (`WordPiece.fromJSON`) or from a token -> id map.
 * Example: `new WordPiece(new Map([['[UNK]', 0], ['un', 1], ['##able', 2]])).tokenize('unable')`
 *          gives tokens "un" (0..2) and "##able" (2..6).
 * Does not normalize or split text into words: that is the tokenizer pipeline's job.
 */
export class WordPiece {
  readonly type = 'WordPiece' as const;
  readonly unkToken: string;
  readonly continuingSubwordPrefix: string;
  readonly maxInputCharsPerWord: number;
  private readonly vocab: Map<string, number>;
  private readonly idToTokenTable: Array<string | undefined>;
  /** Longest vocabulary entry in UTF-16 units (without the ## prefix): no match can be longer. */
  private readonly longestPiece: number;
  /** word -> its tokens, for words seen before. */
  private readonly cache = new Map<string, readonly ModelToken[]>();

  constructor(vocab: ReadonlyMap<string, number> | Record<string, number>, options: WordPieceOptions = {}) {
    this.unkToken = options.unkToken ?? '[UNK]';
    this.continuingSubwordPrefix = options.continuingSubwordPrefix ?? '##';
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    if (!Number.isInteger(this.maxInputCharsPerWord) || this.maxInputCharsPerWord < 1) {
      throw new Error(`WordPiece: maxInputCharsPerWord must be a positive integer, got ${this.maxInputCharsPerWord}`);
    }
    const entries: Array<[string, number]> = vocab instanceof Map ? [...vocab.entries()] : Object.entries(vocab);
    this.vocab = new Map();
    this.idToTokenTable = [];
    let longest = 0;
    for (const [token, id] of entries) {
      if (!Number.isInteger(id) || id < 0) {
        throw new Error(`WordPiece: the id of token ${JSON.stringify(token)} must be a non-negative integer, got ${id}`);
      }
      this.vocab.set(token, id);
      this.idToTokenTable[id] = token;
      const pieceLength = token.startsWith(this.continuingSubwordPrefix)
        ? token.length - this.continuingSubwordPrefix.length
        : token.length;
      if (pieceLength > longest) longest = pieceLength;
    }
    this.longestPiece = longest;
  }

  /**
   * Parse a BERT vocab.txt: one token per line, the id is the line number (0-based). Trailing whitespace of
   * each line is dropped, as Hugging Face does; a token listed twice keeps its LAST line number.
   * Example: `WordPiece.fromVocabTxt('[PAD]\n[UNK]\nhello\n')`.
   */
  static fromVocabTxt(text: string, options: WordPieceOptions = {}): WordPiece {
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop(); // the file's final newline
    const vocab = new Map<string, number>();
    lines.forEach((line, i) => vocab.set(line.trimEnd(), i));
    return new WordPiece(vocab, options);
  }

  /** Build from the tokenizer.json model section; errors name the offending field. */
  static fromJSON(obj: Record<string, unknown>): WordPiece {
    const vocab = obj.vocab;
    if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) {
      throw new Error('tokenizer.json model WordPiece: "vocab" must be an object mapping token -> id');
    }
    const str = (key: string, fallback: string): string => {
      const v = obj[key];
      if (v === undefined || v === null) return fallback;
      if (typeof v !== 'string') throw new Error(`tokenizer.json model WordPiece: "${key}" must be a string, got ${JSON.stringify(v)}`);
      return v;
    };
    const maxChars = obj.max_input_chars_per_word ?? 100;
    if (typeof maxChars !== 'number') {
      throw new Error(`tokenizer.json model WordPiece: "max_input_chars_per_word" must be a number, got ${JSON.stringify(maxChars)}`);
    }
    return new WordPiece(vocab as Record<string, number>, {
      unkToken: str('unk_token', '[UNK]'),
      continuingSubwordPrefix: str('continuing_subword_prefix', '##'),
      maxInputCharsPerWord: maxChars,
    });
  }

  /** The tokenizer.json model section. Keys are written in id order, as Hugging Face writes them. */
  toJSON(): WordPieceModelJSON {
    // A prototype-free object, so that a token named "__proto__" is stored as a plain key.
    const vocab = Object.create(null) as Record<string, number>;
    for (const [token, id] of [...this.vocab.entries()].sort((a, b) => a[1] - b[1])) vocab[token] = id;
    return {
      type: 'WordPiece',
      unk_token: this.unkToken,
      continuing_subword_prefix: this.continuingSubwordPrefix,
      max_input_chars_per_word: this.maxInputCharsPerWord,
      vocab,
    };
  }

  /** The vocabulary as vocab.txt text (one token per line, in id order). */
  toVocabTxt(): string {
    const lines: string[] = [];
    for (let id = 0; id < this.idToTokenTable.length; id++) lines.push(this.idToTokenTable[id] ?? '');
    return lines.join('\n') + '\n';
  }

  /** Number of distinct tokens. */
  get vocabSize(): number {
    return this.vocab.size;
  }

  /** token -> id map (a copy). */
  getVocab(): Map<string, number> {
    return new Map(this.vocab);
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.idToTokenTable[id];
  }

  private unknown(word: string): ModelToken[] {
    const id = this.vocab.get(this.unkToken);
    if (id === undefined) {
      throw new Error(
        `WordPiece: cannot tokenize ${JSON.stringify(word.slice(0, 40))}: it needs the unknown token ` +
          `${JSON.stringify(this.unkToken)}, which is not in the vocabulary`,
      );
    }
    return [{ id, value: this.unkToken, start: 0, end: word.length }];
  }

  /**
   * Split one word into pieces, greedy longest-match-first. Offsets are UTF-16 positions inside `word`.
   * The result is frozen (it may be shared with later calls for the same word).
   * Example: tokenize("unaffable") with BERT's vocabulary gives "una" (0,3), "##ffa" (3,6), "##ble" (6,9).
   */
  tokenize(word: string): readonly ModelToken[] {
    // Real text repeats its words, so results are cached; they are frozen because later calls share them.
    const cached = this.cache.get(word);
    if (cached !== undefined) return cached;
    const tokens = Object.freeze(this.tokenizeUncached(word).map((t) => Object.freeze(t)));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    if (word.length <= 64) this.cache.set(word, tokens);
    return tokens;
  }

  private tokenizeUncached(word: string): ModelToken[] {
    if (word.length === 0) return [];
    if (codePointLength(word) > this.maxInputCharsPerWord) return this.unknown(word);
    const whole = this.vocab.get(word);
    if (whole !== undefined) return [{ id: whole, value: word, start: 0, end: word.length }];

    const tokens: ModelToken[] = [];
    let start = 0;
    while (start < word.length) {
      // Try the longest candidate first, then shorten one code point at a time.
      let end = Math.min(word.length, start + this.longestPiece);
      // Never cut a surrogate pair in half.
      if (end < word.length && isLowSurrogate(word.charCodeAt(end))) end--;
      let found: ModelToken | undefined;
      while (end > start) {
        const piece = word.slice(start, end);
        const candidate = start > 0 ? this.continuingSubwordPrefix + piece : piece;
        const id = this.vocab.get(candidate);
        if (id !== undefined) {
          found = { id, value: candidate, start, end };
          break;
        }
        end -= end - 2 >= start && isLowSurrogate(word.charCodeAt(end - 1)) && isHighSurrogate(word.charCodeAt(end - 2)) ? 2 : 1;
      }
      if (found === undefined) return this.unknown(word);
      tokens.push(found);
      start = found.end;
    }
    return tokens;
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
