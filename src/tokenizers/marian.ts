// Marian's tokenizer (Hugging Face opus-mt folders): two SentencePiece models and one vocabulary.
//
// An opus-mt folder has no tokenizer.json. It has what Marian trained with:
//
//   source.spm     a SentencePiece unigram model for the source language: it SPLITS source text into pieces
//   target.spm     the same for the target language: it turns generated pieces back into text
//   vocab.json     piece -> id, ONE table for both sides: the ids the model's embeddings are indexed by
//
// The ids are not the SentencePiece models' own: marian-vocab counted the pieces of the SentencePiece-encoded
// training text of both languages, most frequent first after "</s>" 0 and "<unk>" 1, and transformers'
// converter appended "<pad>" at the end (convert_marian_to_pytorch.py). transformers' MarianTokenizer
// (models/marian/tokenization_marian.py, v4.36) therefore encodes in two steps, and so do we:
//
//   "Straße und"  --source.spm-->  ▁S t r a ß e ▁ u nd  --vocab.json-->  51 6 9 8 195 5 2 19 124, then </s> 0
//
// (the ids of test/fixtures/marian-tok), where a piece missing from vocab.json becomes <unk>'s id. Note the
// "ß": a character source.spm does not know comes out as its own text, and because the TARGET side had it as
// a piece, vocab.json has an id for it.
// Before that, the special tokens (</s>, <unk>, <pad>) are cut out of the text, and a language code at the
// start (">>fr<<", multilingual models) is looked up in vocab.json whole.
//
// Decoding maps ids back through vocab.json and lets target.spm join the pieces: "▁" becomes a space, the
// leading one goes, a piece target.spm does not know is kept as written (its "▁" still become spaces), each
// special token is written with a space after it (unless skipped), and the ends are stripped.
//
// How this fits the Tokenizer: the pipeline is source.spm's own (normalizer, Metaspace pre-tokenizer;
// sentencepiece_model.ts), the model step is MarianVocabModel (source.spm's Unigram lattice, then the
// vocab.json lookup), the post-processor appends </s>, and the decoder is MarianDecoder. Hugging Face has no
// fast (tokenizer.json) Marian tokenizer and transformers no converter for it: a Unigram over vocab.json's ids
// cannot say "this piece splits text but has no id" or "this id decodes but never splits text", so such a
// file would tokenize differently. `toJSON()` therefore refuses, naming the files to keep instead.
//
// Not handled (an error says so): separate_vocabs (target_vocab.json), SentencePiece models other than unigram.
// Not applied: model_max_length (transformers only truncates when asked; attn's Seq2SeqLM checks the model's
// max_position_embeddings) and the Moses punctuation normalizer MarianTokenizer sets up but never calls.

import type { AddedToken } from './added_vocabulary.js';
import type { Decoder, DecoderJSON } from './decoders.js';
import { configToken, type TokenizerConfig } from './legacy_files.js';
import type { ModelToken, TokenizerModel } from './model.js';
import { TemplateProcessing } from './post_processors.js';
import { parseSentencePieceModel, sentencePiecePipeline, type PieceType, type SentencePieceModel } from './sentencepiece_model.js';
import { Tokenizer } from './tokenizer.js';
import { Unigram, type UnigramModelJSON } from './unigram.js';

/** The files of a Marian folder, as bytes and text (node.ts reads them; a browser could fetch them). */
export interface MarianFiles {
  /** source.spm */
  sourceSpm: Uint8Array | SentencePieceModel;
  /** target.spm */
  targetSpm: Uint8Array | SentencePieceModel;
  /** vocab.json's text */
  vocab: string;
  /** tokenizer_config.json and special_tokens_map.json, merged (the second wins). */
  config?: TokenizerConfig;
  /** Paths (or names) of the files, for error messages. */
  names?: { sourceSpm?: string; targetSpm?: string; vocab?: string; config?: string };
}

/** The files a Marian tokenizer is made of: keep them together (they have no tokenizer.json form). */
export const MARIAN_FILES = ['source.spm', 'target.spm', 'vocab.json', 'tokenizer_config.json', 'special_tokens_map.json'] as const;

const NO_TOKENIZER_JSON =
  "a Marian tokenizer (source.spm + vocab.json) has no exact tokenizer.json form (Hugging Face has no fast Marian tokenizer); keep the folder's " +
  `${MARIAN_FILES.join(', ')} instead`;

/** transformers' test for a language code in the vocabulary (MarianTokenizer.supported_language_codes). */
function isLanguageCode(piece: string): boolean {
  return piece.startsWith('>>') && piece.endsWith('<<');
}

/**
 * Read vocab.json: an object of piece -> non-negative integer id. Errors name the file and the key.
 * Example: `readMarianVocab('{"</s>": 0, "<unk>": 1, "▁the": 2}', 'vocab.json').get('▁the')` is 2.
 */
export function readMarianVocab(text: string, where: string): Map<string, number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${where}: expected an object {"piece": id, ...}, got ${Array.isArray(parsed) ? 'a list' : JSON.stringify(parsed)?.slice(0, 40)}`);
  }
  const vocab = new Map<string, number>();
  for (const [piece, id] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new Error(`${where}: the id of ${JSON.stringify(piece)} must be a non-negative integer, got ${JSON.stringify(id)}`);
    }
    vocab.set(piece, id);
  }
  if (vocab.size === 0) throw new Error(`${where}: the vocabulary is empty`);
  return vocab;
}

/**
 * The model step of a Marian tokenizer: source.spm's Unigram splits a word into pieces, vocab.json gives
 * each piece its id (a piece it lacks gets the unknown id). Decoding reads vocab.json backwards.
 * Example: with vocab.json {"</s>": 0, "<unk>": 1, "▁the": 2}, tokenize("▁the") gives [{ id: 2, value: "▁the" }].
 * Does not normalize or split text into words (the Tokenizer does), and has no tokenizer.json form.
 */
export class MarianVocabModel implements TokenizerModel {
  readonly type = 'Unigram' as const;
  private readonly pieceOf = new Map<number, string>();

  /**
   * `lattice`: source.spm's pieces and scores, with the pieces SentencePiece never matches in text (control,
   * unknown, unused) emptied out; `vocab`: vocab.json; `unkId`: the id of the unknown token in vocab.json.
   */
  constructor(
    readonly lattice: Unigram,
    private readonly vocab: ReadonlyMap<string, number>,
    readonly unkId: number,
  ) {
    for (const [piece, id] of vocab) this.pieceOf.set(id, piece); // an id given twice decodes to its last piece, as in Python
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  tokenize(word: string): readonly ModelToken[] {
    // MarianTokenizer._convert_token_to_id: self.current_encoder.get(token, self.current_encoder[self.unk_token])
    return this.lattice.tokenize(word).map((t) => ({ id: this.vocab.get(t.value) ?? this.unkId, value: t.value, start: t.start, end: t.end }));
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.pieceOf.get(id);
  }

  getVocab(): Map<string, number> {
    return new Map(this.vocab);
  }

  toJSON(): UnigramModelJSON {
    throw new Error(NO_TOKENIZER_JSON);
  }
}

/** Python's str.strip(): the characters str.isspace() is true for, at both ends (as metrics/text.ts's pyStrip). */
const PY_STRIP = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** SentencePiece's text for a piece of its own <unk> (kDefaultUnknownSymbol). */
const UNKNOWN_SURFACE = ' \u2047 ';

/**
 * MarianTokenizer.convert_tokens_to_string: the pieces between special tokens are joined by target.spm
 * (SentencePieceProcessor::Decode, below), each special token follows its run with a space after it, any
 * "▁" left becomes a space, and the ends are stripped (Python's str.strip).
 *   ["<pad>", "▁Die", "▁Straße", "</s>"]  ->  "<pad> " + "Die Straße" + "</s> "  ->  "<pad> Die Straße</s>"
 * Example: `runDecoder(new MarianDecoder(targetModel, new Set(['</s>'])), ['▁Hallo', '▁Welt'])` is "Hallo Welt".
 * Does not handle byte pieces (<0xXX>): Marian's models have none; they come out as written.
 */
export class MarianDecoder implements Decoder {
  private readonly types = new Map<string, PieceType>();
  private readonly unkPiece: string | undefined;
  private readonly consumeBos: boolean;
  private readonly stripAllLeading: boolean;

  constructor(
    target: SentencePieceModel,
    private readonly specials: ReadonlySet<string>,
  ) {
    for (const p of target.pieces) if (!this.types.has(p.piece)) this.types.set(p.piece, p.type);
    this.unkPiece = target.pieces[target.trainer.unkId]?.piece;
    this.consumeBos = target.normalizer.addDummyPrefix || target.normalizer.removeExtraWhitespaces;
    this.stripAllLeading = target.normalizer.removeExtraWhitespaces;
  }

  decodeChain(tokens: string[]): string[] {
    let out = '';
    let run: string[] = [];
    for (const token of tokens) {
      if (this.specials.has(token)) {
        out += this.decodePieces(run) + token + ' ';
        run = [];
      } else run.push(token);
    }
    out += this.decodePieces(run);
    return [out.replaceAll('▁', ' ').replace(PY_STRIP, '')];
  }

  /**
   * SentencePiece's Decode (sentencepiece_processor.cc, 0.1.97): control pieces vanish; a piece the model does
   * not know is kept as written; the "▁" that starts the text is dropped (with remove_extra_whitespaces every
   * leading one, as long as nothing has been written); every other "▁" becomes a space.
   */
  private decodePieces(pieces: readonly string[]): string {
    let text = '';
    let isBosWs = true;
    let bosWsSeen = false;
    for (const piece of pieces) {
      if (bosWsSeen || text.length > 0) isBosWs = false;
      const type = this.types.get(piece) ?? 'unknown';
      bosWsSeen = false;
      if (type === 'control') continue;
      if (type === 'unknown') {
        text += piece === this.unkPiece ? UNKNOWN_SURFACE : piece;
        continue;
      }
      let p = piece;
      if (isBosWs && this.consumeBos && p.startsWith('▁')) {
        p = p.slice(1);
        bosWsSeen = !this.stripAllLeading;
      }
      text += p.replaceAll('▁', ' ');
    }
    return text;
  }

  toJSON(): DecoderJSON {
    throw new Error(NO_TOKENIZER_JSON);
  }
}

/** The source.spm pieces as a Unigram lattice: pieces SentencePiece never matches in text are emptied out. */
function latticeOf(m: SentencePieceModel): Unigram {
  const hidden = new Set<PieceType>(['control', 'unknown', 'unused']);
  const unkId = m.trainer.unkId >= 0 && m.trainer.unkId < m.pieces.length ? m.trainer.unkId : null;
  return new Unigram(
    m.pieces.map((p): [string, number] => [hidden.has(p.type) ? '' : p.piece, p.score]),
    { unkId, byteFallback: m.trainer.byteFallback },
  );
}

/**
 * A Tokenizer that encodes and decodes as transformers' MarianTokenizer does (see the top of this file).
 * Example: `marianTokenizer({ sourceSpm, targetSpm, vocab: vocabJsonText }).encode('Hello').ids` ends with 0 (</s>).
 * Does not handle separate_vocabs folders (target_vocab.json); its toJSON() throws (no tokenizer.json form).
 */
export function marianTokenizer(files: MarianFiles): Tokenizer {
  const names = { sourceSpm: 'source.spm', targetSpm: 'target.spm', vocab: 'vocab.json', config: 'tokenizer_config.json', ...files.names };
  const config = files.config ?? {};
  if (config['separate_vocabs'] === true) {
    throw new Error(
      `${names.config}: separate_vocabs is true (a target_vocab.json for the target side); attn reads Marian folders with one shared vocab.json only`,
    );
  }
  const source = files.sourceSpm instanceof Uint8Array ? parseSentencePieceModel(files.sourceSpm, names.sourceSpm) : files.sourceSpm;
  const target = files.targetSpm instanceof Uint8Array ? parseSentencePieceModel(files.targetSpm, names.targetSpm) : files.targetSpm;
  const { normalizer, preTokenizer } = sentencePiecePipeline(source, names.sourceSpm);
  sentencePiecePipeline(target, names.targetSpm); // the same checks: attn reads it
  const vocab = readMarianVocab(files.vocab, names.vocab);

  // The special tokens: MarianTokenizer's defaults, or what the config names.
  const token = (key: string, fallback: string): string => configToken(config, key, names.config)?.content ?? fallback;
  const eos = token('eos_token', '</s>');
  const unk = token('unk_token', '<unk>');
  const pad = token('pad_token', '<pad>');
  const idOf = (content: string, key: string): number => {
    const id = vocab.get(content);
    if (id === undefined) throw new Error(`${names.vocab}: the ${key} ${JSON.stringify(content)} is not in the vocabulary (MarianTokenizer requires it)`);
    return id;
  };
  const unkId = idOf(unk, 'unk_token');
  const specials: Array<[string, number]> = [
    [eos, idOf(eos, 'eos_token')],
    [unk, unkId],
    [pad, idOf(pad, 'pad_token')],
  ];
  const extra = config['additional_special_tokens'];
  if (extra !== undefined && extra !== null && !Array.isArray(extra)) {
    throw new Error(`${names.config}: "additional_special_tokens" must be a list, got ${JSON.stringify(extra)?.slice(0, 60)}`);
  }
  let nextId = Math.max(...vocab.values()) + 1;
  for (const [i, entry] of (extra ?? []).entries()) {
    const content = configToken({ t: entry }, 't', `${names.config} additional_special_tokens[${i}]`)!.content;
    if (!specials.some(([c]) => c === content)) specials.push([content, vocab.get(content) ?? nextId++]); // a new one goes after the vocabulary, as transformers adds it
  }

  const addedTokens: AddedToken[] = specials.map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  // Language codes (">>fr<<") are looked up whole; MarianTokenizer finds one at the start of the text with a
  // regex, we cut them out as added tokens (the same ids wherever a code starts the text).
  for (const [piece, id] of vocab) {
    if (isLanguageCode(piece)) addedTokens.push({ id, content: piece, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
  }
  return new Tokenizer({
    model: new MarianVocabModel(latticeOf(source), vocab, unkId),
    normalizer,
    preTokenizer,
    // build_inputs_with_special_tokens: token_ids_0 + [eos], and token_ids_0 + token_ids_1 + [eos] for a pair.
    postProcessor: TemplateProcessing.fromStrings(`$A ${eos}`, `$A $B:1 ${eos}:1`, [[eos, specials[0]![1]]]),
    decoder: new MarianDecoder(target, new Set(specials.map(([c]) => c))),
    addedTokens,
    truncation: null,
    padding: null,
  });
}

/** True for a tokenizer marianTokenizer built (it has no tokenizer.json form: keep its files, MARIAN_FILES). */
export function isMarianTokenizer(tok: Tokenizer): boolean {
  return tok.model instanceof MarianVocabModel;
}
