// Decoders: turn a list of token strings back into text (the last step of `Tokenizer.decode`).
//
//   WordPiece:  ["hello", "una", "##ffa", "##ble", "!"]  ->  "hello unaffable!"
//     join with spaces, glue "##" pieces to the previous token, then (cleanup) undo the spaces BERT's
//     tokenization put before punctuation and inside English contractions (" ." -> ".", " n't" -> "n't").
//   ByteLevel:  ["Hello", "Ġworld", "âĢĶ"]  ->  bytes 48 65 6C 6C 6F 20 77 ... E2 80 94  ->  "Hello world—"
//     each character of a byte-level token stands for one byte; the bytes are decoded as UTF-8 at the end, so
//     a character split across tokens comes back whole. Invalid UTF-8 becomes U+FFFD (as Rust's
//     from_utf8_lossy does).
//
// Semantics follow Hugging Face `tokenizers` (decoders/wordpiece.rs, decoders/byte_level.rs).
// Supported (tokenizer.json `type`): WordPiece, ByteLevel, Sequence of those.

import { unicodeToBytes } from './byte_level.js';

/** The tokenizer.json form of a decoder. */
export type DecoderJSON = { type: string; [key: string]: unknown };

/** Turns token strings into text. `decodeChain` works token by token so decoders can be chained. */
export interface Decoder {
  decodeChain(tokens: string[]): string[];
  toJSON(): DecoderJSON;
}

/** Run a decoder and join its output. */
export function runDecoder(decoder: Decoder, tokens: string[]): string {
  return decoder.decodeChain(tokens).join('');
}

/**
 * HF's cleanup, applied to each token after its leading space is added. It only ever sees one token (plus the
 * space before it), so " ' " (quote between spaces) never matches in practice; we keep HF's list as it is.
 */
function cleanup(token: string): string {
  return token
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(' do not', " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/**
 * The WordPiece decoder. Example: `runDecoder(new WordPieceDecoder(), ['un', '##able', '.'])` is "unable.".
 */
export class WordPieceDecoder implements Decoder {
  constructor(
    readonly prefix = '##',
    readonly cleanup = true,
  ) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((token, i) => {
      let t = token;
      if (i !== 0) t = t.startsWith(this.prefix) ? t.slice(this.prefix.length) : ' ' + t;
      return this.cleanup ? cleanup(t) : t;
    });
  }
  toJSON(): DecoderJSON {
    return { type: 'WordPiece', prefix: this.prefix, cleanup: this.cleanup };
  }
}

const CHAR_TO_BYTE = unicodeToBytes();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

/**
 * The byte-level decoder: tokens are strings over GPT-2's 256-character byte alphabet. A token that contains a
 * character outside that alphabet (an added token such as "<|im_start|> ") is taken as literal text (its UTF-8
 * bytes), as HF does. Example: `runDecoder(new ByteLevelDecoder(), ['Hello', 'Ġworld'])` is "Hello world".
 */
export class ByteLevelDecoder implements Decoder {
  decodeChain(tokens: string[]): string[] {
    const bytes: number[] = [];
    for (const token of tokens) {
      const mapped: number[] = [];
      let allByteLevel = true;
      for (const ch of token) {
        const b = CHAR_TO_BYTE.get(ch);
        if (b === undefined) {
          allByteLevel = false;
          break;
        }
        mapped.push(b);
      }
      if (allByteLevel) for (const b of mapped) bytes.push(b);
      else for (const b of utf8Encoder.encode(token)) bytes.push(b);
    }
    return [utf8Decoder.decode(new Uint8Array(bytes))];
  }
  toJSON(): DecoderJSON {
    return { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  }
}

/** Several decoders in a row. */
export class SequenceDecoder implements Decoder {
  constructor(readonly decoders: readonly Decoder[]) {}
  decodeChain(tokens: string[]): string[] {
    let out = tokens;
    for (const d of this.decoders) out = d.decodeChain(out);
    return out;
  }
  toJSON(): DecoderJSON {
    return { type: 'Sequence', decoders: this.decoders.map((d) => d.toJSON()) };
  }
}

/** The decoder types `decoderFromJSON` accepts, for error messages. */
export const SUPPORTED_DECODERS = ['WordPiece', 'ByteLevel', 'Sequence'] as const;

/** Build a decoder from its tokenizer.json form; unknown types are an error listing the supported ones. */
export function decoderFromJSON(obj: DecoderJSON): Decoder {
  switch (obj.type) {
    case 'WordPiece': {
      const prefix = obj.prefix ?? '##';
      const clean = obj.cleanup ?? true;
      if (typeof prefix !== 'string' || typeof clean !== 'boolean') {
        throw new Error(
          `tokenizer.json decoder WordPiece: "prefix" must be a string and "cleanup" true/false, got ${JSON.stringify(obj)}`,
        );
      }
      return new WordPieceDecoder(prefix, clean);
    }
    case 'ByteLevel':
      return new ByteLevelDecoder();
    case 'Sequence': {
      if (!Array.isArray(obj.decoders)) throw new Error('tokenizer.json decoder Sequence: "decoders" must be a list of decoders');
      return new SequenceDecoder((obj.decoders as DecoderJSON[]).map((d) => decoderFromJSON(d)));
    }
    default:
      throw new Error(
        `tokenizer.json decoder: type ${JSON.stringify(obj.type)} is not supported; supported decoders: ${SUPPORTED_DECODERS.join(', ')}`,
      );
  }
}
