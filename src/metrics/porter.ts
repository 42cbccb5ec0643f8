// The Porter stemmer (Porter, "An algorithm for suffix stripping", 1980) as NLTK's PorterStemmer in its default
// mode, NLTK_EXTENSIONS — the stemmer Google's rouge-score uses for `use_stemmer=True` (it constructs
// `nltk.stem.porter.PorterStemmer()` with no arguments).
//
// A word is read as consonants (c) and vowels (v): a, e, i, o, u are vowels, and y is a vowel after a consonant
// ("toy": t, y are consonants; "syzygy": s, z, g are). Written as [C](VC)^m[V], the number m of VC pairs is the
// word's *measure*: m = 0 for "tree", 1 for "trouble", 2 for "troubles". Five steps then strip suffixes, each
// rule only when what remains has a large enough measure, e.g. step 4 drops "-ment" when m > 1:
// "adjustment" → "adjust", but "cement" stays.
//
// NLTK's extensions to the 1980 paper, all kept here: a table of irregular forms (dying → die, skies → sky,
// news → news, ...); words of one or two letters left alone; "-ies"/"-ied" on four-letter words → "-ie"
// (dies → die) and "-ied" → "-i" otherwise (spied → spi); y → i only after a consonant that is not the whole
// stem (happy → happi, enjoy → enjoy, sky → sky); "-alli" → "-al" tried first in step 2; "-fulli" → "-ful";
// "-logi" → "-log"; "-bli" → "-ble"; and a two-letter vowel-consonant stem counts as ending cvc.
//
// Does not handle: the ORIGINAL_ALGORITHM and MARTIN_EXTENSIONS modes, or letters outside a–z (they count as
// consonants; rouge-score only ever passes it lowercase ASCII letters and digits).

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

// NLTK's irregular forms: word → stem.
const IRREGULAR = new Map<string, string>([
  ['sky', 'sky'],
  ['skies', 'sky'],
  ['dying', 'die'],
  ['lying', 'lie'],
  ['tying', 'tie'],
  ['news', 'news'],
  ['innings', 'inning'],
  ['inning', 'inning'],
  ['outings', 'outing'],
  ['outing', 'outing'],
  ['cannings', 'canning'],
  ['canning', 'canning'],
  ['howe', 'howe'],
  ['proceed', 'proceed'],
  ['exceed', 'exceed'],
  ['succeed', 'succeed'],
]);

function isConsonant(word: string, i: number): boolean {
  const ch = word[i];
  if (VOWELS.has(ch)) return false;
  if (ch === 'y') return i === 0 ? true : !isConsonant(word, i - 1);
  return true;
}

/** m in [C](VC)^m[V]: the number of vowel-then-consonant boundaries. */
function measure(stem: string): number {
  let m = 0;
  for (let i = 1; i < stem.length; i++) if (!isConsonant(stem, i - 1) && isConsonant(stem, i)) m++;
  return m;
}

function containsVowel(stem: string): boolean {
  for (let i = 0; i < stem.length; i++) if (!isConsonant(stem, i)) return true;
  return false;
}

/** *d: ends with a double consonant. */
function endsDoubleConsonant(word: string): boolean {
  const n = word.length;
  return n >= 2 && word[n - 1] === word[n - 2] && isConsonant(word, n - 1);
}

/** *o: ends consonant-vowel-consonant, the last not w, x or y (NLTK: also a two-letter vowel-consonant word). */
function endsCvc(word: string): boolean {
  const n = word.length;
  return (
    (n >= 3 && isConsonant(word, n - 3) && !isConsonant(word, n - 2) && isConsonant(word, n - 1) && !'wxy'.includes(word[n - 1])) ||
    (n === 2 && !isConsonant(word, 0) && isConsonant(word, 1))
  );
}

const positive = (stem: string): boolean => measure(stem) > 0;
const above1 = (stem: string): boolean => measure(stem) > 1;

type Rule = readonly [suffix: string, replacement: string, condition: ((stem: string) => boolean) | null];

/**
 * The first rule whose suffix the word ends with decides: if its condition holds on what is left, replace the
 * suffix, else leave the word as it is (later rules are not tried). The suffix '*d' means "a double consonant".
 */
function applyRules(word: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, condition] of rules) {
    if (suffix === '*d' && endsDoubleConsonant(word)) {
      const stem = word.slice(0, -2);
      return condition === null || condition(stem) ? stem + replacement : word;
    }
    if (word.endsWith(suffix)) {
      const stem = word.slice(0, word.length - suffix.length);
      return condition === null || condition(stem) ? stem + replacement : word;
    }
  }
  return word;
}

/** Step 1a: plurals. caresses → caress, ponies → poni, ties → tie (NLTK), cats → cat. */
function step1a(word: string): string {
  if (word.endsWith('ies') && word.length === 4) return word.slice(0, -3) + 'ie';
  return applyRules(word, [
    ['sses', 'ss', null],
    ['ies', 'i', null],
    ['ss', 'ss', null],
    ['s', '', null],
  ]);
}

/** Step 1b: -eed, -ed, -ing. agreed → agree, plastered → plaster, motoring → motor, hopping → hop, filing → file. */
function step1b(word: string): string {
  if (word.endsWith('ied')) return word.slice(0, -3) + (word.length === 4 ? 'ie' : 'i');
  if (word.endsWith('eed')) {
    const stem = word.slice(0, -3);
    return measure(stem) > 0 ? stem + 'ee' : word;
  }
  let stem: string | null = null;
  for (const suffix of ['ed', 'ing']) {
    if (word.endsWith(suffix)) {
      const s = word.slice(0, -suffix.length);
      if (containsVowel(s)) {
        stem = s;
        break;
      }
    }
  }
  if (stem === null) return word;
  const last = stem[stem.length - 1];
  return applyRules(stem, [
    ['at', 'ate', null],
    ['bl', 'ble', null],
    ['iz', 'ize', null],
    // A double consonant other than l, s, z loses one letter.
    ['*d', last, () => !'lsz'.includes(last)],
    // A short cvc stem gets its e back: fil(ing) → file.
    ['', 'e', (s) => measure(s) === 1 && endsCvc(s)],
  ]);
}

/** Step 1c: y → i after a consonant (NLTK: not when that consonant is the whole stem). happy → happi, sky → sky. */
function step1c(word: string): string {
  return applyRules(word, [['y', 'i', (stem) => stem.length > 1 && isConsonant(stem, stem.length - 1)]]);
}

/** Step 2: double suffixes to single ones. relational → relate, digitizer → digitize, hopefulness → hopeful. */
function step2(word: string): string {
  if (word.endsWith('alli') && positive(word.slice(0, -4))) return step2(word.slice(0, -4) + 'al');
  return applyRules(word, [
    ['ational', 'ate', positive],
    ['tional', 'tion', positive],
    ['enci', 'ence', positive],
    ['anci', 'ance', positive],
    ['izer', 'ize', positive],
    ['bli', 'ble', positive],
    ['alli', 'al', positive],
    ['entli', 'ent', positive],
    ['eli', 'e', positive],
    ['ousli', 'ous', positive],
    ['ization', 'ize', positive],
    ['ation', 'ate', positive],
    ['ator', 'ate', positive],
    ['alism', 'al', positive],
    ['iveness', 'ive', positive],
    ['fulness', 'ful', positive],
    ['ousness', 'ous', positive],
    ['aliti', 'al', positive],
    ['iviti', 'ive', positive],
    ['biliti', 'ble', positive],
    ['fulli', 'ful', positive],
    // The measure is taken with the 'l' kept, so short stems (geo-logi) work like long ones (archaeo-logi).
    ['logi', 'log', () => positive(word.slice(0, -3))],
  ]);
}

/** Step 3: triplicate → triplic, formative → form, electrical → electric, goodness → good. */
function step3(word: string): string {
  return applyRules(word, [
    ['icate', 'ic', positive],
    ['ative', '', positive],
    ['alize', 'al', positive],
    ['iciti', 'ic', positive],
    ['ical', 'ic', positive],
    ['ful', '', positive],
    ['ness', '', positive],
  ]);
}

/** Step 4: drop a final suffix from long stems. revival → reviv, adjustment → adjust, adoption → adopt. */
function step4(word: string): string {
  return applyRules(word, [
    ['al', '', above1],
    ['ance', '', above1],
    ['ence', '', above1],
    ['er', '', above1],
    ['ic', '', above1],
    ['able', '', above1],
    ['ible', '', above1],
    ['ant', '', above1],
    ['ement', '', above1],
    ['ment', '', above1],
    ['ent', '', above1],
    ['ion', '', (stem) => above1(stem) && 'st'.includes(stem[stem.length - 1])],
    ['ou', '', above1],
    ['ism', '', above1],
    ['ate', '', above1],
    ['iti', '', above1],
    ['ous', '', above1],
    ['ive', '', above1],
    ['ize', '', above1],
  ]);
}

/** Step 5a: a final e goes when m > 1, or m = 1 and the stem does not end cvc. probate → probat, rate → rate. */
function step5a(word: string): string {
  if (word.endsWith('e')) {
    const stem = word.slice(0, -1);
    const m = measure(stem);
    if (m > 1 || (m === 1 && !endsCvc(stem))) return stem;
  }
  return word;
}

/** Step 5b: controll → control when m > 1. */
function step5b(word: string): string {
  return applyRules(word, [['ll', 'l', () => above1(word.slice(0, -1))]]);
}

/**
 * The stem of a word, as NLTK's `PorterStemmer().stem(word)`. Example: `porterStem('running')` → `'run'`,
 * `porterStem('generalizations')` → `'gener'`. Does not handle: letters outside a–z (see the file header).
 */
export function porterStem(word: string): string {
  const lower = word.toLowerCase();
  const irregular = IRREGULAR.get(word);
  if (irregular !== undefined) return irregular;
  if (word.length <= 2) return lower;
  let s = lower;
  s = step1a(s);
  s = step1b(s);
  s = step1c(s);
  s = step2(s);
  s = step3(s);
  s = step4(s);
  s = step5a(s);
  s = step5b(s);
  return s;
}
