// Token labels a person can read. A byte-level BPE (GPT-2's) stores " the" as "Ġthe" and "é" as two tokens "Ã" "©"
// when it splits the character's two bytes; a map labelled with those is unreadable. So each token's bytes are
// decoded as UTF-8 when they form whole characters, and shown as \xNN escapes when a character is split across
// tokens. Whitespace is made visible: space ␣, newline ↵, tab ⇥ (a SentencePiece "▁" is a space too).
import type { Encoding, Tokenizer } from '../tokenizers/index.js';
import { byteLevelToBytes } from '../tokenizers/byte_level.js';
import { ByteLevelDecoder, SequenceDecoder, type Decoder } from '../tokenizers/decoders.js';
import type { TokenView } from './explainable.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Whether the tokenizer decodes with GPT-2's byte-level alphabet (alone or inside a Sequence decoder). */
export function isByteLevel(tokenizer: Tokenizer): boolean {
  // The decoder objects themselves, not toJSON(): some tokenizers (Marian's) have no tokenizer.json form.
  const walk = (d: Decoder | null): boolean => d instanceof ByteLevelDecoder || (d instanceof SequenceDecoder && d.decoders.some(walk));
  return walk(tokenizer.decoder);
}

/** Spaces, newlines and tabs made visible. Example: `visibleWhitespace(' to\n')` is '␣to↵'. */
export function visibleWhitespace(s: string): string {
  return s.replace(/[ \u2581]/g, '␣').replace(/\r?\n/g, '↵').replace(/\t/g, '⇥');
}

/**
 * Readable text of one token string. Example: `readableToken('Ġthe', true)` is '␣the';
 * `readableToken('Ã', true)` is '\xc3' (half of a two-byte character). Does not merge split characters.
 */
export function readableToken(token: string, byteLevel: boolean): string {
  if (byteLevel) {
    const bytes = byteLevelToBytes(token);
    if (bytes) {
      try {
        return visibleWhitespace(UTF8.decode(bytes));
      } catch {
        // Not whole characters: show the bytes, printable ASCII as itself.
        return Array.from(bytes, (b) => (b > 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
      }
    }
  }
  return visibleWhitespace(token);
}

const PUNCT = /^[\p{P}\p{S}]+$/u;

/**
 * TokenViews of an encoding: ids, readable text, and flags. A token is special when the post-processor added it
 * ([CLS], </s>) or it is one of the tokenizer's special added tokens written in the text (<|endoftext|>).
 */
export function tokenViews(tokenizer: Tokenizer, encoding: Encoding): TokenView[] {
  const byteLevel = isByteLevel(tokenizer);
  const specials = new Set(tokenizer.addedTokens().filter((t) => t.special).map((t) => t.id));
  return encoding.ids.map((id, i) => {
    const special = encoding.specialTokensMask[i] === 1 || specials.has(id);
    const text = special ? encoding.tokens[i]! : readableToken(encoding.tokens[i]!, byteLevel);
    const bare = text.replace(/[␣↵⇥]/g, '').replace(/^##/, '');
    return { id, text, special, punct: !special && bare.length > 0 && PUNCT.test(bare) };
  });
}

/**
 * TokenViews of bare ids (a generated sequence, a decoder's start token), where there is no Encoding: each id's
 * vocabulary entry made readable; special when it is one of the tokenizer's special added tokens.
 * Example: `idViews(tok, [0, 345, 1])`. Does not merge a character split across tokens.
 */
export function idViews(tokenizer: Tokenizer, ids: ArrayLike<number>): TokenView[] {
  const byteLevel = isByteLevel(tokenizer);
  const specials = new Set(tokenizer.addedTokens().filter((t) => t.special).map((t) => t.id));
  return Array.from(ids, (id) => {
    const special = specials.has(id);
    const raw = tokenizer.idToToken(id) ?? `<${id}>`;
    const text = special ? raw : readableToken(raw, byteLevel);
    const bare = text.replace(/[␣↵⇥]/g, '').replace(/^##/, '');
    return { id, text, special, punct: !special && bare.length > 0 && PUNCT.test(bare) };
  });
}
