// Unicode character classes exactly as Hugging Face `tokenizers` (Rust) sees them.
//
// BERT's normalizer and pre-tokenizer ask four questions about each character: is it whitespace, is it a
// control character (dropped by "clean text"), is it a non-spacing mark (dropped by "strip accents" after NFD),
// and is it punctuation (split off as its own word). JavaScript answers them with Unicode property escapes
// (`/\p{Mn}/u`), using the runtime's Unicode version (Node 20 here: Unicode 17). The Rust crates that HF uses
// (`unicode_categories`, `unicode-normalization-alignments`) carry OLDER tables, so for characters added or
// re-classified since then the two disagree, and so would the token ids. To be id-for-id identical with
// `bert-base-uncased` as Hugging Face runs it, we take the JavaScript answer and correct it with the small lists
// below: characters JavaScript knows but HF's tables do not (and the two that HF still classifies the old way).
//
// Provenance: computed by comparing every code point U+0000..U+10FFFF against the native HF `tokenizers` npm
// package (0.23.2); test/tokenizers/unicode_classes.test.ts re-checks the lists against that package.
// All of these are rare characters (recent scripts, Tangut/Egyptian controls); ordinary text never hits them.
// Each list is flat [first, last, first, last, ...] inclusive ranges, sorted.

// 20 code points in 4 ranges
const CONTROL_UNKNOWN_TO_HF: readonly number[] = [
  0x890, 0x891, 0x8E2, 0x8E2, 0x110CD, 0x110CD, 0x13430, 0x1343F,
];

// 494 code points in 109 ranges
const MN_UNKNOWN_TO_HF: readonly number[] = [
  0x7FD, 0x7FD, 0x897, 0x89F, 0x8CA, 0x8E1, 0x9FE, 0x9FE, 0xAFA, 0xAFF, 0xB55, 0xB55, 0xC04, 0xC04, 0xC3C, 0xC3C,
  0xD00, 0xD00, 0xD3B, 0xD3C, 0xD81, 0xD81, 0xEBA, 0xEBA, 0xECE, 0xECE, 0x180F, 0x180F, 0x1885, 0x1886,
  0x1ABF, 0x1ADD, 0x1AE0, 0x1AEB, 0x1DF6, 0x1DFB, 0xA82C, 0xA82C, 0xA8C5, 0xA8C5, 0xA8FF, 0xA8FF, 0xA9BD, 0xA9BD,
  0x10D24, 0x10D27, 0x10D69, 0x10D6D, 0x10EAB, 0x10EAC, 0x10EFA, 0x10EFF, 0x10F46, 0x10F50, 0x10F82, 0x10F85,
  0x11070, 0x11070, 0x11073, 0x11074, 0x110C2, 0x110C2, 0x111C9, 0x111C9, 0x111CF, 0x111CF, 0x1123E, 0x1123E,
  0x11241, 0x11241, 0x1133B, 0x1133B, 0x113BB, 0x113C0, 0x113CE, 0x113CE, 0x113D0, 0x113D0, 0x113D2, 0x113D2,
  0x113E1, 0x113E2, 0x11438, 0x1143F, 0x11442, 0x11444, 0x11446, 0x11446, 0x1145E, 0x1145E, 0x1182F, 0x11837,
  0x11839, 0x1183A, 0x1193B, 0x1193C, 0x1193E, 0x1193E, 0x11943, 0x11943, 0x119D4, 0x119D7, 0x119DA, 0x119DB,
  0x119E0, 0x119E0, 0x11A01, 0x11A0A, 0x11A33, 0x11A38, 0x11A3B, 0x11A3E, 0x11A47, 0x11A47, 0x11A51, 0x11A56,
  0x11A59, 0x11A5B, 0x11A8A, 0x11A96, 0x11A98, 0x11A99, 0x11B60, 0x11B60, 0x11B62, 0x11B64, 0x11B66, 0x11B66,
  0x11C30, 0x11C36, 0x11C38, 0x11C3D, 0x11C3F, 0x11C3F, 0x11C92, 0x11CA7, 0x11CAA, 0x11CB0, 0x11CB2, 0x11CB3,
  0x11CB5, 0x11CB6, 0x11D31, 0x11D36, 0x11D3A, 0x11D3A, 0x11D3C, 0x11D3D, 0x11D3F, 0x11D45, 0x11D47, 0x11D47,
  0x11D90, 0x11D91, 0x11D95, 0x11D95, 0x11D97, 0x11D97, 0x11EF3, 0x11EF4, 0x11F00, 0x11F01, 0x11F36, 0x11F3A,
  0x11F40, 0x11F40, 0x11F42, 0x11F42, 0x11F5A, 0x11F5A, 0x13440, 0x13440, 0x13447, 0x13455, 0x1611E, 0x16129,
  0x1612D, 0x1612F, 0x16F4F, 0x16F4F, 0x16FE4, 0x16FE4, 0x1CF00, 0x1CF2D, 0x1CF30, 0x1CF46, 0x1E000, 0x1E006,
  0x1E008, 0x1E018, 0x1E01B, 0x1E021, 0x1E023, 0x1E024, 0x1E026, 0x1E02A, 0x1E08F, 0x1E08F, 0x1E130, 0x1E136,
  0x1E2AE, 0x1E2AE, 0x1E2EC, 0x1E2EF, 0x1E4EC, 0x1E4EF, 0x1E5EE, 0x1E5EF, 0x1E6E3, 0x1E6E3, 0x1E6E6, 0x1E6E6,
  0x1E6EE, 0x1E6EF, 0x1E6F5, 0x1E6F5, 0x1E944, 0x1E94A,
];

// 2 code points in 2 ranges
const MN_ONLY_IN_HF: readonly number[] = [
  0x1734, 0x1734, 0x1171E, 0x1171E,
];

// 141 code points in 40 ranges
const PUNCT_UNKNOWN_TO_HF: readonly number[] = [
  0x61D, 0x61D, 0x9FD, 0x9FD, 0xA76, 0xA76, 0xC77, 0xC77, 0xC84, 0xC84, 0x1B4E, 0x1B4F, 0x1B7D, 0x1B7F,
  0x2E43, 0x2E4F, 0x2E52, 0x2E5D, 0x10D6E, 0x10D6E, 0x10EAD, 0x10EAD, 0x10ED0, 0x10ED0, 0x10F55, 0x10F59,
  0x10F86, 0x10F89, 0x113D4, 0x113D5, 0x113D7, 0x113D8, 0x1144B, 0x1144F, 0x1145A, 0x1145B, 0x1145D, 0x1145D,
  0x11660, 0x1166C, 0x116B9, 0x116B9, 0x1183B, 0x1183B, 0x11944, 0x11946, 0x119E2, 0x119E2, 0x11A3F, 0x11A46,
  0x11A9A, 0x11A9C, 0x11A9E, 0x11AA2, 0x11B00, 0x11B09, 0x11BE1, 0x11BE1, 0x11C41, 0x11C45, 0x11C70, 0x11C71,
  0x11EF7, 0x11EF8, 0x11F43, 0x11F4F, 0x11FFF, 0x11FFF, 0x12FF1, 0x12FF2, 0x16D6D, 0x16D6F, 0x16E97, 0x16E9A,
  0x16FE2, 0x16FE2, 0x1E5FF, 0x1E5FF, 0x1E95E, 0x1E95F,
];

// 2 code points in 2 ranges
const PUNCT_ONLY_IN_HF: readonly number[] = [
  0x166D, 0x166D, 0x111C9, 0x111C9,
];

// 21 code points in 11 ranges
const NFD_UNKNOWN_TO_HF: readonly number[] = [
  0x105C9, 0x105C9, 0x105E4, 0x105E4, 0x11383, 0x11383, 0x11385, 0x11385, 0x1138E, 0x1138E, 0x11391, 0x11391,
  0x113C5, 0x113C5, 0x113C7, 0x113C8, 0x11938, 0x11938, 0x16121, 0x16128, 0x16D68, 0x16D6A,
];

// 192 code points in 21 ranges
const NFKD_UNKNOWN_TO_HF: readonly number[] = [
  0x32FF, 0x32FF, 0xA7F1, 0xA7F4, 0xAB69, 0xAB69, 0x105C9, 0x105C9, 0x105E4, 0x105E4, 0x10781, 0x10785,
  0x10787, 0x107B0, 0x107B2, 0x107BA, 0x11383, 0x11383, 0x11385, 0x11385, 0x1138E, 0x1138E, 0x11391, 0x11391,
  0x113C5, 0x113C5, 0x113C7, 0x113C8, 0x11938, 0x11938, 0x16121, 0x16128, 0x16D68, 0x16D6A, 0x1CCD6, 0x1CCF9,
  0x1E030, 0x1E06D, 0x1F16C, 0x1F16C, 0x1FBF0, 0x1FBF9,
];

// 171 code points in 10 ranges
const NFKC_UNKNOWN_TO_HF: readonly number[] = [
  0x32FF, 0x32FF, 0xA7F1, 0xA7F4, 0xAB69, 0xAB69, 0x10781, 0x10785, 0x10787, 0x107B0, 0x107B2, 0x107BA,
  0x1CCD6, 0x1CCF9, 0x1E030, 0x1E06D, 0x1F16C, 0x1F16C, 0x1FBF0, 0x1FBF9,
];


// Marks as the standalone StripAccents normalizer sees them (unicode-normalization's is_combining_mark: any
// category M character in its tables), which is wider than BERT's Mn-only test.
// 448 code points in 93 ranges
const MARK_UNKNOWN_TO_HF: readonly number[] = [
  0x7FD, 0x7FD, 0x897, 0x89F, 0x8CA, 0x8D3, 0x9FE, 0x9FE, 0xAFA, 0xAFF, 0xB55, 0xB55, 0xC04, 0xC04, 0xC3C, 0xC3C,
  0xCF3, 0xCF3, 0xD00, 0xD00, 0xD3B, 0xD3C, 0xD81, 0xD81, 0xEBA, 0xEBA, 0xECE, 0xECE, 0x1715, 0x1715, 0x180F, 0x180F,
  0x1ABF, 0x1ADD, 0x1AE0, 0x1AEB, 0x1CF7, 0x1CF7, 0x1DF6, 0x1DFA, 0xA82C, 0xA82C, 0xA8FF, 0xA8FF, 0x10D24, 0x10D27,
  0x10D69, 0x10D6D, 0x10EAB, 0x10EAC, 0x10EFA, 0x10EFF, 0x10F46, 0x10F50, 0x10F82, 0x10F85, 0x11070, 0x11070,
  0x11073, 0x11074, 0x110C2, 0x110C2, 0x11145, 0x11146, 0x111C9, 0x111C9, 0x111CE, 0x111CF, 0x11241, 0x11241,
  0x1133B, 0x1133B, 0x113B8, 0x113C0, 0x113C2, 0x113C2, 0x113C5, 0x113C5, 0x113C7, 0x113CA, 0x113CC, 0x113D0,
  0x113D2, 0x113D2, 0x113E1, 0x113E2, 0x1145E, 0x1145E, 0x1182C, 0x1183A, 0x11930, 0x11935, 0x11937, 0x11938,
  0x1193B, 0x1193E, 0x11940, 0x11940, 0x11942, 0x11943, 0x119D1, 0x119D7, 0x119DA, 0x119E0, 0x119E4, 0x119E4,
  0x11A01, 0x11A0A, 0x11A33, 0x11A39, 0x11A3B, 0x11A3E, 0x11A47, 0x11A47, 0x11A51, 0x11A5B, 0x11A8A, 0x11A99,
  0x11B60, 0x11B67, 0x11D31, 0x11D36, 0x11D3A, 0x11D3A, 0x11D3C, 0x11D3D, 0x11D3F, 0x11D45, 0x11D47, 0x11D47,
  0x11D8A, 0x11D8E, 0x11D90, 0x11D91, 0x11D93, 0x11D97, 0x11EF3, 0x11EF6, 0x11F00, 0x11F01, 0x11F03, 0x11F03,
  0x11F34, 0x11F3A, 0x11F3E, 0x11F42, 0x11F5A, 0x11F5A, 0x13440, 0x13440, 0x13447, 0x13455, 0x1611E, 0x1612F,
  0x16F4F, 0x16F4F, 0x16F7F, 0x16F87, 0x16FE4, 0x16FE4, 0x16FF0, 0x16FF1, 0x1CF00, 0x1CF2D, 0x1CF30, 0x1CF46,
  0x1E08F, 0x1E08F, 0x1E130, 0x1E136, 0x1E2AE, 0x1E2AE, 0x1E2EC, 0x1E2EF, 0x1E4EC, 0x1E4EF, 0x1E5EE, 0x1E5EF,
  0x1E6E3, 0x1E6E3, 0x1E6E6, 0x1E6E6, 0x1E6EE, 0x1E6EF, 0x1E6F5, 0x1E6F5,
];

// 2 code points in 1 ranges
const MARK_ONLY_IN_HF: readonly number[] = [
  0x1CF2, 0x1CF3,
];

/** Binary search in a flat [first, last, ...] range list. */
function inRanges(ranges: readonly number[], cp: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < ranges[2 * mid]) hi = mid - 1;
    else if (cp > ranges[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

const CONTROL_RE = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
const WHITESPACE_RE = /^\p{White_Space}$/u;
const MN_RE = /^\p{Mn}$/u;
const PUNCT_RE = /^\p{P}$/u;
const MARK_RE = /^\p{M}$/u;

// Answers for the Basic Multilingual Plane are cached in one byte per code point (bit 7 = computed), because
// regex property tests cost ~50 ns and the same few hundred characters repeat in any real text.
const COMPUTED = 0x80;
const F_WHITESPACE = 0x01;
const F_CONTROL = 0x02;
const F_MN = 0x04;
const F_PUNCT = 0x08;
const F_MARK = 0x10;
const bmpFlags = new Uint8Array(0x10000);

function computeFlags(cp: number): number {
  const ch = String.fromCodePoint(cp);
  let flags = 0;
  // Rust `char::is_whitespace` is the Unicode White_Space property (it includes U+0085, excludes U+FEFF).
  if (WHITESPACE_RE.test(ch)) flags |= F_WHITESPACE;
  // HF's `is_control`: Unicode "Other" categories Cc, Cf, Co (its tables leave out unassigned Cn). Cs (a lone
  // surrogate) can only occur in a JavaScript string; HF never sees one because the string reaching Rust has it
  // replaced by U+FFFD, which clean-text drops, so dropping it here gives the same result.
  if (CONTROL_RE.test(ch) && !inRanges(CONTROL_UNKNOWN_TO_HF, cp)) flags |= F_CONTROL;
  if ((MN_RE.test(ch) && !inRanges(MN_UNKNOWN_TO_HF, cp)) || inRanges(MN_ONLY_IN_HF, cp)) flags |= F_MN;
  // BERT punctuation: every ASCII punctuation character (this adds $ + < = > ^ ` | ~, which Unicode calls
  // symbols) plus the Unicode punctuation categories Pc Pd Ps Pe Pi Pf Po.
  const asciiPunct = (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
  if (asciiPunct || (PUNCT_RE.test(ch) && !inRanges(PUNCT_UNKNOWN_TO_HF, cp)) || inRanges(PUNCT_ONLY_IN_HF, cp)) {
    flags |= F_PUNCT;
  }
  if ((MARK_RE.test(ch) && !inRanges(MARK_UNKNOWN_TO_HF, cp)) || inRanges(MARK_ONLY_IN_HF, cp)) flags |= F_MARK;
  return flags;
}

function flagsOf(cp: number): number {
  if (cp < 0x10000) {
    let f = bmpFlags[cp];
    if (f === 0) {
      f = computeFlags(cp) | COMPUTED;
      bmpFlags[cp] = f;
    }
    return f;
  }
  return computeFlags(cp);
}

/** Whitespace as BERT sees it: \t \n \r and every Unicode White_Space character. */
export function isBertWhitespace(cp: number): boolean {
  if (cp === 9 || cp === 10 || cp === 13) return true;
  return (flagsOf(cp) & F_WHITESPACE) !== 0;
}

/** A control character that BERT's "clean text" drops (\t \n \r are whitespace, not control). */
export function isBertControl(cp: number): boolean {
  if (cp === 9 || cp === 10 || cp === 13) return false;
  return (flagsOf(cp) & F_CONTROL) !== 0;
}

/** A non-spacing mark (category Mn): what "strip accents" removes after NFD splits é into e + U+0301. */
export function isNonspacingMark(cp: number): boolean {
  return (flagsOf(cp) & F_MN) !== 0;
}

/** Any combining mark (Mn, Mc or Me): what the standalone StripAccents normalizer removes. */
export function isCombiningMark(cp: number): boolean {
  return (flagsOf(cp) & F_MARK) !== 0;
}

/** Punctuation as BERT's pre-tokenizer sees it (ASCII punctuation or Unicode category P*). */
export function isBertPunctuation(cp: number): boolean {
  return (flagsOf(cp) & F_PUNCT) !== 0;
}

/**
 * The CJK ideograph blocks that BERT surrounds with spaces (so each ideograph becomes its own word).
 * Same ranges as the original BERT `_is_chinese_char` and HF's `is_chinese_char`; note that Hiragana,
 * Katakana and Hangul are not in them.
 */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** Unicode normalization forms, as in `String.prototype.normalize`. */
export type NormalizationForm = 'NFC' | 'NFD' | 'NFKC' | 'NFKD';

/**
 * Normalize ONE code point the way HF's (older) normalization tables would: characters whose decomposition
 * HF does not know are returned unchanged. Example: `normalizeCodePoint(0xe9, 'NFD')` is 'e\u0301'.
 */
export function normalizeCodePoint(cp: number, form: NormalizationForm): string {
  const ch = String.fromCodePoint(cp);
  if (cp < 0xc0) return form === 'NFKC' || form === 'NFKD' ? ch.normalize(form) : ch; // ASCII/Latin-1 letters are stable
  if (form === 'NFD' && inRanges(NFD_UNKNOWN_TO_HF, cp)) return ch;
  if (form === 'NFKD' && inRanges(NFKD_UNKNOWN_TO_HF, cp)) return ch;
  if (form === 'NFKC' && inRanges(NFKC_UNKNOWN_TO_HF, cp)) return ch;
  return ch.normalize(form);
}
