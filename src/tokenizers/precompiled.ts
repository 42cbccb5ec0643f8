// The Precompiled normalizer: SentencePiece's own normalization, as T5, Marian, ALBERT, XLNet, mBART and
// XLM-R tokenizers carry it in tokenizer.json ("precompiled_charsmap", base64).
//
// SentencePiece does not normalize with an algorithm but with a table compiled into the model: every input
// sequence that must change (a full-width "Ａ", a ligature "ﬁ", a control character, an NFKC composition)
// maps to its replacement ("A", "fi", " " or nothing). The default table, nmt_nfkc, is NFKC plus a few
// clean-ups for machine translation. The table is stored as two blobs, back to back:
//
//   u32 (little endian)  size of the trie in bytes
//   trie                 a Darts double-array trie over UTF-8 bytes; a key's value is an offset into ...
//   normalized           ... one string of replacements, each ended by "\0": "fi\0G\0o\0 \0..."
//
// The double array (a compact trie): each node is one 32-bit unit; from node p, the child for byte c is at
// p ^ offset(unit) ^ c, and it is really a child when its label equals c. A node with a leaf holds the value
// at p ^ offset(unit). Bits of a unit: label = bits 0-7 (and bit 31, set on non-label units), has_leaf = bit
// 8, offset = bits 10-31, shifted left by 8 more when bit 9 is set.
//
// How text is normalized (Hugging Face's `precompiled` normalizer, via the spm_precompiled crate; every quirk
// kept, since ids must match):
//   - the text is cut into grapheme clusters (user-perceived characters: "e" + U+0301, "\r\n", an emoji
//     sequence);
//   - a cluster shorter than 6 UTF-8 bytes is first looked up whole; if the trie has an entry for it (or for
//     any prefix of it: the FIRST, i.e. shortest, match wins), the whole cluster becomes that replacement;
//   - otherwise each character of the cluster is looked up on its own and replaced, or kept.
// Alignment: the replacement's characters take the alignments of the replaced characters one for one; extra
// characters are "inserted" after them; fewer characters mean the last one also swallows the rest — exactly
// HF's bookkeeping (including its oddity that a removal at the very start shifts the alignments after it).
//
// Grapheme clusters come from Intl.Segmenter (ICU); stretches of plain ASCII, where every character is its
// own cluster, skip it.

import type { NormalizedString, Normalizer, NormalizerJSON, TransformStep } from './normalizers.js';

// ── base64 (browser-safe, no Buffer) ───────────────────────────────────────────────────────────────────────

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Decode standard base64 (with or without "=" padding). Example: base64Decode('AQID') is [1, 2, 3]. */
export function base64Decode(text: string, what = 'base64'): Uint8Array {
  const s = text.replace(/=+$/, '');
  if (s.length % 4 === 1) throw new Error(`${what}: not valid base64 (length ${text.length})`);
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let v = 0;
    const n = Math.min(4, s.length - i);
    for (let k = 0; k < 4; k++) {
      const c = k < n ? s.charCodeAt(i + k) : 65;
      const d = c < 128 ? B64_INDEX[c]! : -1;
      if (d < 0) throw new Error(`${what}: not valid base64 (character ${JSON.stringify(s[i + k])} at ${i + k})`);
      v = (v << 6) | (k < n ? d : 0);
    }
    out[o++] = (v >>> 16) & 255;
    if (n > 2) out[o++] = (v >>> 8) & 255;
    if (n > 3) out[o++] = v & 255;
  }
  return out;
}

/** Encode bytes as standard base64 with "=" padding. Example: base64Encode(new Uint8Array([1, 2, 3])) is 'AQID'. */
export function base64Encode(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 3) {
    const n = Math.min(3, bytes.length - i);
    const v = (bytes[i]! << 16) | ((n > 1 ? bytes[i + 1]! : 0) << 8) | (n > 2 ? bytes[i + 2]! : 0);
    parts.push(B64[(v >>> 18) & 63]!, B64[(v >>> 12) & 63]!, n > 1 ? B64[(v >>> 6) & 63]! : '=', n > 2 ? B64[v & 63]! : '=');
  }
  return parts.join('');
}

// ── the charsmap ───────────────────────────────────────────────────────────────────────────────────────────

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A parsed precompiled_charsmap: the double-array trie and the replacement strings.
 * Example: `new CharsMap(bytes).transform('ﬁ')` is "fi" for the nmt_nfkc table; "a" gives null (unchanged).
 */
export class CharsMap {
  readonly bytes: Uint8Array;
  private readonly array: Uint32Array;
  private readonly normalized: Uint8Array;
  private readonly replacements = new Map<number, string>();
  private readonly scratch = new Uint8Array(64);

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    if (bytes.length < 4) throw new Error(`precompiled_charsmap: ${bytes.length} bytes is too short to hold the trie size`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const trieBytes = view.getUint32(0, true);
    if (4 + trieBytes > bytes.length) {
      throw new Error(`precompiled_charsmap: the trie claims ${trieBytes} bytes but only ${bytes.length - 4} follow`);
    }
    const units = Math.floor(trieBytes / 4);
    this.array = new Uint32Array(units);
    for (let i = 0; i < units; i++) this.array[i] = view.getUint32(4 + 4 * i, true);
    this.normalized = bytes.subarray(4 + units * 4);
    try {
      utf8Strict.decode(this.normalized);
    } catch {
      throw new Error('precompiled_charsmap: the replacement strings are not valid UTF-8');
    }
  }

  /**
   * The value of the shortest key in the trie that is a prefix of bytes[0, length) (Darts'
   * commonPrefixSearch, first result), or -1. A zero byte ends the key.
   */
  private firstPrefixValue(bytes: Uint8Array, length: number): number {
    const a = this.array;
    if (a.length === 0) return -1;
    let pos = offsetOf(a[0]!);
    for (let i = 0; i < length; i++) {
      const c = bytes[i]!;
      if (c === 0) break;
      pos ^= c;
      const unit = a[pos];
      if (unit === undefined || (unit & 0x800000ff) >>> 0 !== c) return -1;
      pos ^= offsetOf(unit);
      if ((unit >>> 8) & 1) {
        const leaf = a[pos];
        return leaf === undefined ? -1 : leaf & 0x7fffffff;
      }
    }
    return -1;
  }

  /** The replacement string stored at `index` (up to the next "\0"). */
  private replacementAt(index: number): string {
    let s = this.replacements.get(index);
    if (s === undefined) {
      let end = index;
      while (end < this.normalized.length && this.normalized[end] !== 0) end++;
      s = utf8Strict.decode(this.normalized.subarray(Math.min(index, end), end));
      this.replacements.set(index, s);
    }
    return s;
  }

  /** What the table turns `chunk` into (whole chunk replaced), or null when it has no entry for it. */
  transform(chunk: string): string | null {
    let length = 0;
    for (let i = 0; i < chunk.length && length <= 60; i++) {
      let cp = chunk.charCodeAt(i);
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < chunk.length) {
        const d = chunk.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (d - 0xdc00);
          i++;
        }
      }
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
      length = writeUtf8(this.scratch, length, cp);
    }
    const value = this.firstPrefixValue(this.scratch, length);
    return value < 0 ? null : this.replacementAt(value);
  }
}

function offsetOf(unit: number): number {
  return (unit >>> 10) << ((unit & 512) >>> 6);
}

function writeUtf8(out: Uint8Array, at: number, cp: number): number {
  if (cp < 0x80) out[at++] = cp;
  else if (cp < 0x800) {
    out[at++] = 0xc0 | (cp >> 6);
    out[at++] = 0x80 | (cp & 63);
  } else if (cp < 0x10000) {
    out[at++] = 0xe0 | (cp >> 12);
    out[at++] = 0x80 | ((cp >> 6) & 63);
    out[at++] = 0x80 | (cp & 63);
  } else {
    out[at++] = 0xf0 | (cp >> 18);
    out[at++] = 0x80 | ((cp >> 12) & 63);
    out[at++] = 0x80 | ((cp >> 6) & 63);
    out[at++] = 0x80 | (cp & 63);
  }
  return at;
}

function utf8Length(s: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < end && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function codePointCount(s: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    n++;
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && i + 1 < end && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
  }
  return n;
}

// ── grapheme clusters ──────────────────────────────────────────────────────────────────────────────────────

let segmenter: Intl.Segmenter | undefined;

// Whether a cluster boundary is certain between two code points A B, from their classes alone (Unicode's
// rules GB3-GB13): B may join A when it is an extending mark (Grapheme_Extend, an emoji skin tone), a spacing
// mark (Mc, and Thai / Lao AM), a conjoining Hangul jamo, a regional indicator, or the zero-width joiner; A may
// join B when it is a prepended character (format characters such as U+0600, a few letters), any mark (an
// Indic virama joins consonants), a conjoining jamo, a regional indicator, or "\r". (A precomposed Hangul
// syllable joins only jamo, which are in both lists.) When neither holds, A ends a cluster whatever surrounds
// them; everywhere else Intl.Segmenter decides.
const JOINS_PREVIOUS = /[\p{Grapheme_Extend}\p{Mc}\p{Emoji_Modifier}\p{Regional_Indicator}\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff\u200d\u0e33\u0eb3]/u;
const JOINS_NEXT = /[\p{Cf}\p{M}\p{Regional_Indicator}\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff\r\u0d4e\u{111c2}\u{111c3}\u{1193f}\u{11941}\u{11a3a}\u{11a84}-\u{11a89}\u{11d46}\u{11f02}]/u;
/** For each BMP code point: 0 not looked at yet; bit 1 looked at; bit 2 may join the next; bit 4 the previous. */
const classes = new Uint8Array(0x10000);

function classOf(cp: number): number {
  if (cp < 0x10000) {
    let c = classes[cp]!;
    if (c === 0) {
      const ch = String.fromCharCode(cp);
      c = 1 | (JOINS_NEXT.test(ch) ? 2 : 0) | (JOINS_PREVIOUS.test(ch) ? 4 : 0);
      classes[cp] = c;
    }
    return c;
  }
  const ch = String.fromCodePoint(cp);
  return 1 | (JOINS_NEXT.test(ch) ? 2 : 0) | (JOINS_PREVIOUS.test(ch) ? 4 : 0);
}

/**
 * Call `visit(start, end)` for every grapheme cluster of `text`, in order (UTF-16 ranges). Where a boundary
 * is certain from the two code points around it (always between two ASCII characters except "\r\n"; between
 * two CJK ideographs; ...) the text is cut without asking; the stretches in between go through
 * Intl.Segmenter, one at a time.
 */
export function forEachGrapheme(text: string, visit: (start: number, end: number) => void): void {
  let segStart = 0;
  const n = text.length;
  const flush = (end: number): void => {
    if (end <= segStart) return;
    const cp = text.codePointAt(segStart) as number;
    if (end - segStart === (cp > 0xffff ? 2 : 1)) visit(segStart, end); // one code point: one cluster
    else {
      segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
      for (const g of segmenter.segment(text.slice(segStart, end))) visit(segStart + g.index, segStart + g.index + g.segment.length);
    }
    segStart = end;
  };
  let prevClass = 0;
  for (let i = 0; i < n; ) {
    const cp = text.codePointAt(i) as number;
    const w = cp > 0xffff ? 2 : 1;
    // ASCII other than "\r" neither joins nor is joined: the common case needs no table.
    const c = cp < 0x80 ? (cp === 13 ? 3 : 1) : classOf(cp);
    if (i > 0 && (prevClass & 2) === 0 && (c & 4) === 0) flush(i);
    prevClass = c;
    i += w;
  }
  flush(n);
}

// ── the normalizer ─────────────────────────────────────────────────────────────────────────────────────────

/**
 * SentencePiece's precompiled normalization (tokenizer.json `{"type": "Precompiled", "precompiled_charsmap":
 * "<base64>"}`). See the top of this file.
 * Example (nmt_nfkc): "ｆｕｌｌ ﬁ" becomes "full fi"; "\t" becomes " ".
 */
export class Precompiled implements Normalizer {
  readonly charsMap: CharsMap;
  private readonly single = new Map<number, string | null>();
  private readonly clusters = new Map<string, string | null>();

  constructor(charsmap: Uint8Array | CharsMap) {
    this.charsMap = charsmap instanceof CharsMap ? charsmap : new CharsMap(charsmap);
  }

  /** Build from the base64 text of tokenizer.json's "precompiled_charsmap". */
  static fromBase64(text: string): Precompiled {
    return new Precompiled(base64Decode(text, 'precompiled_charsmap'));
  }

  /** The replacement of one code point (memoized), or null. */
  private transformCodePoint(cp: number, text: string, start: number, end: number): string | null {
    let r = this.single.get(cp);
    if (r === undefined) {
      r = this.charsMap.transform(text.slice(start, end));
      this.single.set(cp, r);
    }
    return r;
  }

  /** The replacement of a whole cluster (memoized), or null. */
  private transformCluster(cluster: string): string | null {
    let r = this.clusters.get(cluster);
    if (r === undefined) {
      r = this.charsMap.transform(cluster);
      if (this.clusters.size > 50_000) this.clusters.clear();
      this.clusters.set(cluster, r);
    }
    return r;
  }

  normalize(ns: NormalizedString): void {
    const text = ns.normalized;
    // The new text as HF's "transformations" (see NormalizedString.transform): kept stretches of the old text,
    // and new characters with their change. Built only once something changes.
    let steps: TransformStep[] | null = null;
    let done = 0; // old text before this unit is already in steps (when steps is not null)
    const keep = (end: number): void => {
      if (steps === null || end <= done) return;
      const last = steps[steps.length - 1];
      if (last !== undefined && 'keep' in last && last.keep[1] === done) last.keep[1] = end;
      else steps.push({ keep: [done, end] });
      done = end;
    };
    const replace = (start: number, end: number, replacement: string): void => {
      if (steps === null) {
        steps = start > 0 ? [{ keep: [0, start] }] : [];
        done = start;
      }
      keep(start);
      const s = steps;
      const oldCount = codePointCount(text, start, end);
      let newCount = 0;
      for (const ch of replacement) {
        s.push({ char: ch, change: 0 });
        newCount++;
      }
      const diff = newCount - oldCount;
      if (diff > 0) for (let k = 0; k < diff; k++) (s[s.length - 1 - k] as { change: number }).change = 1;
      else if (diff < 0 && s.length > 0) {
        // HF lowers the change of the LAST character so far: it then swallows the removed characters too.
        let last = s[s.length - 1]!;
        if ('keep' in last) {
          // Split the kept stretch's last character off into a step of its own.
          const [ks, ke] = last.keep;
          const cpStart = ke >= 2 && (text.charCodeAt(ke - 1) & 0xfc00) === 0xdc00 && (text.charCodeAt(ke - 2) & 0xfc00) === 0xd800 ? ke - 2 : ke - 1;
          if (cpStart > ks) last.keep[1] = cpStart;
          else s.pop();
          last = { char: text.slice(Math.max(cpStart, ks), ke), change: 0 };
          s.push(last);
        }
        last.change += diff;
      }
      done = end;
    };

    forEachGrapheme(text, (start, end) => {
      // A one-unit cluster (the common case) is its own code point.
      if (end - start === 1) {
        const r = this.transformCodePoint(text.charCodeAt(start), text, start, end);
        if (r !== null) replace(start, end, r);
        else keep(end);
        return;
      }
      if (utf8Length(text, start, end) < 6) {
        const r = this.transformCluster(text.slice(start, end));
        if (r !== null) {
          replace(start, end, r);
          return;
        }
      }
      for (let i = start; i < end; ) {
        const cp = text.codePointAt(i) as number;
        const w = cp > 0xffff && i + 1 < end ? 2 : 1;
        const r = this.transformCodePoint(cp, text, i, i + w);
        if (r !== null) replace(i, i + w, r);
        else keep(i + w);
        i += w;
      }
    });
    if (steps !== null) {
      keep(text.length);
      ns.transform(steps, 0);
    }
  }

  toJSON(): NormalizerJSON {
    return { type: 'Precompiled', precompiled_charsmap: base64Encode(this.charsMap.bytes) };
  }
}
