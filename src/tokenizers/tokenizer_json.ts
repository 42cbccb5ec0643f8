// Reading and writing Hugging Face's tokenizer.json: the one file that describes a whole tokenizer pipeline.
//
//   {
//     "version": "1.0",
//     "truncation": null | {"direction": "Right", "max_length": 512, "strategy": "LongestFirst", "stride": 0},
//     "padding": null | {"strategy": "BatchLongest" | {"Fixed": 128}, "direction": "Right",
//                        "pad_to_multiple_of": null, "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
//     "added_tokens": [{"id": 101, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false,
//                       "normalized": false, "special": true}, ...],
//     "normalizer": {"type": "BertNormalizer", ...} | null,
//     "pre_tokenizer": {"type": "BertPreTokenizer"} | null,
//     "post_processor": {"type": "TemplateProcessing", ...} | null,
//     "decoder": {"type": "WordPiece", ...} | null,
//     "model": {"type": "WordPiece", "vocab": {...}, ...} | {"type": "BPE", "vocab": {...}, "merges": [...], ...}
//              | {"type": "Unigram", "unk_id": 2, "vocab": [["<pad>", 0.0], ["▁the", -3.4], ...], "byte_fallback": false}
//   }
//
// Each section is parsed by its own module (normalizers.ts, pre_tokenizers.ts, ...); a type we do not support
// is an error that names the section, the type, and what is supported. What we write is what Hugging Face
// tokenizers 0.20+ writes, so Python `transformers` (PreTrainedTokenizerFast(tokenizer_file=...)) loads it.

import type { AddedToken } from './added_vocabulary.js';
import { ByteLevelBPE, type BPEModelJSON } from './bpe.js';
import { decoderFromJSON, type Decoder, type DecoderJSON } from './decoders.js';
import type { Side } from './encoding.js';
import { ByteLevelBPEModel, type TokenizerModel } from './model.js';
import { normalizerFromJSON, type Normalizer, type NormalizerJSON } from './normalizers.js';
import { postProcessorFromJSON, type PostProcessor, type PostProcessorJSON } from './post_processors.js';
import { Unigram, type UnigramModelJSON } from './unigram.js';
import {
  ByteLevelPreTokenizer,
  preTokenizerFromJSON,
  SequencePreTokenizer,
  type PreTokenizer,
  type PreTokenizerJSON,
} from './pre_tokenizers.js';
import { WordPiece, type WordPieceModelJSON } from './wordpiece.js';

/** Which sequence(s) truncation may cut (HF TruncationStrategy). */
export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';

/** Truncation settings stored in a tokenizer (tokenizer.json "truncation"). */
export interface TruncationParams {
  maxLength: number;
  strategy: TruncationStrategy;
  stride: number;
  side: Side;
}

/** Padding settings stored in a tokenizer (tokenizer.json "padding"). */
export interface PaddingParams {
  /** 'longest': pad a batch to its longest encoding; 'max_length': pad to `length`. */
  strategy: 'longest' | 'max_length';
  length?: number;
  side: Side;
  padToMultipleOf?: number;
  padId: number;
  padTypeId: number;
  padToken: string;
}

/** The tokenizer.json document. */
export interface TokenizerJSON {
  version: string;
  truncation: { direction: 'Right' | 'Left'; max_length: number; strategy: 'LongestFirst' | 'OnlyFirst' | 'OnlySecond'; stride: number } | null;
  padding: {
    strategy: 'BatchLongest' | { Fixed: number };
    direction: 'Right' | 'Left';
    pad_to_multiple_of: number | null;
    pad_id: number;
    pad_type_id: number;
    pad_token: string;
  } | null;
  added_tokens: AddedToken[];
  normalizer: NormalizerJSON | null;
  pre_tokenizer: PreTokenizerJSON | null;
  post_processor: PostProcessorJSON | null;
  decoder: DecoderJSON | null;
  model: WordPieceModelJSON | BPEModelJSON | UnigramModelJSON;
}

/** Everything a Tokenizer is made of. */
export interface TokenizerParts {
  model: TokenizerModel;
  normalizer: Normalizer | null;
  preTokenizer: PreTokenizer | null;
  postProcessor: PostProcessor | null;
  decoder: Decoder | null;
  addedTokens: AddedToken[];
  truncation: TruncationParams | null;
  padding: PaddingParams | null;
}

/** The model types we read, for error messages. */
export const SUPPORTED_MODELS = ['WordPiece', 'BPE (byte-level, as GPT-2/RoBERTa)', 'Unigram (SentencePiece, as T5/Marian)'] as const;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function sectionObject(doc: Record<string, unknown>, key: string): Record<string, unknown> | null {
  const v = doc[key];
  if (v === undefined || v === null) return null;
  if (!isObject(v) || typeof v.type !== 'string') {
    throw new Error(`tokenizer.json: "${key}" must be null or an object with a "type", got ${JSON.stringify(v)?.slice(0, 100)}`);
  }
  return v;
}

/** True when the pre-tokenizer is ByteLevel or a Sequence containing one (what byte-level BPE needs). */
function hasByteLevel(p: PreTokenizer | null): boolean {
  if (p instanceof ByteLevelPreTokenizer) return true;
  if (p instanceof SequencePreTokenizer) return p.pretokenizers.some((q) => hasByteLevel(q));
  return false;
}

function parseAddedTokens(value: unknown): AddedToken[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error('tokenizer.json: "added_tokens" must be a list');
  return value.map((t: unknown, i: number): AddedToken => {
    if (!isObject(t) || typeof t.content !== 'string' || typeof t.id !== 'number') {
      throw new Error(`tokenizer.json: added_tokens[${i}] must have a string "content" and a numeric "id", got ${JSON.stringify(t)}`);
    }
    const flag = (key: string, fallback: boolean): boolean => {
      const v = t[key];
      if (v === undefined || v === null) return fallback;
      if (typeof v !== 'boolean') throw new Error(`tokenizer.json: added_tokens[${i}].${key} must be true or false, got ${JSON.stringify(v)}`);
      return v;
    };
    const special = flag('special', false);
    return {
      id: t.id,
      content: t.content,
      single_word: flag('single_word', false),
      lstrip: flag('lstrip', false),
      rstrip: flag('rstrip', false),
      normalized: flag('normalized', !special),
      special,
    };
  });
}

function parseTruncation(value: unknown): TruncationParams | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value) || typeof value.max_length !== 'number') {
    throw new Error(`tokenizer.json: "truncation" must be null or {max_length, strategy, stride, direction}, got ${JSON.stringify(value)}`);
  }
  const strategies: Record<string, TruncationStrategy> = { LongestFirst: 'longest_first', OnlyFirst: 'only_first', OnlySecond: 'only_second' };
  const strategy = strategies[String(value.strategy ?? 'LongestFirst')];
  if (!strategy) throw new Error(`tokenizer.json: truncation.strategy must be LongestFirst, OnlyFirst or OnlySecond, got ${JSON.stringify(value.strategy)}`);
  return {
    maxLength: value.max_length,
    strategy,
    stride: Number(value.stride ?? 0),
    side: value.direction === 'Left' ? 'left' : 'right',
  };
}

function parsePadding(value: unknown): PaddingParams | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw new Error(`tokenizer.json: "padding" must be null or an object, got ${JSON.stringify(value)}`);
  const s = value.strategy;
  let strategy: 'longest' | 'max_length';
  let length: number | undefined;
  if (s === 'BatchLongest' || s === undefined) strategy = 'longest';
  else if (isObject(s) && typeof s.Fixed === 'number') {
    strategy = 'max_length';
    length = s.Fixed;
  } else throw new Error(`tokenizer.json: padding.strategy must be "BatchLongest" or {"Fixed": n}, got ${JSON.stringify(s)}`);
  return {
    strategy,
    length,
    side: value.direction === 'Left' ? 'left' : 'right',
    padToMultipleOf: typeof value.pad_to_multiple_of === 'number' ? value.pad_to_multiple_of : undefined,
    padId: Number(value.pad_id ?? 0),
    padTypeId: Number(value.pad_type_id ?? 0),
    padToken: typeof value.pad_token === 'string' ? value.pad_token : '[PAD]',
  };
}

/**
 * Parse a tokenizer.json document (text or already-parsed object) into tokenizer parts.
 * Example: `parseTokenizerJSON(fs.readFileSync('tokenizer.json', 'utf8'))`.
 */
export function parseTokenizerJSON(input: string | unknown): TokenizerParts {
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch (e) {
      throw new Error(`tokenizer.json is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!isObject(doc)) throw new Error('tokenizer.json: the document must be a JSON object');
  if (!isObject(doc.model)) throw new Error('tokenizer.json: "model" is missing or not an object');

  const addedTokens = parseAddedTokens(doc.added_tokens);
  const normalizerJSON = sectionObject(doc, 'normalizer');
  const preJSON = sectionObject(doc, 'pre_tokenizer');
  const postJSON = sectionObject(doc, 'post_processor');
  const decoderJSON = sectionObject(doc, 'decoder');
  const normalizer = normalizerJSON ? normalizerFromJSON(normalizerJSON as NormalizerJSON) : null;
  const preTokenizer = preJSON ? preTokenizerFromJSON(preJSON as PreTokenizerJSON) : null;
  const postProcessor = postJSON ? postProcessorFromJSON(postJSON as PostProcessorJSON) : null;
  const decoder = decoderJSON ? decoderFromJSON(decoderJSON as DecoderJSON) : null;

  const m = doc.model;
  // Old files may omit the model type; Hugging Face then recognises the model by its fields.
  const type =
    typeof m.type === 'string'
      ? m.type
      : 'merges' in m
        ? 'BPE'
        : 'max_input_chars_per_word' in m
          ? 'WordPiece'
          : Array.isArray(m.vocab)
            ? 'Unigram'
            : undefined;
  let model: TokenizerModel;
  if (type === 'WordPiece') {
    model = WordPiece.fromJSON(m);
  } else if (type === 'Unigram') {
    model = Unigram.fromJSON(m);
  } else if (type === 'BPE') {
    if (!hasByteLevel(preTokenizer)) {
      throw new Error(
        'tokenizer.json model BPE: only byte-level BPE is supported (GPT-2, RoBERTa, and BPE trained by attn), which ' +
          `needs a ByteLevel pre_tokenizer; this file's pre_tokenizer is ${JSON.stringify(preJSON?.type ?? null)}`,
      );
    }
    const vocab = isObject(m.vocab) ? m.vocab : {};
    const specials = addedTokens.filter((t) => t.special && vocab[t.content] === t.id).map((t) => t.content);
    // Files written by older tokenizers (gpt2's and roberta-base's on the Hub) store "" where newer ones store
    // null for "no prefix / no suffix"; both mean the same.
    const section = { ...m };
    for (const key of ['continuing_subword_prefix', 'end_of_word_suffix']) if (section[key] === '') section[key] = null;
    model = new ByteLevelBPEModel(ByteLevelBPE.fromModelJSON(section, { specialTokens: specials }));
  } else {
    throw new Error(
      `tokenizer.json model: type ${JSON.stringify(m.type ?? null)} is not supported; supported models: ${SUPPORTED_MODELS.join(', ')}`,
    );
  }
  return {
    model,
    normalizer,
    preTokenizer,
    postProcessor,
    decoder,
    addedTokens,
    truncation: parseTruncation(doc.truncation),
    padding: parsePadding(doc.padding),
  };
}

/** Tokenizer parts -> the tokenizer.json document, in the key order Hugging Face writes. */
export function tokenizerPartsToJSON(parts: TokenizerParts): TokenizerJSON {
  const t = parts.truncation;
  const p = parts.padding;
  const strategyNames = { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' } as const;
  return {
    version: '1.0',
    truncation: t ? { direction: t.side === 'left' ? 'Left' : 'Right', max_length: t.maxLength, strategy: strategyNames[t.strategy], stride: t.stride } : null,
    padding: p
      ? {
          strategy: p.strategy === 'max_length' ? { Fixed: p.length ?? 0 } : 'BatchLongest',
          direction: p.side === 'left' ? 'Left' : 'Right',
          pad_to_multiple_of: p.padToMultipleOf ?? null,
          pad_id: p.padId,
          pad_type_id: p.padTypeId,
          pad_token: p.padToken,
        }
      : null,
    added_tokens: [...parts.addedTokens]
      .sort((a, b) => a.id - b.id)
      .map((a) => ({
        id: a.id,
        content: a.content,
        single_word: a.single_word,
        lstrip: a.lstrip,
        rstrip: a.rstrip,
        normalized: a.normalized,
        special: a.special,
      })),
    normalizer: parts.normalizer ? parts.normalizer.toJSON() : null,
    pre_tokenizer: parts.preTokenizer ? parts.preTokenizer.toJSON() : null,
    post_processor: parts.postProcessor ? parts.postProcessor.toJSON() : null,
    decoder: parts.decoder ? parts.decoder.toJSON() : null,
    model: parts.model.toJSON(),
  };
}
