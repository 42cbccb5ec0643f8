// Python's string rules, written down in TypeScript.
//
// Every reference metric this folder reproduces (sacreBLEU, rouge-score, seqeval, the SQuAD scripts, scikit-learn)
// is Python, and their results depend on Python's idea of "whitespace", "a character" and "sorted". JavaScript's
// ideas differ in small ways that change scores on real text:
//
//   - `str.split()` with no argument splits on Unicode whitespace as `str.isspace()` defines it. JavaScript's `\s`
//     is a different set: it has U+FEFF (the byte order mark) and lacks U+001C..U+001F and U+0085 (NEL).
//   - Python indexes strings by code point; JavaScript by UTF-16 code unit, so '😀'.length is 2 in JavaScript
//     and 1 in Python. Character n-grams (chrF) and "a word of one character" must count code points.
//   - Python's `sorted()` on strings compares code points; JavaScript's default sort compares UTF-16 code units,
//     which orders U+E000..U+FFFF after astral characters instead of before them.
//   - f'{x:.1f}' rounds an exact tie to even (12.25 → '12.2'); Number.prototype.toFixed rounds it up ('12.3').
//
// Does not handle: Python's `str.lower()` is taken to be `String.prototype.toLowerCase()`; both apply Unicode's
// full lowercase mapping (including the final-sigma rule), and they differ only where the two runtimes ship
// different Unicode versions.

/** The characters for which Python's `str.isspace()` is true (also what Python's `re` means by `\s`). */
export const PY_WHITESPACE = '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

const WS_CLASS = `[${PY_WHITESPACE}]`;
const SPLIT_RE = new RegExp(`${WS_CLASS}+`, 'u');
const RSTRIP_RE = new RegExp(`${WS_CLASS}+$`, 'u');
const LSTRIP_RE = new RegExp(`^${WS_CLASS}+`, 'u');

/** Python's `s.split()`: runs of whitespace separate, no empty strings. Example: `pySplit(' a\x85b ')` → `['a', 'b']`. */
export function pySplit(s: string): string[] {
  const parts = s.split(SPLIT_RE);
  // A leading or trailing run leaves an empty string at that end; Python drops it.
  return parts.filter((p) => p.length > 0);
}

/** Python's `s.rstrip()`. Example: `pyRstrip('a b \n')` → `'a b'`. */
export function pyRstrip(s: string): string {
  return s.replace(RSTRIP_RE, '');
}

/** Python's `s.strip()`. Example: `pyStrip('\u3000a ')` → `'a'`. */
export function pyStrip(s: string): string {
  return s.replace(LSTRIP_RE, '').replace(RSTRIP_RE, '');
}

/** The code points of a string, as Python sees its characters. Example: `codePoints('a😀')` → `['a', '😀']`. */
export function codePoints(s: string): string[] {
  return Array.from(s);
}

/** Compare two strings the way Python does (by code point). Example: `['\uffff', '😀'].sort(compareCodePoints)`. */
export function compareCodePoints(a: string, b: string): number {
  // Only the first differing position matters; surrogate pairs decode to the code point they stand for.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const pa = a.codePointAt(i) as number;
    const pb = b.codePointAt(i) as number;
    return pa < pb ? -1 : pa > pb ? 1 : 0;
  }
  return a.length - b.length;
}

/** Sorted copy of the distinct strings, in Python's order. Example: `sortedUnique(['b', 'a', 'b'])` → `['a', 'b']`. */
export function sortedUnique(items: Iterable<string>): string[] {
  return [...new Set(items)].sort(compareCodePoints);
}

/**
 * Python's `f'{x:.{digits}f}'`: the exact binary value rounded to `digits` decimals, an exact tie going to the
 * even digit. Example: `formatFixed(12.25, 1)` → `'12.2'` (toFixed gives '12.3').
 *
 * toFixed(100) writes the double's exact decimal expansion for any value this folder prints (a double in
 * [1e-20, 1e21) has at most ~70 fractional decimal digits); we round that string ourselves.
 */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  if (Math.abs(x) >= 1e21) return x.toFixed(digits);
  const negative = x < 0 || Object.is(x, -0);
  const exact = Math.abs(x).toFixed(100); // "123.4500000..."
  const dot = exact.indexOf('.');
  const keep = exact.slice(0, dot) + exact.slice(dot + 1, dot + 1 + digits); // all digits we keep, no dot
  const rest = exact.slice(dot + 1 + digits); // the digits we drop
  let roundUp = false;
  if (rest[0] > '5') roundUp = true;
  else if (rest[0] === '5') {
    const beyond = /[1-9]/.test(rest.slice(1));
    const lastKept = Number(keep[keep.length - 1]);
    roundUp = beyond || lastKept % 2 === 1; // a tie goes to the even digit
  }
  let digitsOut = keep;
  if (roundUp) {
    // Add one in the last place, carrying as far as needed.
    const arr = keep.split('').map(Number);
    let i = arr.length - 1;
    while (i >= 0) {
      if (arr[i] === 9) {
        arr[i] = 0;
        i--;
      } else {
        arr[i]++;
        break;
      }
    }
    digitsOut = (i < 0 ? '1' : '') + arr.join('');
  }
  const intLen = digitsOut.length - digits;
  const intPart = digitsOut.slice(0, intLen).replace(/^0+(?=\d)/, '');
  const text = digits > 0 ? `${intPart}.${digitsOut.slice(intLen)}` : intPart;
  return negative ? `-${text}` : text; // Python keeps the sign of a negative that rounds to zero: '-0.0'
}
