// The Tokenizer: one class for BERT-style WordPiece and GPT-style byte-level BPE tokenizers.
//
// encode() runs the Hugging Face pipeline, step by step:
//
//   "[CLS] Héllo, 世界"                          the input text
//   1. added tokens   "[CLS]" | " Héllo, 世界"    special/added tokens are cut out of the raw text first
//   2. normalize      " hello,  世  界 "           (BertNormalizer; alignment to the original is kept)
//   3. pre-tokenize   "hello" "," "世" "界"        words (BertPreTokenizer)
//   4. model          "hello" "," "世" "界"        subword tokens per word (WordPiece / BPE) -> ids
//   5. truncate       cut to maxLength, keeping overflow windows (question answering)
//   6. post-process   [CLS] ... [SEP]              special tokens, type ids (TemplateProcessing)
//   7. pad            ... [PAD] [PAD]              to the longest in the batch or to maxLength
//
// and decode() maps ids back to token strings and hands them to the decoder (WordPiece joins "##" pieces,
// ByteLevel turns byte characters back into UTF-8 text).
//
// Offsets are [start, end) in UTF-16 code units of the string you passed in (JavaScript string indices), so
// `text.slice(...offsets[i])` is the text of token i, whatever the normalizer did. (Python's tokenizers report
// code points; the two differ only after characters outside the Basic Multilingual Plane, such as emoji.)
//
// This file is browser-safe: no node: imports, no tensor engine. Reading and writing files is in node.ts.

import { AddedVocabulary, type AddedToken } from './added_vocabulary.js';
import type { ByteLevelBPE } from './bpe.js';
import { ByteLevelDecoder, runDecoder, WordPieceDecoder, type Decoder } from './decoders.js';
import { emptyEncoding, padEncoding, truncateEncoding, type Encoding, type PadParams, type Side } from './encoding.js';
import { gpt2, GPT2_END_OF_TEXT } from './gpt2.js';
import { ByteLevelBPEModel, type TokenizerModel } from './model.js';
import { BertNormalizer, NormalizedString, type Normalizer } from './normalizers.js';
import { ByteLevelProcessing, postProcess, TemplateProcessing, type PostProcessor } from './post_processors.js';
import { BertPreTokenizer, ByteLevelPreTokenizer, type PreTokenizer, type Split } from './pre_tokenizers.js';
import { toWellFormed } from './unigram.js';
import {
  parseTokenizerJSON,
  tokenizerPartsToJSON,
  type PaddingParams,
  type TokenizerJSON,
  type TokenizerParts,
  type TruncationParams,
  type TruncationStrategy,
} from './tokenizer_json.js';
import { WordPiece, type WordPieceOptions } from './wordpiece.js';

export type { Encoding, Side } from './encoding.js';
export type { AddedToken } from './added_vocabulary.js';

/** Options of encode() and encodeBatch(). Everything is optional. */
export interface EncodeOptions {
  /** Add the post-processor's special tokens ([CLS] ... [SEP]). Default true. */
  addSpecialTokens?: boolean;
  /** Length limit for truncation and for padding: 'max_length'. Counts special tokens. */
  maxLength?: number;
  /**
   * Cut inputs longer than maxLength. true means 'longest_first' (cut the longer of the two texts one token
   * at a time); 'only_first' / 'only_second' cut only that text. Default: the tokenizer's stored truncation
   * (tokenizer.json "truncation"), or none.
   */
  truncation?: boolean | TruncationStrategy;
  /** Tokens of overlap between consecutive overflow windows (question answering). Default 0. */
  stride?: number;
  /** Cut from the end ('right', default) or the beginning ('left'). */
  truncationSide?: Side;
  /** Keep the windows cut off by truncation in `encoding.overflowing`. Default false. */
  returnOverflowing?: boolean;
  /**
   * true or 'longest': pad every encoding of the batch to the longest one; 'max_length': pad to maxLength.
   * Default: the tokenizer's stored padding (tokenizer.json "padding"), or none.
   */
  padding?: boolean | 'longest' | 'max_length';
  /** Round the padded length up to a multiple of this (8 helps tensor cores). */
  padToMultipleOf?: number;
  /** Pad on the 'right' (default; BERT) or 'left' (decoder-only models that generate). */
  paddingSide?: Side;
  /** Padding token and id; default: the stored padding settings, else "[PAD]" or "<pad>" if the vocab has one. */
  padToken?: string;
  padId?: number;
  padTypeId?: number;
}

/** Options of Tokenizer.fromWordPieceVocab: BERT's normalizer switches, the WordPiece model, the special tokens. */
export interface BertTokenizerOptions extends WordPieceOptions {
  /** Lowercase (BERT "uncased"). Default true; false for cased models such as bert-base-cased. */
  lowercase?: boolean;
  /** Strip accents; default (null): the same as lowercase. */
  stripAccents?: boolean | null;
  /** Drop control characters and turn all whitespace into spaces. Default true. */
  cleanText?: boolean;
  /** Put spaces around CJK ideographs. Default true. */
  handleChineseChars?: boolean;
  clsToken?: string;
  sepToken?: string;
  padToken?: string;
  maskToken?: string;
}

/** Options of decode(). */
export interface DecodeOptions {
  /** Leave out special tokens ([CLS], [SEP], [PAD], <|endoftext|>, ...). Default false. */
  skipSpecialTokens?: boolean;
}

/** A tokenizer input: one text, or a pair of texts (question + context, sentence A + sentence B). */
export type TextInput = string | readonly [string, string];

/**
 * A complete tokenizer: normalizer, pre-tokenizer, model, post-processor and decoder, as in Hugging Face's
 * tokenizer.json. Build one with `Tokenizer.fromJSON`, `Tokenizer.gpt2()`, `Tokenizer.fromWordPieceVocab`,
 * `Tokenizer.fromByteLevelBPE`, or train one (see trainer functions in index.ts).
 * Example:
 *   const tok = Tokenizer.fromWordPieceVocab(vocabTxt);
 *   tok.encode('Hello world!').ids   // [101, 7592, 2088, 999, 102]
 *   tok.decode([7592, 2088, 999])    // "hello world!"
 */
export class Tokenizer {
  readonly model: TokenizerModel;
  readonly normalizer: Normalizer | null;
  readonly preTokenizer: PreTokenizer | null;
  readonly postProcessor: PostProcessor | null;
  readonly decoder: Decoder | null;
  /** Stored truncation/padding settings (tokenizer.json); per-call EncodeOptions override them. */
  truncation: TruncationParams | null;
  padding: PaddingParams | null;
  private readonly added = new AddedVocabulary();
  private vocabSizeCache: number | undefined;

  constructor(parts: TokenizerParts) {
    this.model = parts.model;
    this.normalizer = parts.normalizer;
    this.preTokenizer = parts.preTokenizer;
    this.postProcessor = parts.postProcessor;
    this.decoder = parts.decoder;
    this.truncation = parts.truncation;
    this.padding = parts.padding;
    const normalizer = this.normalizer;
    this.added.setNormalizer((s) => {
      if (!normalizer) return s;
      const ns = new NormalizedString(s);
      normalizer.normalize(ns);
      return ns.normalized;
    });
    for (const t of parts.addedTokens) this.added.add(t);
  }

  // ── construction ─────────────────────────────────────────────────────────────────────────────────────

  /**
   * Load a Hugging Face tokenizer.json (its text, or the parsed object). Unsupported component types are an
   * error naming the component and listing what is supported.
   */
  static fromJSON(json: string | TokenizerJSON | Record<string, unknown>): Tokenizer {
    return new Tokenizer(parseTokenizerJSON(json));
  }

  /**
   * GPT-2's tokenizer (byte-level BPE, 50 257 tokens, <|endoftext|> = 50256), built in and offline.
   * Same pipeline as Hugging Face's gpt2 tokenizer.json.
   */
  static gpt2(): Tokenizer {
    return Tokenizer.fromByteLevelBPE(gpt2(), { specialTokens: [GPT2_END_OF_TEXT] });
  }

  /**
   * Wrap a ByteLevelBPE (from bpe.ts, or a trainer) in the GPT-2 pipeline: ByteLevel pre-tokenizer, no
   * normalizer, ByteLevel post-processor and decoder. `specialTokens` (default: the BPE's own) become special
   * added tokens; `addPrefixSpace` makes "Hello" encode like " Hello" (RoBERTa style).
   */
  static fromByteLevelBPE(bpe: ByteLevelBPE, options: { specialTokens?: readonly string[]; addPrefixSpace?: boolean } = {}): Tokenizer {
    const names = options.specialTokens ?? [...bpe.specialTokens.keys()];
    const addedTokens: AddedToken[] = names.map((content) => {
      const id = bpe.tokenToId(content);
      if (id === undefined) throw new Error(`Tokenizer.fromByteLevelBPE: special token ${JSON.stringify(content)} is not in the vocabulary`);
      return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true };
    });
    const addPrefixSpace = options.addPrefixSpace ?? false;
    return new Tokenizer({
      model: new ByteLevelBPEModel(bpe),
      normalizer: null,
      preTokenizer: new ByteLevelPreTokenizer({ add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true }),
      postProcessor: new ByteLevelProcessing(false, true),
      decoder: new ByteLevelDecoder(),
      addedTokens,
      truncation: null,
      padding: null,
    });
  }

  /**
   * A BERT tokenizer from a vocab.txt (or a WordPiece model): BertNormalizer, BertPreTokenizer, WordPiece,
   * "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1", WordPiece decoder — the pipeline of Hugging Face's
   * bert-base-uncased tokenizer.json. [PAD] [UNK] [CLS] [SEP] [MASK] become special tokens when present.
   * Example: `Tokenizer.fromWordPieceVocab(readFileSync('vocab.txt', 'utf8'))`.
   */
  static fromWordPieceVocab(vocab: string | WordPiece, options: BertTokenizerOptions = {}): Tokenizer {
    const model = typeof vocab === 'string' ? WordPiece.fromVocabTxt(vocab, options) : vocab;
    const cls = options.clsToken ?? '[CLS]';
    const sep = options.sepToken ?? '[SEP]';
    const specials = [options.padToken ?? '[PAD]', model.unkToken, cls, sep, options.maskToken ?? '[MASK]'];
    const addedTokens: AddedToken[] = [];
    for (const content of specials) {
      const id = model.tokenToId(content);
      if (id !== undefined && !addedTokens.some((t) => t.content === content)) {
        addedTokens.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
      }
    }
    const clsId = model.tokenToId(cls);
    const sepId = model.tokenToId(sep);
    if (clsId === undefined || sepId === undefined) {
      throw new Error(
        `Tokenizer.fromWordPieceVocab: the vocabulary needs ${JSON.stringify(cls)} and ${JSON.stringify(sep)} for the ` +
          `[CLS] A [SEP] template; missing ${clsId === undefined ? JSON.stringify(cls) : JSON.stringify(sep)}`,
      );
    }
    return new Tokenizer({
      model,
      normalizer: new BertNormalizer({
        clean_text: options.cleanText,
        handle_chinese_chars: options.handleChineseChars,
        strip_accents: options.stripAccents,
        lowercase: options.lowercase,
      }),
      preTokenizer: new BertPreTokenizer(),
      postProcessor: TemplateProcessing.fromStrings(`${cls} $A ${sep}`, `${cls} $A ${sep} $B:1 ${sep}:1`, [
        [cls, clsId],
        [sep, sepId],
      ]),
      decoder: new WordPieceDecoder(model.continuingSubwordPrefix, true),
      addedTokens,
      truncation: null,
      padding: null,
    });
  }

  /** The tokenizer.json document (an object; `JSON.stringify(tok.toJSON(), null, 2)` gives the file). */
  toJSON(): TokenizerJSON {
    return tokenizerPartsToJSON(this.parts());
  }

  /** The tokenizer.json text, pretty-printed as Hugging Face writes it. */
  toString(): string {
    return JSON.stringify(this.toJSON(), null, 2);
  }

  private parts(): TokenizerParts {
    return {
      model: this.model,
      normalizer: this.normalizer,
      preTokenizer: this.preTokenizer,
      postProcessor: this.postProcessor,
      decoder: this.decoder,
      addedTokens: this.added.all(),
      truncation: this.truncation,
      padding: this.padding,
    };
  }

  // ── vocabulary ───────────────────────────────────────────────────────────────────────────────────────

  /** Number of distinct tokens, added tokens included (Python's len(tokenizer)). */
  get vocabSize(): number {
    this.vocabSizeCache ??= this.getVocab().size;
    return this.vocabSizeCache;
  }

  /** token -> id for every token, added tokens included. */
  getVocab(): Map<string, number> {
    const v = this.model.getVocab();
    for (const t of this.added.all()) v.set(t.content, t.id);
    return v;
  }

  /** Id of a token string ("hello", "##ing", "Ġthe", "[CLS]"), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.added.get(token)?.id ?? this.model.tokenToId(token);
  }

  /** Token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    const t = this.added.getById(id);
    return t ? this.added.tokenString(t) : this.model.idToToken(id);
  }

  /** All added tokens (special ones included), in id order. */
  addedTokens(): AddedToken[] {
    return this.added.all();
  }

  /**
   * Register special tokens (never split, skipped by decode with skipSpecialTokens). A token already in the
   * vocabulary keeps its id; a new one gets the next free id. Returns how many were new to the added
   * vocabulary. Example: `tok.addSpecialTokens(['<user>', '<bot>'])`.
   */
  addSpecialTokens(tokens: readonly string[]): number {
    return this.addTokensWith(tokens, true);
  }

  /** Add ordinary (non-special) tokens, matched in the normalized text. Returns how many were new. */
  addTokens(tokens: readonly string[]): number {
    return this.addTokensWith(tokens, false);
  }

  private addTokensWith(tokens: readonly string[], special: boolean): number {
    this.vocabSizeCache = undefined;
    let added = 0;
    for (const content of tokens) {
      if (content.length === 0) throw new Error('addTokens: a token is the empty string');
      const existing = this.added.get(content);
      if (existing && existing.special === special) continue;
      const id = existing?.id ?? this.model.tokenToId(content) ?? Math.max(this.model.getVocab().size, this.maxId() + 1);
      if (this.added.add({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: !special, special })) added++;
    }
    return added;
  }

  private maxId(): number {
    let m = this.added.maxId();
    for (const id of this.model.getVocab().values()) if (id > m) m = id;
    return m;
  }

  // ── encoding ─────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Token ids only, without special tokens added around the text (no offsets, masks or truncation): what a
   * language-model trainer needs for megabytes of text. For the plain GPT-2 pipeline (no normalizer, the
   * byte-level pre-tokenizer with its regex and no prefix space, only special added tokens the BPE knows) it
   * goes straight to ByteLevelBPE.encode on the whole text, ~10× faster than encode(); otherwise it is
   * encode(text, undefined, { addSpecialTokens: false }).ids.
   * Example: `tok.encodeIds(readFileSync('book.txt', 'utf8'))`.
   */
  encodeIds(text: string): number[] {
    const bpe = this.plainByteLevelBPE();
    if (bpe) return bpe.encode(text, { allowedSpecial: 'all' });
    return this.encode(text, undefined, { addSpecialTokens: false, truncation: false, padding: false }).ids;
  }

  private plainByteLevelBPE(): ByteLevelBPE | null {
    if (this.normalizer !== null || !(this.model instanceof ByteLevelBPEModel)) return null;
    const pre = this.preTokenizer;
    if (!(pre instanceof ByteLevelPreTokenizer) || pre.addPrefixSpace || !pre.useRegex) return null;
    const bpe = this.model.bpe;
    // Added tokens are matched before the model runs; the BPE can do the same only for its own special tokens.
    if (!this.added.all().every((t) => t.special && bpe.specialTokens.get(t.content) === t.id)) return null;
    return bpe;
  }

  /**
   * Encode one text, or a pair (`encode(question, context)`). See EncodeOptions for truncation and padding.
   * Example: `tok.encode('Hello', 'world').typeIds` is [0, 0, 0, 1, 1] for BERT.
   */
  encode(text: string, pair?: string, options: EncodeOptions = {}): Encoding {
    checkText(text, 'encode', 'text');
    if (pair !== undefined) checkText(pair, 'encode', 'pair');
    const encoding = this.encodeOne(text, pair, options);
    const pad = this.resolvePadding(options);
    if (pad) {
      const target = pad.strategy === 'max_length' ? (pad.length as number) : encoding.ids.length;
      padEncoding(encoding, roundUp(target, pad.padToMultipleOf), pad.params);
    }
    return encoding;
  }

  /**
   * Encode many inputs; each is a text or a [text, pair] tuple. With padding, every encoding is padded to
   * the longest in the batch (or to maxLength with padding: 'max_length').
   * Example: `tok.encodeBatch(['a', 'a b c'], { padding: true })` gives two encodings of the same length.
   */
  encodeBatch(inputs: readonly TextInput[], options: EncodeOptions = {}): Encoding[] {
    const encodings = inputs.map((input, i) => {
      if (typeof input === 'string') {
        checkText(input, 'encodeBatch', `inputs[${i}]`);
        return this.encodeOne(input, undefined, options);
      }
      if (!Array.isArray(input) || input.length !== 2) {
        throw new Error(`encodeBatch: inputs[${i}] must be a string or a [text, pair] tuple, got ${JSON.stringify(input)?.slice(0, 80)}`);
      }
      checkText(input[0], 'encodeBatch', `inputs[${i}][0]`);
      checkText(input[1], 'encodeBatch', `inputs[${i}][1]`);
      return this.encodeOne(input[0], input[1], options);
    });
    const pad = this.resolvePadding(options);
    if (pad && encodings.length > 0) {
      const target = pad.strategy === 'max_length' ? (pad.length as number) : Math.max(...encodings.map((e) => e.ids.length));
      const length = roundUp(target, pad.padToMultipleOf);
      for (const e of encodings) padEncoding(e, length, pad.params);
    }
    return encodings;
  }

  /** Steps 1-6 for one input (everything but padding, which may depend on the batch). */
  private encodeOne(text: string, pair: string | undefined, options: EncodeOptions): Encoding {
    const addSpecialTokens = options.addSpecialTokens ?? true;
    let a = this.encodeSequence(text, 0);
    let b = pair === undefined ? undefined : this.encodeSequence(pair, 1);
    const trunc = this.resolveTruncation(options);
    if (trunc) {
      const added = addSpecialTokens && this.postProcessor ? this.postProcessor.addedTokens(b !== undefined) : 0;
      if (trunc.maxLength < added) {
        throw new Error(
          `truncation: maxLength ${trunc.maxLength} is shorter than the ${added} special tokens the post-processor adds; ` +
            `use a maxLength of at least ${added + 1}`,
        );
      }
      [a, b] = truncatePair(a, b, { ...trunc, maxLength: trunc.maxLength - added });
    }
    const out = postProcess(this.postProcessor, a, b, addSpecialTokens, pair === undefined ? [text] : [text, pair]);
    if (!(options.returnOverflowing ?? false)) out.overflowing = [];
    return out;
  }

  /** Steps 1-4: the tokens of one text, before truncation and special tokens. */
  private encodeSequence(input: string, typeId: number): Encoding {
    // A lone surrogate (invalid UTF-16) reads as U+FFFD, the character Hugging Face receives for it; the
    // length does not change, so offsets still index the caller's string.
    const text = toWellFormed(input);
    const e = emptyEncoding();
    let word = 0;
    const push = (id: number, token: string, offsets: [number, number]): void => {
      e.ids.push(id);
      e.tokens.push(token);
      e.offsets.push(offsets);
      e.typeIds.push(typeId);
      e.attentionMask.push(1);
      e.specialTokensMask.push(0);
      e.wordIds.push(word);
      e.sequenceIds.push(0);
    };
    // 1. Added tokens matched in the raw text.
    for (const piece of this.added.splitRaw(text)) {
      if (piece.end <= piece.start) continue;
      if (piece.id !== undefined) {
        push(piece.id, text.slice(piece.start, piece.end), [piece.start, piece.end]);
        word++;
        continue;
      }
      // 2. Normalize the text between them (offsets stay relative to the whole input via originalShift).
      const ns = new NormalizedString(text.slice(piece.start, piece.end), piece.start);
      if (this.normalizer) this.normalizer.normalize(ns);
      const normalized = ns.normalized;
      // Added tokens that match the normalized text.
      for (const sub of this.added.splitNormalized(normalized)) {
        if (sub.end <= sub.start) continue;
        if (sub.id !== undefined) {
          push(sub.id, normalized.slice(sub.start, sub.end), ns.originalRange(sub.start, sub.end));
          word++;
          continue;
        }
        // 3. Pre-tokenize into words.
        const first: Split[] = [{ start: sub.start, end: sub.end }];
        const words = this.preTokenizer ? this.preTokenizer.preTokenize(normalized, first, (u) => ns.originalStart(u)) : first;
        // 4. The model, word by word.
        for (const w of words) {
          if (w.text !== undefined && w.from !== undefined) {
            // A rewritten word (Metaspace): token units map to normalized units through w.from.
            if (w.text.length === 0) continue;
            for (const t of this.model.tokenize(w.text)) {
              const s = w.from[t.start]!;
              const last = w.from[Math.max(t.start, t.end - 1)]!;
              const [a] = ns.originalRange(s, s + 1);
              const [, b] = ns.originalRange(last, last + 1);
              push(t.id, t.value, [a, b]);
            }
            word++;
            continue;
          }
          const prefix = w.prefixSpace === true;
          if (w.end <= w.start && !prefix) continue;
          const wordText = (prefix ? ' ' : '') + normalized.slice(w.start, w.end);
          for (const t of this.model.tokenize(wordText)) {
            let s = w.start + t.start;
            let end = w.start + t.end;
            if (prefix) {
              // Undo the virtual leading space: it takes the alignment of the word's first character.
              s = t.start === 0 ? w.start : w.start + t.start - 1;
              end = t.end <= 1 ? w.start + 1 : w.start + t.end - 1;
            }
            push(t.id, t.value, ns.originalRange(s, end));
          }
          word++;
        }
      }
    }
    return e;
  }

  private resolveTruncation(options: EncodeOptions): TruncationParams | null {
    const t = options.truncation;
    if (t === false) return null;
    if (t === undefined) {
      // Like Python transformers: a maxLength without padding to it means "truncate to it".
      const maxLengthMeansTruncate = options.maxLength !== undefined && (options.padding === undefined || options.padding === false);
      if (!this.truncation && !maxLengthMeansTruncate) return null;
    }
    const strategy: TruncationStrategy = typeof t === 'string' ? t : (this.truncation?.strategy ?? 'longest_first');
    const maxLength = options.maxLength ?? this.truncation?.maxLength;
    if (maxLength === undefined) {
      throw new Error('encode: truncation needs a length; pass { maxLength: N } (for BERT, N is usually 512)');
    }
    if (!Number.isInteger(maxLength) || maxLength < 0) throw new Error(`encode: maxLength must be a non-negative integer, got ${maxLength}`);
    const stride = options.stride ?? this.truncation?.stride ?? 0;
    if (!Number.isInteger(stride) || stride < 0) throw new Error(`encode: stride must be a non-negative integer, got ${stride}`);
    return { maxLength, strategy, stride, side: options.truncationSide ?? this.truncation?.side ?? 'right' };
  }

  private resolvePadding(
    options: EncodeOptions,
  ): { strategy: 'longest' | 'max_length'; length?: number; padToMultipleOf?: number; params: PadParams } | null {
    const p = options.padding;
    if (p === false) return null;
    const stored = this.padding;
    if (p === undefined && !stored) return null;
    const strategy = p === 'max_length' ? 'max_length' : p === true || p === 'longest' ? 'longest' : (stored as PaddingParams).strategy;
    const length = strategy === 'max_length' ? (options.maxLength ?? stored?.length) : undefined;
    if (strategy === 'max_length' && (length === undefined || !Number.isInteger(length) || length < 0)) {
      throw new Error(`encode: padding 'max_length' needs { maxLength: N } (a non-negative integer), got ${length}`);
    }
    let padToken = options.padToken ?? stored?.padToken;
    let padId = options.padId ?? (padToken !== undefined ? this.tokenToId(padToken) : undefined) ?? stored?.padId;
    if (padToken === undefined && padId !== undefined) padToken = this.idToToken(padId);
    if (padToken === undefined || padId === undefined) {
      for (const candidate of ['[PAD]', '<pad>']) {
        const id = this.tokenToId(candidate);
        if (id !== undefined) {
          padToken = candidate;
          padId = id;
          break;
        }
      }
    }
    if (padToken === undefined || padId === undefined) {
      throw new Error(
        'encode: padding needs a pad token, and this tokenizer has none ([PAD] and <pad> are not in the vocabulary); ' +
          'pass { padId, padToken }, e.g. for GPT-2 { padId: 50256, padToken: "<|endoftext|>" }',
      );
    }
    const multiple = options.padToMultipleOf ?? stored?.padToMultipleOf;
    return {
      strategy,
      length,
      padToMultipleOf: multiple,
      params: { padId, padToken, padTypeId: options.padTypeId ?? stored?.padTypeId ?? 0, side: options.paddingSide ?? stored?.side ?? 'right' },
    };
  }

  // ── decoding ─────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Ids -> text. Ids that are not in the vocabulary are skipped (as Hugging Face does), so a model whose
   * output layer is larger than the vocabulary cannot crash decoding.
   * Example: `tok.decode(tok.encode('Hello world').ids, { skipSpecialTokens: true })` is "hello world" (BERT).
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const addedToken = this.added.getById(id);
      if (addedToken) {
        if (!(skip && addedToken.special)) tokens.push(this.added.tokenString(addedToken));
        continue;
      }
      const t = this.model.idToToken(id);
      if (t !== undefined) tokens.push(t);
    }
    return this.decoder ? runDecoder(this.decoder, tokens) : tokens.join(' ');
  }

  /** decode() for each list of ids. */
  decodeBatch(batch: ReadonlyArray<ArrayLike<number>>, options: DecodeOptions = {}): string[] {
    return batch.map((ids) => this.decode(ids, options));
  }
}

function checkText(value: unknown, who: string, name: string): void {
  if (typeof value !== 'string') {
    throw new Error(`${who}: ${name} must be a string, got ${value === null ? 'null' : typeof value}`);
  }
}

function roundUp(length: number, multiple: number | undefined): number {
  if (!multiple || multiple <= 0 || length % multiple === 0) return length;
  return length + multiple - (length % multiple);
}

/**
 * Truncate one or two raw encodings to fit `maxLength` tokens together (HF `truncate_encodings`).
 * longest_first with two texts: if the shorter one fits in half, the longer gets the rest; otherwise both get
 * half (the second text gets the odd token).
 */
function truncatePair(a: Encoding, b: Encoding | undefined, t: TruncationParams): [Encoding, Encoding | undefined] {
  if (t.maxLength === 0) {
    truncateEncoding(a, 0, t.stride, t.side);
    if (b) truncateEncoding(b, 0, t.stride, t.side);
    return [a, b];
  }
  const total = a.ids.length + (b ? b.ids.length : 0);
  if (total <= t.maxLength) return [a, b];
  const toRemove = total - t.maxLength;
  if (t.strategy === 'longest_first') {
    if (!b) {
      truncateEncoding(a, t.maxLength, t.stride, t.side);
      return [a, b];
    }
    let n1 = a.ids.length;
    let n2 = b.ids.length;
    const swap = n1 > n2;
    if (swap) [n1, n2] = [n2, n1];
    n2 = n1 > t.maxLength ? n1 : Math.max(n1, t.maxLength - n1);
    if (n1 + n2 > t.maxLength) {
      n1 = Math.floor(t.maxLength / 2);
      n2 = n1 + (t.maxLength % 2);
    }
    if (swap) [n1, n2] = [n2, n1];
    truncateEncoding(a, n1, t.stride, t.side);
    truncateEncoding(b, n2, t.stride, t.side);
    return [a, b];
  }
  const target = t.strategy === 'only_first' ? a : b;
  if (!target) {
    throw new Error("truncation 'only_second': there is no second text; pass a pair, or use 'only_first' / 'longest_first'");
  }
  if (target.ids.length <= toRemove) {
    throw new Error(
      `truncation '${t.strategy}': the ${t.strategy === 'only_first' ? 'first' : 'second'} text has ${target.ids.length} tokens, ` +
        `but ${toRemove} must go to fit maxLength; raise maxLength or use 'longest_first'`,
    );
  }
  truncateEncoding(target, target.ids.length - toRemove, t.stride, t.side);
  return [a, b];
}
