// `attn/tokenizers`: tokenizers on their own, without the tensor engine. Browser-safe: nothing here (or in
// anything it imports) touches node: modules. Node-only helpers (files, training from files, multi-threaded
// encoding) are in ./node.ts, imported separately:
//
//   import { Tokenizer, trainTokenizer } from 'attn/tokenizers';                  // anywhere
//   import { loadTokenizer, saveTokenizer } from 'attn/dist/src/tokenizers/node.js'; // Node only
//
// Quick tour:
//   const bert = Tokenizer.fromWordPieceVocab(vocabTxt);          // or Tokenizer.fromJSON(tokenizerJson)
//   const enc = bert.encode('Hello world!', undefined, { maxLength: 8, padding: 'max_length' });
//   enc.ids; enc.tokens; enc.offsets; enc.attentionMask; enc.typeIds; enc.specialTokensMask
//   bert.decode(enc.ids, { skipSpecialTokens: true });            // "hello world!"
//   const gpt = Tokenizer.gpt2();                                 // built in, offline
//   const mine = await trainTokenizer(lines, { type: 'bpe', vocabSize: 8000 });   // or 'wordpiece', 'unigram'
//   const t5 = Tokenizer.fromJSON(t5TokenizerJson);               // Unigram + Precompiled + Metaspace
//   JSON.stringify(mine.toJSON());                                 // a tokenizer.json Python transformers loads

// The Tokenizer and its results.
export { Tokenizer, type EncodeOptions, type DecodeOptions, type TextInput, type BertTokenizerOptions } from './tokenizer.js';
export type { Encoding, Side } from './encoding.js';
export type { AddedToken } from './added_vocabulary.js';

// Training.
export { trainTokenizer, createTrainer, type TrainTokenizerOptions, type TextTrainer } from './train.js';
export { WordPieceTrainer, trainWordPiece, type TrainWordPieceOptions } from './wordpiece_trainer.js';
export { BPETrainer, trainBPE, type TrainBPEOptions, type TrainProgress } from './bpe_trainer.js';
export { UnigramTrainer, trainUnigram, type TrainUnigramOptions } from './unigram_trainer.js';

// Models.
export { WordPiece, type WordPieceOptions, type WordPieceModelJSON, type ModelToken } from './wordpiece.js';
export { ByteLevelBPE, type ByteLevelBPEConfig, type SpecialTokenOptions, type BPEModelJSON } from './bpe.js';
export { ByteLevelBPEModel, type TokenizerModel } from './model.js';
export { Unigram, type UnigramOptions, type UnigramModelJSON } from './unigram.js';
export { bertFromVocabTxt, byteLevelFromVocabMerges, addTokensFromJSON, type TokenizerConfig } from './legacy_files.js';
export {
  parseSentencePieceModel,
  tokenizerFromSentencePiece,
  type SentencePieceModel,
  type SentencePieceTokenizerOptions,
  type PieceType,
} from './sentencepiece_model.js';
export { marianTokenizer, readMarianVocab, isMarianTokenizer, MarianVocabModel, MarianDecoder, MARIAN_FILES, type MarianFiles } from './marian.js';
export { gpt2, GPT2_END_OF_TEXT, GPT2_END_OF_TEXT_ID } from './gpt2.js';
export { StreamDecoder, type TokenBytesSource } from './stream_decoder.js';
export { bytesToUnicode, unicodeToBytes } from './byte_level.js';

// Pipeline components (each with fromJSON/toJSON for tokenizer.json).
export {
  NormalizedString,
  BertNormalizer,
  Lowercase,
  StripAccents,
  UnicodeNormalizer,
  Strip,
  Replace,
  Prepend,
  Nmt,
  ReplacePattern,
  SequenceNormalizer,
  normalizerFromJSON,
  type Normalizer,
  type NormalizerJSON,
  type BertNormalizerOptions,
} from './normalizers.js';
export {
  BertPreTokenizer,
  Whitespace,
  WhitespaceSplit,
  Punctuation,
  Digits,
  SplitLiteral,
  ByteLevelPreTokenizer,
  Metaspace,
  SequencePreTokenizer,
  preTokenizerFromJSON,
  type PreTokenizer,
  type PreTokenizerJSON,
  type Split,
  type SplitBehavior,
  type PrependScheme,
} from './pre_tokenizers.js';
export { Precompiled, CharsMap } from './precompiled.js';
export {
  TemplateProcessing,
  BertProcessing,
  RobertaProcessing,
  ByteLevelProcessing,
  SequenceProcessing,
  postProcessorFromJSON,
  type PostProcessor,
  type PostProcessorJSON,
} from './post_processors.js';
export {
  WordPieceDecoder,
  ByteLevelDecoder,
  MetaspaceDecoder,
  ReplaceDecoder,
  ByteFallbackDecoder,
  FuseDecoder,
  StripDecoder,
  SequenceDecoder,
  decoderFromJSON,
  type Decoder,
  type DecoderJSON,
} from './decoders.js';
export {
  parseTokenizerJSON,
  tokenizerPartsToJSON,
  type TokenizerJSON,
  type TokenizerParts,
  type TruncationParams,
  type PaddingParams,
  type TruncationStrategy,
} from './tokenizer_json.js';
