// Tokenizers from the files that came before tokenizer.json: what many model folders on the Hugging Face Hub
// still hold, and what `transformers` itself converts on the fly (its "slow" tokenizers).
//
//   BERT        vocab.txt                    one WordPiece token per line (the line number is the id)
//   GPT-2       vocab.json + merges.txt      byte-level BPE: token -> id, and the merges in rank order
//   RoBERTa     vocab.json + merges.txt      the same, with <s> A </s></s> B </s> around the text
//   all         tokenizer_config.json        do_lower_case, strip_accents, add_prefix_space, trim_offsets,
//               special_tokens_map.json      the special tokens ("[CLS]" or {"content": "<mask>", "lstrip": true})
//               added_tokens.json            extra tokens with their ids
//
// The pipelines are those transformers' converters build (convert_slow_tokenizer.py: BertConverter,
// GPT2Converter, RobertaConverter), so a folder loads to the same tokenizer whether it has a tokenizer.json or
// only these files. This file is browser-safe: it takes the files' texts; node.ts reads folders.

import type { AddedToken } from './added_vocabulary.js';
import { ByteLevelBPE } from './bpe.js';
import { ByteLevelDecoder } from './decoders.js';
import { ByteLevelBPEModel } from './model.js';
import { ByteLevelProcessing, RobertaProcessing } from './post_processors.js';
import { ByteLevelPreTokenizer } from './pre_tokenizers.js';
import { Tokenizer } from './tokenizer.js';

/** tokenizer_config.json and special_tokens_map.json, merged (the second wins), as parsed JSON. */
export type TokenizerConfig = Record<string, unknown>;

/** A special token as the config gives it: its text, and the AddedToken flags when it is written as an object. */
export interface ConfigToken {
  content: string;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

/** Read `key` of the config: "[CLS]", or {"content": "<mask>", "lstrip": true, ...}; undefined when absent. */
export function configToken(config: TokenizerConfig, key: string, where: string): ConfigToken | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return { content: v, lstrip: false, rstrip: false, singleWord: false };
  if (typeof v === 'object' && !Array.isArray(v) && typeof (v as Record<string, unknown>).content === 'string') {
    const o = v as Record<string, unknown>;
    return { content: o.content as string, lstrip: o.lstrip === true, rstrip: o.rstrip === true, singleWord: o.single_word === true };
  }
  throw new Error(`${where}: "${key}" must be a string or {"content": ...}, got ${JSON.stringify(v)?.slice(0, 80)}`);
}

function configBool(config: TokenizerConfig, key: string, where: string): boolean | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new Error(`${where}: "${key}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Add the tokens of added_tokens.json ({"<new>": 30522, ...}) to `tok`, each at the id the file gives, special
 * when listed in the config's additional_special_tokens.
 */
export function addTokensFromJSON(tok: Tokenizer, addedTokensJson: string | undefined, config: TokenizerConfig, where = 'added_tokens.json'): void {
  if (addedTokensJson === undefined) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(addedTokensJson);
  } catch (e) {
    throw new Error(`${where} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${where}: must be an object mapping token -> id`);
  const extra = Array.isArray(config.additional_special_tokens)
    ? new Set((config.additional_special_tokens as unknown[]).map((t) => (typeof t === 'string' ? t : (t as { content?: string })?.content)))
    : new Set<string | undefined>();
  const entries = Object.entries(parsed as Record<string, unknown>).sort((a, b) => Number(a[1]) - Number(b[1]));
  for (const [token, id] of entries) {
    if (typeof id !== 'number' || !Number.isInteger(id)) throw new Error(`${where}: the id of ${JSON.stringify(token)} must be an integer, got ${JSON.stringify(id)}`);
    if (tok.tokenToId(token) === id) continue;
    if (extra.has(token)) tok.addSpecialTokens([token]);
    else tok.addTokens([token]);
    const got = tok.tokenToId(token);
    if (got !== id) {
      throw new Error(`${where}: ${JSON.stringify(token)} should have id ${id}, but the next free id is ${got}; the file does not fit this vocabulary`);
    }
  }
}

/**
 * BERT from vocab.txt and tokenizer_config.json: do_lower_case (default true), strip_accents (default: as
 * lowercase), tokenize_chinese_chars (default true), and the special tokens; "[CLS] A [SEP]" and
 * "[CLS] A [SEP] B [SEP]" with type ids 0 / 1.
 * Example: `bertFromVocabTxt(vocabTxt, { do_lower_case: false })` is bert-base-cased's tokenizer.
 */
export function bertFromVocabTxt(vocabTxt: string, config: TokenizerConfig = {}, where = 'tokenizer_config.json'): Tokenizer {
  const lowercase = configBool(config, 'do_lower_case', where) ?? true;
  const stripAccents = configBool(config, 'strip_accents', where);
  const name = (key: string, fallback: string): string => configToken(config, key, where)?.content ?? fallback;
  return Tokenizer.fromWordPieceVocab(vocabTxt, {
    lowercase,
    stripAccents: stripAccents ?? null,
    handleChineseChars: configBool(config, 'tokenize_chinese_chars', where) ?? true,
    unkToken: name('unk_token', '[UNK]'),
    clsToken: name('cls_token', '[CLS]'),
    sepToken: name('sep_token', '[SEP]'),
    padToken: name('pad_token', '[PAD]'),
    maskToken: name('mask_token', '[MASK]'),
  });
}

/**
 * GPT-2 or RoBERTa from vocab.json + merges.txt and tokenizer_config.json. RoBERTa (its tokenizer_class, or a
 * vocabulary with <s> and </s> and no <|endoftext|>) gets "<s> A </s>" / "<s> A </s></s> B </s>", its
 * add_prefix_space (default false) and trim_offsets (default true), and "<mask>" that swallows the space before
 * it (lstrip), as RobertaTokenizer declares it. GPT-2 gets no special tokens around the text.
 * Example: `byteLevelFromVocabMerges(vocabJson, mergesTxt, { tokenizer_class: 'RobertaTokenizer' })`.
 */
export function byteLevelFromVocabMerges(vocabJson: string, mergesTxt: string, config: TokenizerConfig = {}, where = 'tokenizer_config.json'): Tokenizer {
  let vocab: Record<string, number>;
  try {
    vocab = JSON.parse(vocabJson) as Record<string, number>;
  } catch (e) {
    throw new Error(`vocab.json is not valid JSON: ${(e as Error).message}`);
  }
  const cls = typeof config.tokenizer_class === 'string' ? config.tokenizer_class : '';
  const roberta = /roberta|bart|longformer|mvp|led/i.test(cls) || (cls === '' && '<s>' in vocab && '</s>' in vocab && !('<|endoftext|>' in vocab));
  const defaults: Record<string, string> = roberta
    ? { bos_token: '<s>', eos_token: '</s>', sep_token: '</s>', cls_token: '<s>', unk_token: '<unk>', pad_token: '<pad>', mask_token: '<mask>' }
    : { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>' };
  const specials = new Map<string, ConfigToken>();
  for (const key of ['bos_token', 'eos_token', 'sep_token', 'cls_token', 'unk_token', 'pad_token', 'mask_token']) {
    const t = configToken(config, key, where) ?? (defaults[key] ? { content: defaults[key]!, lstrip: key === 'mask_token' && roberta, rstrip: false, singleWord: false } : undefined);
    if (t && t.content in vocab && !specials.has(t.content)) specials.set(t.content, t);
  }
  const bpe = ByteLevelBPE.fromVocabMerges(vocabJson, mergesTxt, [...specials.keys()]);
  const addPrefixSpace = configBool(config, 'add_prefix_space', where) ?? false;
  const trimOffsets = configBool(config, 'trim_offsets', where) ?? true;
  const addedTokens: AddedToken[] = [...specials.values()].map((t) => ({
    id: vocab[t.content]!,
    content: t.content,
    single_word: t.singleWord,
    lstrip: t.lstrip,
    rstrip: t.rstrip,
    normalized: false,
    special: true,
  }));
  let postProcessor: RobertaProcessing | ByteLevelProcessing = new ByteLevelProcessing(false, true);
  if (roberta) {
    const sep = configToken(config, 'sep_token', where)?.content ?? '</s>';
    const clsToken = configToken(config, 'cls_token', where)?.content ?? '<s>';
    if (!(sep in vocab) || !(clsToken in vocab)) {
      throw new Error(`vocab.json: a RoBERTa-style tokenizer needs ${JSON.stringify(clsToken)} and ${JSON.stringify(sep)} in the vocabulary`);
    }
    postProcessor = new RobertaProcessing([sep, vocab[sep]!], [clsToken, vocab[clsToken]!], trimOffsets, addPrefixSpace);
  }
  return new Tokenizer({
    model: new ByteLevelBPEModel(bpe),
    normalizer: null,
    preTokenizer: new ByteLevelPreTokenizer({ add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true }),
    postProcessor,
    decoder: new ByteLevelDecoder(),
    addedTokens,
    truncation: null,
    padding: null,
  });
}
