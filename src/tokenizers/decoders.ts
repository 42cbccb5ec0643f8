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
//   Metaspace:  ["▁Hello", "▁world"]  ->  "Hello world"
//     SentencePiece's word marks become spaces again; the first token's marks are dropped (they were put there
//     by the pre-tokenizer), unless the pre-tokenizer never prepends.
//   ByteFallback + Fuse (Llama-2 style Unigram/BPE):  ["▁I", "<0xE2>", "<0x82>", "<0xAC>"]  ->  "▁I€"
//
// Semantics follow Hugging Face `tokenizers` (decoders/*.rs, pre_tokenizers/metaspace.rs).
// Supported (tokenizer.json `type`): WordPiece, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip,
// Sequence.

import { unicodeToBytes } from './byte_level.js';
import { metaspaceFields, type PrependScheme } from './pre_tokenizers.js';
import { replacePatternFromJSON, type ReplacePattern } from './normalizers.js';

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
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }); // ignoreBOM: a leading U+FEFF is text, as in Rust
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

/**
 * SentencePiece's decoder: every replacement character ("▁") becomes a space, except in the first token,
 * where they are dropped (the pre-tokenizer put one there) unless prepend_scheme is 'never'.
 * Example: `runDecoder(new MetaspaceDecoder(), ['▁Hey', '▁friend', '!'])` is "Hey friend!".
 */
export class MetaspaceDecoder implements Decoder {
  constructor(
    readonly replacement = '▁',
    readonly prependScheme: PrependScheme = 'always',
    readonly split = true,
  ) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((token, i) => {
      const space = i === 0 && this.prependScheme !== 'never' ? '' : ' ';
      return token.split(this.replacement).join(space);
    });
  }
  toJSON(): DecoderJSON {
    return { type: 'Metaspace', replacement: this.replacement, prepend_scheme: this.prependScheme, split: this.split };
  }
}

/** Replace a pattern in every token. Example: new ReplaceDecoder({ String: '▁' }, ' ') turns "▁Hi" into " Hi". */
export class ReplaceDecoder implements Decoder {
  private readonly regex: RegExp;
  constructor(
    readonly pattern: ReplacePattern,
    readonly content: string,
  ) {
    this.regex = pattern.regex;
  }
  decodeChain(tokens: string[]): string[] {
    return tokens.map((t) => t.replace(this.regex, () => this.content));
  }
  toJSON(): DecoderJSON {
    return { type: 'Replace', pattern: this.pattern.toJSON(), content: this.content };
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // ignoreBOM: keep a U+FEFF as text

/**
 * Byte tokens "<0xXX>" become the text their bytes spell: consecutive byte tokens are decoded together as
 * UTF-8; a run that is not valid UTF-8 becomes one U+FFFD per byte (as HF does).
 * Example: `runDecoder(new ByteFallbackDecoder(), ['<0xE2>', '<0x82>', '<0xAC>'])` is "€".
 */
export class ByteFallbackDecoder implements Decoder {
  decodeChain(tokens: string[]): string[] {
    const out: string[] = [];
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length === 0) return;
      try {
        out.push(strictUtf8.decode(new Uint8Array(bytes)));
      } catch {
        for (let k = 0; k < bytes.length; k++) out.push('\ufffd');
      }
      bytes = [];
    };
    for (const token of tokens) {
      const m = token.length === 6 ? /^<0x([0-9A-Fa-f]{2})>$/.exec(token) : null;
      if (m) bytes.push(parseInt(m[1]!, 16));
      else {
        flush();
        out.push(token);
      }
    }
    flush();
    return out;
  }
  toJSON(): DecoderJSON {
    return { type: 'ByteFallback' };
  }
}

/** Join all tokens into one string (a step other decoders can follow). */
export class FuseDecoder implements Decoder {
  decodeChain(tokens: string[]): string[] {
    return [tokens.join('')];
  }
  toJSON(): DecoderJSON {
    return { type: 'Fuse' };
  }
}

/**
 * Remove up to `start` leading and `stop` trailing copies of `content` from each token (Llama-2's decoder
 * strips the space its Prepend normalizer added). Example: new StripDecoder(' ', 1, 0) turns " Hi" into "Hi".
 */
export class StripDecoder implements Decoder {
  constructor(
    readonly content: string,
    readonly start: number,
    readonly stop: number,
  ) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((token) => {
      const chars = [...token];
      let startCut = 0;
      for (let i = 0; i < Math.min(this.start, chars.length); i++) {
        if (chars[i] !== this.content) break;
        startCut = i + 1;
      }
      let stopCut = chars.length;
      for (let i = 0; i < this.stop; i++) {
        const index = chars.length - i - 1;
        if (index < 0 || chars[index] !== this.content) break;
        stopCut = index;
      }
      return chars.slice(startCut, Math.max(startCut, stopCut)).join('');
    });
  }
  toJSON(): DecoderJSON {
    return { type: 'Strip', content: this.content, start: this.start, stop: this.stop };
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
export const SUPPORTED_DECODERS = ['WordPiece', 'ByteLevel', 'Metaspace', 'Replace', 'ByteFallback', 'Fuse', 'Strip', 'Sequence'] as const;

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
    case 'Metaspace': {
      const f = metaspaceFields(obj, 'decoder');
      return new MetaspaceDecoder(f.replacement, f.prependScheme, f.split);
    }
    case 'Replace': {
      if (typeof obj.content !== 'string') {
        throw new Error(`tokenizer.json decoder Replace: "content" must be a string, got ${JSON.stringify(obj.content)}`);
      }
      return new ReplaceDecoder(replacePatternFromJSON(obj.pattern, 'decoder Replace'), obj.content);
    }
    case 'ByteFallback':
      return new ByteFallbackDecoder();
    case 'Fuse':
      return new FuseDecoder();
    case 'Strip': {
      const { content, start, stop } = obj;
      if (typeof content !== 'string' || [...content].length !== 1 || !Number.isInteger(start) || !Number.isInteger(stop) || (start as number) < 0 || (stop as number) < 0) {
        throw new Error(
          `tokenizer.json decoder Strip: needs "content" (one character), "start" and "stop" (non-negative integers), got ${JSON.stringify(obj)}`,
        );
      }
      return new StripDecoder(content, start as number, stop as number);
    }
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
