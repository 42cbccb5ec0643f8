// Reading a SentencePiece model file (.model / .spm: T5's spiece.model, Marian's source.spm, ALBERT, XLNet,
// Llama-2's tokenizer.model) straight into an attn Tokenizer, with no Python and no protobuf library.
//
// The file is a protocol buffer (sentencepiece_model.proto), a sequence of fields, each a key and a value:
//
//   key = varint(field number << 3 | wire type)     wire type 0: varint, 1: 8 bytes, 2: length + bytes, 5: 4 bytes
//   varint = 7 bits per byte, low bits first, the top bit set on every byte but the last
//
//   ModelProto        1 pieces (repeated SentencePiece)   2 trainer_spec   3 normalizer_spec
//   SentencePiece     1 piece (string)   2 score (float)   3 type (NORMAL 1, UNKNOWN 2, CONTROL 3,
//                     USER_DEFINED 4, UNUSED 5, BYTE 6)
//   TrainerSpec       3 model_type (UNIGRAM 1, BPE 2, WORD 3, CHAR 4)   4 vocab_size   24 treat_whitespace_as_suffix
//                     35 byte_fallback   40 unk_id   41 bos_id   42 eos_id   43 pad_id
//   NormalizerSpec    1 name   2 precompiled_charsmap (bytes)   3 add_dummy_prefix   4 remove_extra_whitespaces
//                     5 escape_whitespaces
//
// Fields we do not need are skipped by their wire type; a field given twice follows protobuf's rules (the last
// scalar wins, messages merge).
//
// The Tokenizer we build is the one Hugging Face transformers' converters write for the model (SpmConverter),
// so it encodes as Hugging Face does and as SentencePiece does on ordinary text:
//   - pieces and scores -> a Unigram model (scores are the file's 32-bit floats, exactly);
//   - control pieces (<s>, </s>, <pad>) and the unknown piece -> special added tokens; user-defined pieces ->
//     added tokens;
//   - remove_extra_whitespaces (T5, Marian, ALBERT): Precompiled(charsmap), Strip right, runs of spaces -> "▁";
//     Metaspace pre-tokenizer and decoder ("▁" in front when add_dummy_prefix);
//   - otherwise (Llama-2 style): Precompiled(charsmap), Prepend "▁" (add_dummy_prefix), spaces -> "▁", no
//     pre-tokenizer; decoder "▁" -> " ", byte fallback, strip the first space.
// Not supported (an error says so): SentencePiece BPE / word / char models, treat_whitespace_as_suffix,
// escape_whitespaces false. Marian's vocab.json (ids that differ from the .model's) is read by marian.ts.

import { ByteFallbackDecoder, FuseDecoder, MetaspaceDecoder, ReplaceDecoder, SequenceDecoder, StripDecoder, type Decoder } from './decoders.js';
import { Prepend, Replace, ReplacePattern, SequenceNormalizer, Strip, type Normalizer } from './normalizers.js';
import { TemplateProcessing } from './post_processors.js';
import { Precompiled } from './precompiled.js';
import { Metaspace } from './pre_tokenizers.js';
import { Tokenizer } from './tokenizer.js';
import { Unigram } from './unigram.js';

/** The kind of a piece (SentencePiece.Type). */
export type PieceType = 'normal' | 'unknown' | 'control' | 'user_defined' | 'unused' | 'byte';
const PIECE_TYPES: Record<number, PieceType> = { 1: 'normal', 2: 'unknown', 3: 'control', 4: 'user_defined', 5: 'unused', 6: 'byte' };
const MODEL_TYPES: Record<number, 'unigram' | 'bpe' | 'word' | 'char'> = { 1: 'unigram', 2: 'bpe', 3: 'word', 4: 'char' };

/** What we read from a .model file. */
export interface SentencePieceModel {
  pieces: Array<{ piece: string; score: number; type: PieceType }>;
  trainer: {
    modelType: 'unigram' | 'bpe' | 'word' | 'char';
    vocabSize: number;
    byteFallback: boolean;
    treatWhitespaceAsSuffix: boolean;
    unkId: number;
    bosId: number;
    eosId: number;
    padId: number;
  };
  normalizer: {
    name: string;
    precompiledCharsmap: Uint8Array;
    addDummyPrefix: boolean;
    removeExtraWhitespaces: boolean;
    escapeWhitespaces: boolean;
  };
}

// ── a minimal protobuf reader ──────────────────────────────────────────────────────────────────────────────

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Reads the fields of one protobuf message in `bytes[start, end)`. */
class ProtoReader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  private fail(message: string): never {
    throw new Error(`${this.what}: ${message} (byte ${this.pos}); is this a SentencePiece .model file?`);
  }

  /**
   * A varint as a number: values below 2^53 exactly. A negative int32 (pad_id = -1) is written as a 10-byte
   * varint of its 64-bit two's complement; its low 32 bits, read as signed, give it back.
   */
  varint(): number {
    let result = 0;
    let scale = 1;
    let low32 = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('the file ends inside a number');
      const b = this.bytes[this.pos++]!;
      if (i < 5) low32 |= (b & 0x7f) << (7 * i); // bits past 32 fall off the shift
      result += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return i === 9 ? low32 | 0 : result;
    }
    this.fail('a number is longer than 10 bytes');
  }

  /** The next field: its number, wire type, and where its value is. Returns null at the end. */
  next(): { field: number; wire: number; start: number; end: number; value: number } | null {
    if (this.pos >= this.end) return null;
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    const start = this.pos;
    let value = 0;
    switch (wire) {
      case 0:
        value = this.varint();
        break;
      case 1:
        this.pos += 8;
        break;
      case 2: {
        const length = this.varint();
        if (length > this.end - this.pos) this.fail(`field ${field} claims ${length} bytes, ${this.end - this.pos} are left`);
        return { field, wire, start: this.pos, end: (this.pos += length), value: length };
      }
      case 5:
        this.pos += 4;
        break;
      default:
        this.fail(`unknown wire type ${wire} in field ${field}`);
    }
    if (this.pos > this.end) this.fail(`field ${field} runs past the end`);
    return { field, wire, start, end: this.pos, value };
  }

  string(start: number, end: number, field: string): string {
    try {
      return utf8.decode(this.bytes.subarray(start, end));
    } catch {
      this.fail(`${field} is not valid UTF-8`);
    }
  }

  float(start: number): number {
    return new DataView(this.bytes.buffer, this.bytes.byteOffset + start, 4).getFloat32(0, true);
  }
}

/**
 * Parse a SentencePiece .model file. Errors name the file (`what`), the byte and what was wrong.
 * Example: `parseSentencePieceModel(readFileSync('spiece.model')).pieces[3]` is { piece: '▁', score: -2.01, type: 'normal' }.
 */
export function parseSentencePieceModel(bytes: Uint8Array, what = 'SentencePiece model'): SentencePieceModel {
  const model: SentencePieceModel = {
    pieces: [],
    trainer: { modelType: 'unigram', vocabSize: 8000, byteFallback: false, treatWhitespaceAsSuffix: false, unkId: 0, bosId: 1, eosId: 2, padId: -1 },
    normalizer: { name: '', precompiledCharsmap: new Uint8Array(0), addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true },
  };
  const top = new ProtoReader(bytes, what);
  for (let f = top.next(); f; f = top.next()) {
    if (f.wire !== 2) continue;
    const inner = new ProtoReader(bytes, what, f.start, f.end);
    if (f.field === 1) {
      const p = { piece: '', score: 0, type: 'normal' as PieceType };
      for (let g = inner.next(); g; g = inner.next()) {
        if (g.field === 1 && g.wire === 2) p.piece = inner.string(g.start, g.end, `piece ${model.pieces.length}`);
        else if (g.field === 2 && g.wire === 5) p.score = inner.float(g.start);
        else if (g.field === 3 && g.wire === 0) {
          const t = PIECE_TYPES[g.value];
          if (t === undefined) throw new Error(`${what}: piece ${model.pieces.length} has unknown type ${g.value}`);
          p.type = t;
        }
      }
      model.pieces.push(p);
    } else if (f.field === 2) {
      const t = model.trainer;
      for (let g = inner.next(); g; g = inner.next()) {
        if (g.wire !== 0) continue;
        if (g.field === 3) {
          const m = MODEL_TYPES[g.value];
          if (m === undefined) throw new Error(`${what}: trainer_spec.model_type ${g.value} is unknown`);
          t.modelType = m;
        } else if (g.field === 4) t.vocabSize = g.value;
        else if (g.field === 24) t.treatWhitespaceAsSuffix = g.value !== 0;
        else if (g.field === 35) t.byteFallback = g.value !== 0;
        else if (g.field === 40) t.unkId = g.value;
        else if (g.field === 41) t.bosId = g.value;
        else if (g.field === 42) t.eosId = g.value;
        else if (g.field === 43) t.padId = g.value;
      }
    } else if (f.field === 3) {
      const n = model.normalizer;
      for (let g = inner.next(); g; g = inner.next()) {
        if (g.field === 1 && g.wire === 2) n.name = inner.string(g.start, g.end, 'normalizer_spec.name');
        else if (g.field === 2 && g.wire === 2) n.precompiledCharsmap = bytes.slice(g.start, g.end);
        else if (g.field === 3 && g.wire === 0) n.addDummyPrefix = g.value !== 0;
        else if (g.field === 4 && g.wire === 0) n.removeExtraWhitespaces = g.value !== 0;
        else if (g.field === 5 && g.wire === 0) n.escapeWhitespaces = g.value !== 0;
      }
    }
  }
  if (model.pieces.length === 0) throw new Error(`${what}: no pieces found; is this a SentencePiece .model file?`);
  return model;
}

/** Options of tokenizerFromSentencePiece. */
export interface SentencePieceTokenizerOptions {
  /** Put the model's <s> (bos_id) in front of every text. Default false (SentencePiece's encode adds nothing). */
  addBos?: boolean;
  /** Put the model's </s> (eos_id) after every text, as T5 and Marian do. Default false. */
  addEos?: boolean;
  /** Name for error messages. */
  what?: string;
}

/**
 * A Tokenizer from a SentencePiece .model file (its bytes, or the parsed model); see the top of this file.
 * Example: `tokenizerFromSentencePiece(readFileSync('spiece.model'), { addEos: true })` tokenizes like T5.
 */
export function tokenizerFromSentencePiece(input: Uint8Array | SentencePieceModel, options: SentencePieceTokenizerOptions = {}): Tokenizer {
  const what = options.what ?? 'SentencePiece model';
  const m = input instanceof Uint8Array ? parseSentencePieceModel(input, what) : input;
  const t = m.trainer;
  const { normalizer, preTokenizer, decoder } = sentencePiecePipeline(m, what); // checks that attn reads the model
  const unkId = t.unkId >= 0 && t.unkId < m.pieces.length ? t.unkId : null;
  const model = new Unigram(
    m.pieces.map((p): [string, number] => [p.piece, p.score]),
    { unkId, byteFallback: t.byteFallback },
  );

  const addedTokens = m.pieces.flatMap((p, id) =>
    p.type === 'control' || p.type === 'unknown' || p.type === 'user_defined'
      ? [{ id, content: p.piece, single_word: false, lstrip: false, rstrip: false, normalized: false, special: p.type !== 'user_defined' }]
      : [],
  );
  const template: Array<[string, number]> = [];
  for (const [wanted, id, name] of [[options.addBos, t.bosId, 'bos_id'], [options.addEos, t.eosId, 'eos_id']] as const) {
    if (!wanted) continue;
    if (id < 0 || id >= m.pieces.length) throw new Error(`${what}: asked to add ${name}, but the model has none (${name} = ${id})`);
    template.push([m.pieces[id]!.piece, id]);
  }
  let postProcessor: TemplateProcessing | null = null;
  if (template.length > 0) {
    const bos = options.addBos ? `${m.pieces[t.bosId]!.piece} ` : '';
    const eos = options.addEos ? ` ${m.pieces[t.eosId]!.piece}` : '';
    postProcessor = TemplateProcessing.fromStrings(`${bos}$A${eos}`, `${bos}$A${eos} ${bos}$B:1${eos}:1`.replace(/ +/g, ' ').trim(), template);
  }
  return new Tokenizer({
    model,
    normalizer,
    preTokenizer,
    postProcessor,
    decoder,
    addedTokens,
    truncation: null,
    padding: null,
  });
}

/**
 * The text steps around the model that a SentencePiece model's settings ask for (see the top of this file):
 * the normalizer, the Metaspace pre-tokenizer (null in the Llama-2 style) and the decoder. Shared by
 * tokenizerFromSentencePiece and Marian's tokenizer (marian.ts), whose ids come from elsewhere. Throws for the
 * models attn does not read (BPE / word / char, treat_whitespace_as_suffix, escape_whitespaces false).
 * Example: `sentencePiecePipeline(parseSentencePieceModel(bytes), 'spiece.model').preTokenizer` is a Metaspace.
 */
export function sentencePiecePipeline(m: SentencePieceModel, what: string): { normalizer: Normalizer | null; preTokenizer: Metaspace | null; decoder: Decoder } {
  const t = m.trainer;
  const n = m.normalizer;
  if (t.modelType !== 'unigram') {
    throw new Error(
      `${what}: a SentencePiece ${t.modelType} model; attn reads SentencePiece unigram models only (its BPE is byte-level, ` +
        'GPT-2 style). Convert the model to tokenizer.json with Hugging Face transformers instead.',
    );
  }
  if (t.treatWhitespaceAsSuffix) throw new Error(`${what}: treat_whitespace_as_suffix is not supported`);
  if (!n.escapeWhitespaces) throw new Error(`${what}: escape_whitespaces false (spaces kept as spaces, not "▁") is not supported`);

  const normalizers: Normalizer[] = [];
  if (n.precompiledCharsmap.length > 0) {
    try {
      normalizers.push(new Precompiled(n.precompiledCharsmap));
    } catch (e) {
      throw new Error(`${what}: normalizer_spec.${(e as Error).message}`);
    }
  }
  const scheme = n.addDummyPrefix ? 'always' : 'never';
  let decoder: Decoder;
  let preTokenizer: Metaspace | null = null;
  if (n.removeExtraWhitespaces) {
    normalizers.push(new Strip(false, true), new Replace(new ReplacePattern('Regex', ' {2,}'), '▁'));
    preTokenizer = new Metaspace('▁', scheme, true);
    const metaspace = new MetaspaceDecoder('▁', scheme, true);
    decoder = t.byteFallback ? new SequenceDecoder([metaspace, new ByteFallbackDecoder(), new FuseDecoder()]) : metaspace;
  } else {
    if (n.addDummyPrefix) normalizers.push(new Prepend('▁'));
    normalizers.push(new Replace(' ', '▁'));
    const steps: Decoder[] = [new ReplaceDecoder(new ReplacePattern('String', '▁'), ' ')];
    if (t.byteFallback) steps.push(new ByteFallbackDecoder());
    steps.push(new FuseDecoder());
    if (n.addDummyPrefix) steps.push(new StripDecoder(' ', 1, 0));
    decoder = new SequenceDecoder(steps);
  }

  return { normalizer: normalizers.length === 0 ? null : normalizers.length === 1 ? normalizers[0]! : new SequenceNormalizer(normalizers), preTokenizer, decoder };
}
