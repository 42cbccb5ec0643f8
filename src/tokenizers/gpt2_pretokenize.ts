// GPT-2's pre-tokenizer: split text into "pieces" (words, numbers, punctuation runs, whitespace) before BPE.
//
// BPE never merges across a piece boundary, so " the" and "the" and "The" become separate vocabulary entries
// and a number never fuses with the word after it. GPT-2 (and tiktoken's r50k_base) split with this regex:
//
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// read left to right at each position, first alternative that matches wins:
//   1. an English contraction suffix ('s 't 're 've 'm 'll 'd — lowercase only);
//   2. an optional single space followed by a run of letters     (" hello");
//   3. an optional single space followed by a run of digits      (" 2024");
//   4. an optional single space followed by a run of "other"     (" ...", "!?", "🙂");
//   5. a run of whitespace that is not followed by a non-space, i.e. all of a trailing run, or all but the last
//      character of a run that precedes a word (that last space then becomes the " ?" of the next word);
//   6. any remaining run of whitespace (a single "\n" before a word, for example).
//
// Two details decide exactness against tiktoken (whose Rust regex engine defines the ground truth):
//   - `\s` there is Unicode's White_Space property. JavaScript's `\s` differs in two characters: it includes
//     U+FEFF (byte order mark) and leaves out U+0085 (next line). GPT2_PATTERN below spells the class out.
//   - The regex works on code points (the `u` flag): "🙂" is one character, not two surrogates. A lone
//     surrogate is "other" — it becomes U+FFFD's bytes when encoded to UTF-8, and U+FFFD is a symbol.
//
// Running a regex costs an allocation per match; gpt2PieceEnd() below is the same automaton written as a loop
// over char codes, which is what makes attn's encoder fast. The test suite checks the two agree on random text.

/** Unicode White_Space (what Rust's and Oniguruma's `\s` mean), as the inside of a character class. */
const WS = String.raw`\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;

/** GPT-2 / r50k_base's split pattern with `\s` written out as Unicode White_Space (see the header). */
export const GPT2_PATTERN = new RegExp(
  String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^${WS}\p{L}\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`,
  'gu',
);

/** True when `re` is absent or means GPT2_PATTERN (same source and flags that matter), so the scanner may run it. */
export function isGPT2Pattern(re: RegExp | undefined): boolean {
  return re === undefined || (re.source === GPT2_PATTERN.source && re.unicode && !re.ignoreCase);
}

// Character classes of the pattern. Every code point is exactly one of these.
export const LETTER = 1; // \p{L}
export const NUMBER = 2; // \p{N}
export const SPACE = 3; // White_Space
export const OTHER = 4; // everything else: punctuation, symbols, emoji, marks, controls, lone surrogates

const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) ASCII_CLASS[c] = LETTER;
  else if (c >= 48 && c <= 57) ASCII_CLASS[c] = NUMBER;
  else if ((c >= 9 && c <= 13) || c === 32) ASCII_CLASS[c] = SPACE;
  else ASCII_CLASS[c] = OTHER;
}

const IS_LETTER = /^\p{L}$/u;
const IS_NUMBER = /^\p{N}$/u;
const IS_SPACE = new RegExp(`^[${WS}]$`, 'u');

// Classes of non-ASCII code points, filled lazily (0 = not looked up yet): one regex test per distinct code
// point ever seen, then a table read. Allocated on first use (1.1 MB) so ASCII-only users never pay for it.
let wideClass: Uint8Array | undefined;

/** The pattern's class of one code point (LETTER, NUMBER, SPACE or OTHER). */
export function classOf(cp: number): number {
  if (cp < 128) return ASCII_CLASS[cp]!;
  if (wideClass === undefined) wideClass = new Uint8Array(0x110000);
  let k = wideClass[cp]!;
  if (k === 0) {
    if (cp >= 0xd800 && cp <= 0xdfff) k = OTHER; // lone surrogate: encodes as U+FFFD, a symbol
    else {
      const s = String.fromCodePoint(cp);
      k = IS_LETTER.test(s) ? LETTER : IS_NUMBER.test(s) ? NUMBER : IS_SPACE.test(s) ? SPACE : OTHER;
    }
    wideClass[cp] = k;
  }
  return k;
}

/** End (exclusive) of the run of characters of class `cls` that starts at `k`, never past `end`. */
function runEnd(text: string, k: number, end: number, cls: number): number {
  while (k < end) {
    const c = text.charCodeAt(k);
    if (c < 128) {
      if (ASCII_CLASS[c] !== cls) break;
      k++;
      continue;
    }
    // Non-ASCII: read a whole code point (a surrogate pair is one character to the `u` regex).
    let cp = c;
    let width = 1;
    if (c >= 0xd800 && c <= 0xdbff && k + 1 < end) {
      const d = text.charCodeAt(k + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        width = 2;
      }
    }
    if (classOf(cp) !== cls) break;
    k += width;
  }
  return k;
}

/** Class of the code point starting at index k (k < end). */
function classAt(text: string, k: number, end: number): number {
  const c = text.charCodeAt(k);
  if (c < 128) return ASCII_CLASS[c]!;
  if (c >= 0xd800 && c <= 0xdbff && k + 1 < end) {
    const d = text.charCodeAt(k + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return classOf(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00));
  }
  return classOf(c);
}

const APOSTROPHE = 39;
const SPACE_CHAR = 32;

/**
 * Where the GPT-2 piece that starts at `i` ends (exclusive), looking only at text[i, end).
 * Equivalent to one step of `GPT2_PATTERN.exec` on `text.slice(0, end)` with lastIndex = i.
 * Example: gpt2PieceEnd("Hello world", 5, 11) === 11 (the piece " world").
 */
export function gpt2PieceEnd(text: string, i: number, end: number): number {
  const c = text.charCodeAt(i);

  // 1. Contractions: 's 't 'm 'd (two characters), 're 've 'll (three).
  if (c === APOSTROPHE && i + 1 < end) {
    const c1 = text.charCodeAt(i + 1);
    if (c1 === 115 /* s */ || c1 === 116 /* t */ || c1 === 109 /* m */ || c1 === 100 /* d */) return i + 2;
    if (i + 2 < end) {
      const c2 = text.charCodeAt(i + 2);
      if ((c1 === 114 /* r */ || c1 === 118 /* v */) && c2 === 101 /* e */) return i + 3;
      if (c1 === 108 /* l */ && c2 === 108 /* l */) return i + 3;
    }
  }

  // 2-4. " ?" then a run of letters, digits or "other": the optional space belongs to the run after it.
  const runStart = c === SPACE_CHAR && i + 1 < end ? i + 1 : i;
  const cls = classAt(text, runStart, end);
  if (cls !== SPACE) return runEnd(text, runStart, end, cls);

  // 5-6. Whitespace run from i (all whitespace characters are single UTF-16 code units).
  const wsEnd = runEnd(text, i + 1, end, SPACE);
  if (wsEnd === end) return wsEnd; // \s+(?!\S) takes a trailing run whole
  // The run is followed by a non-space: \s+(?!\S) backs off one character so that the last one can start the
  // next piece; if the run is only one character long, that leaves nothing and \s+ takes the one character.
  return wsEnd - i >= 2 ? wsEnd - 1 : wsEnd;
}

/**
 * Split with GPT-2's pattern; returns the pieces. The pieces always concatenate back to `text`.
 * Example: splitGPT2("I'm here  now") → ["I", "'m", " here", " ", " now"].
 */
export function splitGPT2(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const j = gpt2PieceEnd(text, i, text.length);
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

/**
 * Piece boundaries of `text` under any regex, as [start, end) pairs. Like Hugging Face's Split pre-tokenizer
 * with behaviour "Isolated" (and unlike tiktoken, which drops them), text between matches becomes pieces too,
 * so nothing is lost. Empty matches are skipped. `re` must have the `u` or `v` flag (see checkPattern).
 */
export function splitWithRegex(text: string, re: RegExp): Array<[number, number]> {
  const global = re.global ? re : new RegExp(re.source, re.flags + 'g');
  const out: Array<[number, number]> = [];
  let last = 0;
  global.lastIndex = 0;
  for (let m = global.exec(text); m !== null; m = global.exec(text)) {
    const start = m.index;
    const end = start + m[0].length;
    if (end === start) {
      global.lastIndex = start + 1; // avoid looping forever on an empty match
      continue;
    }
    if (start > last) out.push([last, start]);
    out.push([start, end]);
    last = end;
  }
  if (last < text.length) out.push([last, text.length]);
  return out;
}

/** Check a user's pre-tokenizer regex and return a global copy of it. */
export function checkPattern(re: RegExp, who: string): RegExp {
  if (!re.unicode && !re.flags.includes('v')) {
    throw new Error(
      `${who}: pattern /${re.source}/${re.flags} needs the "u" (or "v") flag so that it reads code points, ` +
        `not UTF-16 halves; without it an emoji would be split into two lone surrogates.`,
    );
  }
  if (re.sticky) throw new Error(`${who}: pattern /${re.source}/${re.flags} must not be sticky ("y").`);
  return new RegExp(re.source, re.global ? re.flags : re.flags + 'g');
}
