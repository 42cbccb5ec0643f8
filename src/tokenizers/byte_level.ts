// The byte-level alphabet of GPT-2: every one of the 256 byte values gets a printable Unicode character.
//
// Why: byte-level BPE works on UTF-8 bytes, so any text in any language (and any byte sequence at all) can be
// encoded without an [UNK] token. But vocab.json and tokenizer.json store tokens as *strings*, and raw bytes
// such as 0x20 (space) or 0x0A (newline) or 0xE2 (the first byte of "—") are unprintable or not valid text on
// their own. GPT-2 therefore maps each byte to one visible character:
//   - the 188 bytes that are already printable Latin-1 characters ('!'..'~', '¡'..'¬', '®'..'ÿ') map to
//     themselves;
//   - the other 68 (control bytes, space, DEL, NBSP, soft hyphen, ...) map, in byte order, to U+0100, U+0101,
//     ... so space 0x20 becomes 'Ġ' (U+0120) and newline 0x0A becomes 'Ċ' (U+010A).
// A token like " the" is stored as "Ġthe"; "—" (bytes E2 80 94) is stored as "âĢĶ".
//
// Token ids 0..255 of GPT-2 follow the order of this table's *characters* ('!' = 0, '"' = 1, ..., 'Ġ' = 220),
// which is also what Hugging Face's trainer produces when it sorts its byte-level alphabet.

/** Build both tables once; the exported functions hand out copies so callers cannot corrupt them. */
function buildTables(): { byteToChar: string[]; charToByte: Map<string, number> } {
  const byteToChar: string[] = new Array<string>(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0; // how many non-printable bytes have been given a character from U+0100 upward so far
  for (let b = 0; b < 256; b++) {
    if (printable(b)) {
      byteToChar[b] = String.fromCharCode(b);
    } else {
      byteToChar[b] = String.fromCharCode(256 + next);
      next++;
    }
  }
  const charToByte = new Map<string, number>();
  byteToChar.forEach((ch, b) => charToByte.set(ch, b));
  return { byteToChar, charToByte };
}

const { byteToChar, charToByte } = buildTables();

// The same inverse as a flat table indexed by char code (all 256 characters are below U+0144), for the hot
// loop in byteLevelToBytes; -1 marks characters outside the alphabet.
const charCodeToByte = new Int16Array(0x144).fill(-1);
byteToChar.forEach((ch, b) => (charCodeToByte[ch.charCodeAt(0)] = b));

/**
 * GPT-2's byte → character table (256 entries, index = byte value).
 * Example: `bytesToUnicode()[0x20] === 'Ġ'`.
 */
export function bytesToUnicode(): string[] {
  return byteToChar.slice();
}

/**
 * The inverse table: byte-level character → byte value.
 * Example: `unicodeToBytes().get('Ċ') === 0x0a`.
 */
export function unicodeToBytes(): Map<string, number> {
  return new Map(charToByte);
}

/** Bytes → their byte-level string, e.g. [0x20, 0x74, 0x68, 0x65] → "Ġthe". */
export function bytesToByteLevel(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += byteToChar[bytes[i]!]!;
  return s;
}

/**
 * A byte-level string → its bytes, e.g. "Ġthe" → [0x20, 0x74, 0x68, 0x65].
 * Returns undefined when a character is not in the 256-character alphabet (for example a special token such as
 * "<|im start|>" that contains a real space): such strings are not byte-level tokens.
 */
export function byteLevelToBytes(s: string): Uint8Array | undefined {
  const out = new Uint8Array(s.length); // every alphabet character is one UTF-16 code unit
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const b = c < 0x144 ? charCodeToByte[c]! : -1;
    if (b < 0) return undefined;
    out[i] = b;
  }
  return out;
}
