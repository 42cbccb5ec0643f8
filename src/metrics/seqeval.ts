// Entity-level precision, recall and F1 for sequence labelling (named entities, chunks), with the results of
// `seqeval` (chakki-works/seqeval 1.2): its default mode (compatible with CoNLL's conlleval.pl) and its strict
// mode for a declared tagging scheme (IOB1, IOB2, IOE1, IOE2, IOBES, BILOU).
//
// A sentence is a list of tags such as ['B-PER', 'I-PER', 'O', 'B-LOC']: the first character is the prefix (where
// the token sits in an entity) and the rest after one '-' is the entity type. An entity is (sentence, type,
// start, end); a predicted entity counts as correct only when all four equal a gold entity's. Then per type:
//   precision = |gold ∩ pred| / |pred|     recall = |gold ∩ pred| / |gold|     F1 = 2PR / (P + R)     (0/0 = 0)
// and the micro average pools the counts of all types (what seqeval's precision_score/recall_score/f1_score
// return by default), macro is the plain mean over types, weighted the mean weighted by gold entity counts.
//
// The two modes differ in how tags become entities:
//   default: lenient, like conlleval. An entity starts at B or S, at I or E after O/E/S, or wherever the type
//            changes; it ends at E or S, before B/S/O, or where the type changes. So the IOB1 sequence
//            I-PER I-PER is one PER entity, and B-PER I-LOC gives two. Works for IOB1, IOB2, IOE and IOBES alike.
//   strict:  an entity is only what the scheme allows from its start to its end: in IOB2, I-PER after O starts
//            nothing and is dropped; B-PER I-LOC gives only PER. A prefix the scheme does not have is an error.
//
// Does not handle: suffix-style tags (PER-B), or sample weights. seqeval returns nan for the macro average when
// there are no entities at all; we return 0 so the result stays a number.
import { compareCodePoints, pySplit } from './text.js';

/** One entity: sentence index, type, and token span [start, end) within the sentence. */
export interface Entity {
  sentence: number;
  type: string;
  start: number;
  /** One past the last token. */
  end: number;
}

export type SeqevalScheme = 'IOB1' | 'IOB2' | 'IOE1' | 'IOE2' | 'IOBES' | 'BILOU';
export const SEQEVAL_SCHEMES: readonly SeqevalScheme[] = ['IOB1', 'IOB2', 'IOE1', 'IOE2', 'IOBES', 'BILOU'];

export interface TypePRF {
  type: string;
  precision: number;
  recall: number;
  f1: number;
  /** Gold entities of this type. */
  support: number;
}

export interface SeqevalResult {
  /** Micro-averaged over all entities (seqeval's default for precision_score, recall_score, f1_score). */
  precision: number;
  recall: number;
  f1: number;
  /** Token-level accuracy: fraction of tags predicted exactly (seqeval's accuracy_score). */
  accuracy: number;
  /** Per entity type, sorted by type name. */
  perType: TypePRF[];
  macro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
  /** Entities in the gold data and in the predictions, and how many predicted ones are correct. */
  goldEntities: number;
  predEntities: number;
  correctEntities: number;
  mode: 'default' | 'strict';
  /** The scheme used in strict mode (given or detected); null in default mode. */
  scheme: SeqevalScheme | null;
}

export interface SeqevalOptions {
  /** 'strict' follows a tagging scheme exactly; default is conlleval-compatible. */
  mode?: 'default' | 'strict';
  /** Strict mode's scheme. Default: detected from the gold tags (IOB2, IOE2, IOBES or BILOU), as seqeval's
   * classification_report does; IOB1 and IOE1 must be named. Ignored in default mode. */
  scheme?: SeqevalScheme;
}

// ---------------------------------------------------------------------------------------------------------------
// Default mode: seqeval.metrics.sequence_labeling.get_entities, a flat scan over all sentences.

/** Prefix character and type of a tag in default mode: 'B-PER' → ['B', 'PER']; 'O' → ['O', '_']. */
function splitTagDefault(tag: string): [string, string] {
  const chars = Array.from(tag);
  const prefix = chars[0] ?? '';
  const rest = chars.slice(1).join('');
  // Python: chunk[1:].split('-', maxsplit=1)[-1] or '_': everything after the first '-' (or all of it).
  const dash = rest.indexOf('-');
  const type = dash >= 0 ? rest.slice(dash + 1) : rest;
  return [prefix, type === '' ? '_' : type];
}

// Did an entity end between the previous token and this one? (seqeval's end_of_chunk; '.' is conlleval's
// "no tag" mark, kept for fidelity.)
function endOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (prevTag === 'E' || prevTag === 'S') return true;
  if ((prevTag === 'B' || prevTag === 'I') && (tag === 'B' || tag === 'S' || tag === 'O')) return true;
  return prevTag !== 'O' && prevTag !== '.' && prevType !== type;
}

// Did an entity start at this token? (seqeval's start_of_chunk.)
function startOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (tag === 'B' || tag === 'S') return true;
  if ((prevTag === 'E' || prevTag === 'S' || prevTag === 'O') && (tag === 'E' || tag === 'I')) return true;
  return tag !== 'O' && tag !== '.' && prevType !== type;
}

/**
 * Entities of a corpus in seqeval's default (conlleval-compatible) mode.
 * Example: `entitiesDefault([['B-PER', 'I-PER', 'O', 'B-LOC']])` → PER [0, 2) and LOC [3, 4) of sentence 0.
 *
 * As seqeval does, the sentences are read as one sequence with an 'O' after each sentence (and one more at the
 * very end), so an entity always closes at a sentence's end. With well-formed tags (O, or B/I/E/S with a type)
 * this is the same as reading each sentence alone; tags seqeval only warns about ('X-PER', '.') are handled as
 * its flat scan handles them, which can carry state from one sentence into the next. Such an entity is reported
 * in the sentence where it starts, its `end` counted from that sentence's start.
 * Does not handle: suffix-style tags (PER-B).
 */
export function entitiesDefault(sentences: readonly (readonly string[])[]): Entity[] {
  // The flat sequence: each sentence's tags then a separator 'O'; where[k] maps flat position k to its sentence
  // and the position of the sentence's first token.
  const flat: string[] = [];
  const where: Array<{ sentence: number; first: number }> = [];
  sentences.forEach((tags, s) => {
    const first = flat.length;
    for (const t of tags) {
      flat.push(t);
      where.push({ sentence: s, first });
    }
    flat.push('O');
    where.push({ sentence: s, first });
  });
  const out: Entity[] = [];
  let prevTag = 'O';
  let prevType = '';
  let begin = 0;
  // One more 'O' after everything closes an entity that runs to the end.
  for (let i = 0; i <= flat.length; i++) {
    const [tag, type] = i < flat.length ? splitTagDefault(flat[i]) : ['O', '_'];
    if (endOfChunk(prevTag, tag, prevType, type)) {
      const w = where[begin];
      out.push({ sentence: w.sentence, type: prevType, start: begin - w.first, end: i - w.first });
    }
    if (startOfChunk(prevTag, tag, prevType, type)) begin = i;
    prevTag = tag;
    prevType = type;
  }
  return out;
}

/**
 * Whether seqeval would call a tag a named-entity tag (it warns "X seems not to be NE tag" otherwise):
 * O, B, I, E, S alone, or one of them followed by '-'. Example: `looksLikeNerTag('B-PER')` → true.
 */
export function looksLikeNerTag(tag: string): boolean {
  return ['O', 'B', 'I', 'E', 'S'].includes(tag) || /^[BIES]-/.test(tag);
}

// ---------------------------------------------------------------------------------------------------------------
// Strict mode: seqeval.scheme (Token subclasses and Tokens.entities). Each scheme is three sets of patterns
// (previous prefix, current prefix, type condition): where an entity may start, continue, and end.

type Prefix = 'I' | 'O' | 'B' | 'E' | 'S' | 'U' | 'L';
type TypeCond = 'same' | 'diff' | 'any';
type Pattern = readonly [prev: string, cur: string, cond: TypeCond]; // prefix sets written as strings: 'IB' = I or B
const ANY = 'IOBESUL';

interface SchemeRules {
  allowed: string;
  start: readonly Pattern[];
  inside: readonly Pattern[];
  end: readonly Pattern[];
}

const SCHEMES: Record<SeqevalScheme, SchemeRules> = {
  IOB1: {
    allowed: 'IOB',
    start: [['O', 'I', 'any'], ['I', 'I', 'diff'], ['B', 'I', 'any'], ['I', 'B', 'same'], ['B', 'B', 'same']],
    inside: [['B', 'I', 'same'], ['I', 'I', 'same']],
    end: [['I', 'I', 'diff'], ['I', 'O', 'any'], ['I', 'B', 'any'], ['B', 'O', 'any'], ['B', 'I', 'diff'], ['B', 'B', 'same']],
  },
  // seqeval notes that its IOE1 "hasn't yet been able to handle some cases"; we reproduce it as it is.
  IOE1: {
    allowed: 'IOE',
    start: [['O', 'I', 'any'], ['I', 'I', 'diff'], ['E', 'I', 'any'], ['E', 'E', 'same']],
    inside: [['I', 'I', 'same'], ['I', 'E', 'same']],
    end: [['I', 'I', 'diff'], ['I', 'O', 'any'], ['I', 'E', 'diff'], ['E', 'I', 'same'], ['E', 'E', 'same']],
  },
  IOB2: {
    allowed: 'IOB',
    start: [[ANY, 'B', 'any']],
    inside: [['B', 'I', 'same'], ['I', 'I', 'same']],
    end: [['I', 'O', 'any'], ['I', 'I', 'diff'], ['I', 'B', 'any'], ['B', 'O', 'any'], ['B', 'I', 'diff'], ['B', 'B', 'any']],
  },
  IOE2: {
    allowed: 'IOE',
    start: [['O', 'I', 'any'], ['O', 'E', 'any'], ['E', 'I', 'any'], ['E', 'E', 'any'], ['I', 'I', 'diff'], ['I', 'E', 'diff']],
    inside: [['I', 'E', 'same'], ['I', 'I', 'same']],
    end: [['E', ANY, 'any']],
  },
  IOBES: {
    allowed: 'IOBES',
    start: [[ANY, 'B', 'any'], [ANY, 'S', 'any']],
    inside: [['B', 'I', 'same'], ['B', 'E', 'same'], ['I', 'I', 'same'], ['I', 'E', 'same']],
    end: [['S', ANY, 'any'], ['E', ANY, 'any']],
  },
  BILOU: {
    allowed: 'BILOU',
    start: [[ANY, 'B', 'any'], [ANY, 'U', 'any']],
    inside: [['B', 'I', 'same'], ['B', 'L', 'same'], ['I', 'I', 'same'], ['I', 'L', 'same']],
    end: [['U', ANY, 'any'], ['L', ANY, 'any']],
  },
};

/** The prefixes a scheme allows, as one string. Example: `schemePrefixes('IOBES')` → 'IOBES'; 'BILOU' → 'BILOU'. */
export function schemePrefixes(scheme: SeqevalScheme): string {
  const rules = SCHEMES[scheme];
  if (!rules) throw new Error(`unknown tagging scheme '${String(scheme)}'; use one of ${SEQEVAL_SCHEMES.join(', ')}`);
  return rules.allowed;
}

interface StrictToken {
  prefix: Prefix;
  type: string;
}

/** seqeval's Token: prefix = first character, type = the rest with '-' stripped from both ends, or '_'. */
function strictToken(tag: string, where: string): StrictToken {
  const chars = Array.from(tag);
  const prefix = chars[0] ?? '';
  if (!ANY.includes(prefix) || prefix === '') {
    throw new Error(`${where}: tag '${tag}' does not start with a prefix seqeval knows (one of ${ANY.split('').join(', ')})`);
  }
  const type = chars.slice(1).join('').replace(/^-+|-+$/g, '');
  return { prefix: prefix as Prefix, type: type === '' ? '_' : type };
}

function matches(prev: StrictToken, cur: StrictToken, patterns: readonly Pattern[]): boolean {
  for (const [p, c, cond] of patterns) {
    if (!p.includes(prev.prefix) || !c.includes(cur.prefix)) continue;
    if (cond === 'any' || (cond === 'same') === (prev.type === cur.type)) return true;
  }
  return false;
}

/**
 * Entities of one sentence in seqeval's strict mode for `scheme`.
 * Example: `entitiesStrict(['I-PER', 'B-LOC', 'I-LOC'], 'IOB2')` → LOC [1, 3) only (I-PER cannot start in IOB2).
 * Throws on a prefix the scheme does not allow (seqeval's "Invalid token is found").
 */
export function entitiesStrict(tags: readonly string[], scheme: SeqevalScheme, sentence = 0): Entity[] {
  schemePrefixes(scheme); // checks the name
  const rules = SCHEMES[scheme];
  const where = `sentence ${sentence + 1}`;
  // The sentence plus one 'O' after it, so an entity can end at the last token.
  const toks = [...tags.map((t, i) => strictToken(t, `${where}, token ${i + 1}`)), { prefix: 'O', type: '_' } as StrictToken];
  const out: Entity[] = [];
  let prev: StrictToken = { prefix: 'O', type: '_' };
  let i = 0;
  while (i < toks.length) {
    const tok = toks[i];
    if (!rules.allowed.includes(tok.prefix)) {
      throw new Error(`${where}, token ${i + 1}: tag '${tags[i]}' has prefix ${tok.prefix}, which ${scheme} does not use (allowed: ${rules.allowed.split('').join(', ')})`);
    }
    if (matches(prev, tok, rules.start)) {
      // Walk forward while tokens continue the entity; `end` is the first token that does not.
      let end = i + 1;
      let last = tok;
      while (end < toks.length && matches(last, toks[end], rules.inside)) {
        last = toks[end];
        end++;
      }
      // Keep the entity only if the scheme says it ends here (the token at `end` after the one before it).
      if (end < toks.length && matches(toks[end - 1], toks[end], rules.end)) out.push({ sentence, type: tok.type, start: i, end });
      i = end;
    } else {
      i++;
    }
    prev = toks[i - 1];
  }
  return out;
}

/**
 * The scheme seqeval's auto_detect picks from the prefixes that occur: IOB2, IOE2, IOBES or BILOU.
 * Example: `detectScheme([['B-PER', 'E-PER', 'S-LOC']])` → 'IOBES'. Throws when no scheme fits the prefixes.
 */
export function detectScheme(sentences: readonly (readonly string[])[]): SeqevalScheme {
  const seen = new Set<string>();
  sentences.forEach((s, si) => s.forEach((t, ti) => seen.add(strictToken(t, `sentence ${si + 1}, token ${ti + 1}`).prefix)));
  const key = [...seen].sort().join('');
  // The prefix sets seqeval accepts for each scheme, written sorted ('BIO' = {B, I, O}).
  const table: Array<[SeqevalScheme, string[]]> = [
    ['IOB2', ['BIO', 'BI', 'BO', 'B']],
    ['IOE2', ['EIO', 'EI', 'EO', 'E']],
    ['IOBES', ['BEIOS', 'BEIS', 'BEIO', 'BEOS', 'BEI', 'BES', 'BEO', 'BE', 'S']],
    ['BILOU', ['BILOU', 'BILU', 'BILO', 'BLOU', 'BIL', 'BLU', 'BLO', 'BL', 'U']],
  ];
  for (const [scheme, sets] of table) if (sets.includes(key)) return scheme;
  throw new Error(`cannot detect the tagging scheme from the prefixes {${[...seen].sort().join(', ')}}; name it (IOB1, IOB2, IOE1, IOE2, IOBES or BILOU)`);
}

// ---------------------------------------------------------------------------------------------------------------
// Scores.

const div = (a: number, b: number): number => (b === 0 ? 0 : a / b);
const f1 = (p: number, r: number): number => div(2 * p * r, p + r);

function checkAligned(gold: readonly (readonly string[])[], pred: readonly (readonly string[])[]): void {
  if (gold.length !== pred.length) throw new Error(`seqeval: ${gold.length} gold sentences but ${pred.length} predicted sentences`);
  for (let i = 0; i < gold.length; i++) {
    if (gold[i].length !== pred[i].length) {
      throw new Error(`seqeval: sentence ${i + 1} has ${gold[i].length} gold tags but ${pred[i].length} predicted tags`);
    }
  }
}

/**
 * All of seqeval's figures for gold and predicted tag sequences (one array of tags per sentence).
 * Example: `seqevalScores([['B-PER', 'I-PER', 'O']], [['B-PER', 'O', 'O']]).f1` → 0 (the span must match exactly).
 * Does not handle: suffix-style tags, sample weights.
 */
export function seqevalScores(gold: readonly (readonly string[])[], pred: readonly (readonly string[])[], options: SeqevalOptions = {}): SeqevalResult {
  checkAligned(gold, pred);
  const mode = options.mode ?? 'default';
  const scheme = mode === 'strict' ? (options.scheme ?? detectScheme(gold)) : null;
  const extract = (sents: readonly (readonly string[])[]): Entity[] =>
    scheme ? sents.flatMap((s, i) => entitiesStrict(s, scheme, i)) : entitiesDefault(sents);
  const goldEnts = extract(gold);
  const predEnts = extract(pred);

  // Entities are compared as sets of (sentence, type, start, end).
  const key = (e: Entity): string => `${e.sentence}\u0000${e.start}\u0000${e.end}\u0000${e.type}`;
  const goldSet = new Map<string, Entity>(goldEnts.map((e) => [key(e), e]));
  const predSet = new Map<string, Entity>(predEnts.map((e) => [key(e), e]));
  const count = new Map<string, { tp: number; pred: number; true: number }>();
  const slot = (t: string): { tp: number; pred: number; true: number } => {
    let c = count.get(t);
    if (!c) count.set(t, (c = { tp: 0, pred: 0, true: 0 }));
    return c;
  };
  for (const e of goldSet.values()) slot(e.type).true++;
  for (const [k, e] of predSet) {
    const c = slot(e.type);
    c.pred++;
    if (goldSet.has(k)) c.tp++;
  }

  const types = [...count.keys()].sort(compareCodePoints);
  const perType: TypePRF[] = types.map((type) => {
    const c = count.get(type) as { tp: number; pred: number; true: number };
    const p = div(c.tp, c.pred);
    const r = div(c.tp, c.true);
    return { type, precision: p, recall: r, f1: f1(p, r), support: c.true };
  });
  const sum = (k: 'tp' | 'pred' | 'true'): number => [...count.values()].reduce((a, c) => a + c[k], 0);
  const tp = sum('tp');
  const nPred = sum('pred');
  const nTrue = sum('true');
  const precision = div(tp, nPred);
  const recall = div(tp, nTrue);

  const avg = (weights: number[] | null): { precision: number; recall: number; f1: number } => {
    const w = weights ?? perType.map(() => 1);
    const total = w.reduce((a, b) => a + b, 0);
    const m = (k: 'precision' | 'recall' | 'f1'): number => div(perType.reduce((a, s, i) => a + s[k] * w[i], 0), total);
    return { precision: m('precision'), recall: m('recall'), f1: m('f1') };
  };

  let tokens = 0;
  let same = 0;
  gold.forEach((s, i) => s.forEach((t, j) => {
    tokens++;
    if (t === pred[i][j]) same++;
  }));

  return {
    precision,
    recall,
    f1: f1(precision, recall),
    accuracy: div(same, tokens),
    perType,
    macro: avg(null),
    weighted: avg(perType.map((s) => s.support)),
    goldEntities: nTrue,
    predEntities: nPred,
    correctEntities: tp,
    mode,
    scheme,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// CoNLL files.

/** A tagged corpus read from CoNLL text: tags per sentence, the tokens (first column) and source line numbers. */
export interface ConllCorpus {
  tags: string[][];
  /** First column of each line (the word), or null when a line has only the tag. */
  tokens: (string | null)[][];
  /** 1-based line number of each token. */
  lines: number[][];
}

/**
 * Read CoNLL-style text: one token per line, columns separated by whitespace, the tag in the last column, a
 * blank line between sentences. `-DOCSTART-` lines (CoNLL-2003 document marks) end a sentence and are skipped.
 * Example: `parseConll('EU B-ORG\nrejects O\n\nPeter B-PER\n').tags` → `[['B-ORG', 'O'], ['B-PER']]`.
 * Does not handle: several tag columns (e.g. conlleval's gold-and-predicted layout); the last one is used.
 */
export function parseConll(text: string): ConllCorpus {
  const corpus: ConllCorpus = { tags: [], tokens: [], lines: [] };
  let tags: string[] = [];
  let toks: (string | null)[] = [];
  let nums: number[] = [];
  const flush = (): void => {
    if (tags.length > 0) {
      corpus.tags.push(tags);
      corpus.tokens.push(toks);
      corpus.lines.push(nums);
    }
    tags = [];
    toks = [];
    nums = [];
  };
  const rows = text.split(/\r\n|\r|\n/);
  rows.forEach((row, i) => {
    const cols = pySplit(row);
    if (cols.length === 0 || cols[0] === '-DOCSTART-') {
      flush();
      return;
    }
    tags.push(cols[cols.length - 1]);
    toks.push(cols.length > 1 ? cols[0] : null);
    nums.push(i + 1);
  });
  flush();
  return corpus;
}
