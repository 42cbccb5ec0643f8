// `attn metric <name>`: score your own outputs with the standard metrics, getting the numbers the reference tools
// (sacreBLEU, rouge-score, seqeval, scikit-learn, the official SQuAD scripts) would print for the same files.
//
//   attn metric bleu --hyp out.txt --ref ref.txt [--ref ref2.txt] [--json]
//   attn metric chrf --hyp out.txt --ref ref.txt
//   attn metric rouge --hyp summaries.txt --ref gold.txt [--stem]
//   attn metric classification --gold labels.txt --pred predicted.txt
//   attn metric seqeval --gold gold.conll --pred pred.conll [--scheme IOB2] [--mode strict]
//   attn metric squad --data dev-v2.0.json --predictions predictions.json --v2 [--na-prob na_prob.json]
//
// Only `attn/metrics` is loaded (no tensor engine), so these start fast. Bad files give one line naming the file
// and, where it helps, the line; the exit code is 1 (2 for a wrong command line).
import { parseCommand, helpText, list, num, str, UsageError, type CommandSpec, type ParsedValues } from './args.js';
import type { BleuOptions, ChrfOptions, SeqevalScheme } from '../src/metrics/index.js';

const JSON_OPT = { type: 'boolean', help: 'print one JSON object with the figures under the reference tool\'s names' } as const;

const BLEU: CommandSpec = {
  name: 'metric bleu',
  summary: 'Corpus BLEU exactly as sacreBLEU 2.x (13a tokenisation, exponential smoothing, brevity penalty), 0–100, with its signature.',
  usage: 'attn metric bleu --hyp FILE --ref FILE [--ref FILE ...] [options] [--json]',
  options: {
    hyp: { type: 'string', value: 'FILE', help: 'system output, one segment per line' },
    ref: { type: 'string', multiple: true, value: 'FILE', help: 'references, one segment per line (repeat for several references)' },
    tokenize: { type: 'string', value: '13a|intl|char|none', help: 'tokenisation', default: '13a' },
    lowercase: { type: 'boolean', help: 'lowercase hypotheses and references (case-insensitive BLEU)' },
    smooth: { type: 'string', value: 'exp|floor|add-k|none', help: 'smoothing for n-gram orders with no match', default: 'exp' },
    'smooth-value': { type: 'string', value: 'X', help: 'floor ε (default 0.1) or add-k k (default 1)' },
    'max-ngram-order': { type: 'string', value: 'N', help: 'highest n-gram order', default: '4' },
    'sentence-level': { type: 'boolean', help: 'score each line on its own (sentence BLEU, effective order)' },
    json: JSON_OPT,
  },
  epilog: ['Example: attn metric bleu --hyp newstest.out --ref newstest.ref --json'],
};

const CHRF: CommandSpec = {
  name: 'metric chrf',
  summary: 'Corpus chrF (chrF2: character 6-grams, β = 2) exactly as sacreBLEU 2.x, 0–100, with its signature.',
  usage: 'attn metric chrf --hyp FILE --ref FILE [--ref FILE ...] [options] [--json]',
  options: {
    hyp: BLEU.options.hyp,
    ref: BLEU.options.ref,
    'char-order': { type: 'string', value: 'N', help: 'character n-gram order', default: '6' },
    'word-order': { type: 'string', value: 'N', help: 'word n-gram order (2 = chrF++)', default: '0' },
    beta: { type: 'string', value: 'B', help: 'weight of recall over precision', default: '2' },
    lowercase: { type: 'boolean', help: 'case-insensitive' },
    whitespace: { type: 'boolean', help: 'keep whitespace in character n-grams' },
    'eps-smoothing': { type: 'boolean', help: 'chrF++.py epsilon smoothing instead of effective order' },
    'sentence-level': { type: 'boolean', help: 'score each line on its own' },
    json: JSON_OPT,
  },
  epilog: ['Example: attn metric chrf --hyp out.txt --ref ref.txt --word-order 2   (chrF++)'],
};

const ROUGE: CommandSpec = {
  name: 'metric rouge',
  summary: "ROUGE-1/2/L/Lsum as Google's rouge-score: precision, recall and F on 0–1, the mean over lines.",
  usage: 'attn metric rouge --hyp FILE --ref FILE [--ref FILE ...] [--stem] [--types rouge1,rouge2,rougeL,rougeLsum] [--json]',
  options: {
    hyp: { type: 'string', value: 'FILE', help: 'predicted summaries, one per line' },
    ref: { type: 'string', multiple: true, value: 'FILE', help: 'reference summaries, one per line (repeat for several; the best F counts)' },
    stem: { type: 'boolean', help: 'Porter-stem words longer than 3 letters (rouge-score use_stemmer=True)' },
    types: { type: 'string', value: 'LIST', help: 'comma-separated: rouge1..rouge9, rougeL, rougeLsum', default: 'rouge1,rouge2,rougeL,rougeLsum' },
    'newline-token': { type: 'string', value: 'STR', help: "read STR inside a line as a newline, so rougeLsum sees sentences (e.g. '<n>')" },
    json: JSON_OPT,
  },
  epilog: ['rougeLsum splits sentences only on newlines, as rouge-score does; one summary per line has one sentence unless --newline-token marks more.'],
};

const CLASSIFICATION: CommandSpec = {
  name: 'metric classification',
  summary: 'Accuracy, precision / recall / F1 per label and micro, macro, weighted, and the confusion matrix, as scikit-learn (0–1).',
  usage: 'attn metric classification --gold FILE --pred FILE [--json]',
  options: {
    gold: { type: 'string', value: 'FILE', help: 'gold labels, one per line' },
    pred: { type: 'string', value: 'FILE', help: 'predicted labels, one per line' },
    json: JSON_OPT,
  },
  epilog: ['The label set is the union of gold and predicted labels; a 0/0 precision or recall counts as 0.'],
};

const SEQEVAL: CommandSpec = {
  name: 'metric seqeval',
  summary: 'Entity-level precision, recall and F1 (micro, per type, macro, weighted) as seqeval, 0–1.',
  usage: 'attn metric seqeval --gold FILE --pred FILE [--mode strict] [--scheme IOB1|IOB2|IOE1|IOE2|IOBES|BILOU] [--json]',
  options: {
    gold: { type: 'string', value: 'FILE', help: 'gold CoNLL file: one token per line, tag in the last column, blank line between sentences' },
    pred: { type: 'string', value: 'FILE', help: 'predicted CoNLL file, same tokens and sentences' },
    mode: { type: 'string', value: 'default|strict', help: 'default: conlleval-compatible; strict: entities must follow the scheme', default: 'default' },
    scheme: { type: 'string', value: 'NAME', help: 'tagging scheme for strict mode (default: detected from the gold tags)' },
    json: JSON_OPT,
  },
  epilog: ['Example: attn metric seqeval --gold test.conll --pred predicted.conll --mode strict --scheme IOB2'],
};

const SQUAD: CommandSpec = {
  name: 'metric squad',
  summary: 'SQuAD exact match and F1 (0–100) as the official evaluate-v1.1.py / evaluate-v2.0.py scripts.',
  usage: 'attn metric squad --data SQUAD.json --predictions PRED.json [--v2 [--na-prob FILE] [--na-prob-thresh X]] [--json]',
  options: {
    data: { type: 'string', value: 'FILE', help: 'a SQuAD dataset file ({"version", "data": [...]})' },
    predictions: { type: 'string', value: 'FILE', help: 'JSON {question id: answer text}; "" means "no answer" in SQuAD 2.0' },
    v2: { type: 'boolean', help: 'SQuAD 2.0: unanswerable questions, HasAns / NoAns figures' },
    'na-prob': { type: 'string', value: 'FILE', help: 'v2: JSON {question id: probability of no answer}; adds best_exact / best_f1' },
    'na-prob-thresh': { type: 'string', value: 'X', help: 'v2: answer "no answer" where the probability exceeds X', default: '1.0' },
    json: JSON_OPT,
  },
  epilog: ['Example: attn metric squad --data dev-v2.0.json --predictions predictions.json --v2 --json'],
};

const SPECS: Record<string, CommandSpec> = { bleu: BLEU, chrf: CHRF, rouge: ROUGE, classification: CLASSIFICATION, seqeval: SEQEVAL, squad: SQUAD };

function usage(): string {
  return [
    'usage: attn metric <name> [options]',
    '',
    'Score your own outputs; the figures are those of the reference tools on the same files.',
    '',
    'Metrics:',
    '  bleu            corpus BLEU as sacreBLEU 2.x (0–100, with its signature)',
    '  chrf            chrF / chrF++ as sacreBLEU 2.x (0–100)',
    "  rouge           ROUGE-1/2/L/Lsum as Google's rouge-score (0–1)",
    '  classification  accuracy, precision/recall/F1, confusion matrix as scikit-learn (0–1)',
    '  seqeval         entity-level precision/recall/F1 as seqeval (CoNLL files, 0–1)',
    '  squad           exact match and F1 as the official SQuAD v1.1 / v2.0 scripts (0–100)',
    '',
    'Run `attn metric <name> --help` for its options.',
  ].join('\n');
}

/** `attn metric ...`. Returns the exit code; bad usage throws UsageError (exit 2), bad files throw Error (exit 1). */
export async function metricCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  const spec = SPECS[sub];
  if (!spec) throw new UsageError(`unknown metric 'attn metric ${sub}'; use one of ${Object.keys(SPECS).join(', ')} (see \`attn metric --help\`)`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(helpText(spec) + '\n');
    return 0;
  }
  const p = parseCommand(spec, rest);
  if (!p) return 0;
  const v = p.values;
  switch (sub) {
    case 'bleu':
      return bleu(v);
    case 'chrf':
      return chrf(v);
    case 'rouge':
      return rouge(v);
    case 'classification':
      return classification(v);
    case 'seqeval':
      return seqeval(v);
    default:
      return squad(v);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Files.

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const strictUtf8KeepBom = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A required file option, read as UTF-8 text (a leading byte-order mark is dropped). */
async function readText(values: ParsedValues, option: string, command: string): Promise<{ path: string; text: string }> {
  const path = str(values, option);
  if (path === undefined) throw new UsageError(`${command}: --${option} FILE is required (see \`attn ${command} --help\`)`);
  return { path, text: await readPath(path, `--${option}`, command) };
}

/**
 * A file as UTF-8 text. `keepBom`: keep a leading byte-order mark as a character, as sacreBLEU does (it opens
 * files as 'utf-8', not 'utf-8-sig', so the mark becomes part of the first segment); otherwise it is dropped.
 */
async function readPath(path: string, label: string, command: string, keepBom = false): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'it is a folder' : (e as Error).message;
    throw new Error(`${command}: cannot read ${label} ${path}: ${why}`);
  }
  try {
    const text = (keepBom ? strictUtf8KeepBom : strictUtf8).decode(bytes);
    if (keepBom && text.startsWith('\ufeff')) process.stderr.write(`warning: ${label} ${path} starts with a byte-order mark; like sacreBLEU we keep it as part of the first line\n`);
    return text;
  } catch {
    throw new Error(`${command}: ${label} ${path} is not valid UTF-8 text`);
  }
}

/**
 * Lines as sacreBLEU reads its files (Python's open(..., newline="\n")): only \n ends a line, so a Windows file's
 * \r stays at the end of each line (every metric here strips or ignores it); a final \n adds no empty line.
 */
function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The hypothesis file and reference files, one segment per line, all with the same number of lines. */
async function readSegments(values: ParsedValues, command: string): Promise<{ hyps: string[]; refs: string[][]; hypPath: string }> {
  const hypPath = str(values, 'hyp');
  if (hypPath === undefined) throw new UsageError(`${command}: --hyp FILE is required (see \`attn ${command} --help\`)`);
  const hyp = { path: hypPath, text: await readPath(hypPath, '--hyp', command, true) };
  const refPaths = list(values, 'ref');
  if (refPaths.length === 0) throw new UsageError(`${command}: give at least one --ref FILE (see \`attn ${command} --help\`)`);
  const hyps = splitLines(hyp.text);
  if (hyps.length === 0) throw new Error(`${command}: --hyp ${hyp.path} is empty; it needs one segment per line`);
  const refs: string[][] = [];
  for (const path of refPaths) {
    const lines = splitLines(await readPath(path, '--ref', command, true));
    if (lines.length !== hyps.length) {
      throw new Error(`${command}: --ref ${path} has ${lines.length} lines but --hyp ${hyp.path} has ${hyps.length}; they must pair up line by line`);
    }
    refs.push(lines);
  }
  return { hyps, refs, hypPath: hyp.path };
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], option: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${option} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

const out = (s: string): void => {
  process.stdout.write(s + '\n');
};
const f4 = (x: number): string => x.toFixed(4);

// ---------------------------------------------------------------------------------------------------------------
// sacreBLEU metrics.

/** sacreBLEU's JSON: name, score, signature, then the signature's fields as separate keys. */
function sacreJson(name: string, score: number, signature: string, extra: Record<string, unknown>): string {
  const fields = Object.fromEntries(signature.split('|').map((kv) => kv.split(':') as [string, string]));
  return JSON.stringify({ name, score, signature, ...extra, ...fields });
}

async function bleu(v: ParsedValues): Promise<number> {
  const m = await import('../src/metrics/index.js');
  const options: BleuOptions = {
    tokenize: oneOf(str(v, 'tokenize'), m.BLEU_TOKENIZERS, 'tokenize', '13a'),
    lowercase: Boolean(v['lowercase']),
    smooth: oneOf(str(v, 'smooth'), m.BLEU_SMOOTHINGS, 'smooth', 'exp'),
    smoothValue: num(v, 'smooth-value', { min: 0 }),
    maxNgramOrder: num(v, 'max-ngram-order', { int: true, min: 1 }),
  };
  const { hyps, refs } = await readSegments(v, 'metric bleu');
  // sacreBLEU's command line strips trailing whitespace from every line it reads.
  const h = hyps.map(m.pyRstrip);
  const r = refs.map((s) => s.map(m.pyRstrip));
  const scores = v['sentence-level'] ? h.map((x, i) => m.sentenceBleu(x, r.map((s) => s[i]), options)) : [m.corpusBleu(h, r, options)];
  for (const s of scores) {
    if (v['json']) {
      out(sacreJson('BLEU', s.score, s.signature, { verbose_score: m.bleuVerbose(s), counts: s.counts, totals: s.totals, precisions: s.precisions, bp: s.bp, sys_len: s.sysLen, ref_len: s.refLen, ratio: s.ratio }));
    } else out(m.formatBleu(s));
  }
  return 0;
}

async function chrf(v: ParsedValues): Promise<number> {
  const m = await import('../src/metrics/index.js');
  const options: ChrfOptions = {
    charOrder: num(v, 'char-order', { int: true, min: 0 }),
    wordOrder: num(v, 'word-order', { int: true, min: 0 }),
    beta: num(v, 'beta', { int: true, min: 0 }),
    lowercase: Boolean(v['lowercase']),
    whitespace: Boolean(v['whitespace']),
    epsSmoothing: Boolean(v['eps-smoothing']),
  };
  if ((options.charOrder ?? 6) + (options.wordOrder ?? 0) === 0) throw new UsageError('--char-order and --word-order cannot both be 0');
  const { hyps, refs } = await readSegments(v, 'metric chrf');
  const h = hyps.map(m.pyRstrip);
  const r = refs.map((s) => s.map(m.pyRstrip));
  const scores = v['sentence-level'] ? h.map((x, i) => m.sentenceChrf(x, r.map((s) => s[i]), options)) : [m.corpusChrf(h, r, options)];
  for (const s of scores) out(v['json'] ? sacreJson(s.name, s.score, s.signature, {}) : m.formatChrf(s));
  return 0;
}

async function rouge(v: ParsedValues): Promise<number> {
  const m = await import('../src/metrics/index.js');
  const types = (str(v, 'types') ?? '').split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  if (types.length === 0) throw new UsageError('--types needs at least one of rouge1..rouge9, rougeL, rougeLsum');
  for (const t of types) if (!/^rouge[1-9]$|^rougeL$|^rougeLsum$/.test(t)) throw new UsageError(`--types: unknown ROUGE type '${t}'; use rouge1..rouge9, rougeL or rougeLsum`);
  const { hyps, refs } = await readSegments(v, 'metric rouge');
  const nl = str(v, 'newline-token');
  const unfold = (s: string): string => (nl ? s.split(nl).join('\n') : s);
  const scores = m.corpusRouge(hyps.map(unfold), refs.map((s) => s.map(unfold)), { types, useStemmer: Boolean(v['stem']) });
  if (v['json']) {
    out(JSON.stringify(scores));
  } else {
    out(`ROUGE (rouge-score${v['stem'] ? ', Porter stemmer' : ''}) over ${hyps.length} segment(s), mean per segment`);
    out(`${''.padEnd(11)}${'precision'.padStart(10)}${'recall'.padStart(10)}${'f'.padStart(10)}`);
    for (const t of types) out(`${t.padEnd(11)}${f4(scores[t].precision).padStart(10)}${f4(scores[t].recall).padStart(10)}${f4(scores[t].fmeasure).padStart(10)}`);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Classification and sequence labelling.

function table(header: string[], rows: string[][]): string[] {
  const w = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]): string => cells.map((c, j) => (j === 0 ? c.padEnd(w[j]) : c.padStart(w[j]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

async function classification(v: ParsedValues): Promise<number> {
  const m = await import('../src/metrics/index.js');
  const read = async (option: string): Promise<{ path: string; labels: string[] }> => {
    const { path, text } = await readText(v, option, 'metric classification');
    const labels = splitLines(text).map((l, i) => {
      const label = m.pyStrip(l);
      if (label === '') throw new Error(`attn metric classification: --${option} ${path} line ${i + 1} is empty; give one label per line`);
      return label;
    });
    if (labels.length === 0) throw new Error(`attn metric classification: --${option} ${path} has no labels`);
    return { path, labels };
  };
  const gold = await read('gold');
  const pred = await read('pred');
  if (gold.labels.length !== pred.labels.length) {
    throw new Error(`attn metric classification: --gold ${gold.path} has ${gold.labels.length} labels but --pred ${pred.path} has ${pred.labels.length}; they must pair up line by line`);
  }
  const r = m.classificationReport(gold.labels, pred.labels);
  const prf = (s: { precision: number; recall: number; f1: number; support: number }): Record<string, number> => ({ precision: s.precision, recall: s.recall, f1: s.f1, support: s.support });
  if (v['json']) {
    out(JSON.stringify({
      accuracy: r.accuracy,
      micro: prf(r.micro),
      macro: prf(r.macro),
      weighted: prf(r.weighted),
      labels: r.labels,
      per_label: Object.fromEntries(r.perLabel.map((s) => [s.label, prf(s)])),
      confusion_matrix: r.confusion,
    }));
    return 0;
  }
  const n = gold.labels.length;
  out(`accuracy ${f4(r.accuracy)} (${Math.round(r.accuracy * n)} of ${n})`);
  out('');
  const row = (name: string, s: { precision: number; recall: number; f1: number; support: number }): string[] => [name, f4(s.precision), f4(s.recall), f4(s.f1), String(s.support)];
  for (const l of table(['', 'precision', 'recall', 'f1', 'support'], [...r.perLabel.map((s) => row(s.label, s)), row('micro avg', r.micro), row('macro avg', r.macro), row('weighted avg', r.weighted)])) out(l);
  out('');
  out('confusion matrix (rows gold, columns predicted):');
  for (const l of table(['', ...r.labels], r.confusion.map((cells, i) => [r.labels[i], ...cells.map(String)]))) out(l);
  return 0;
}

async function seqeval(v: ParsedValues): Promise<number> {
  const m = await import('../src/metrics/index.js');
  const cmd = 'metric seqeval';
  const mode = oneOf(str(v, 'mode'), ['default', 'strict'] as const, 'mode', 'default');
  const schemeArg = str(v, 'scheme');
  const given = schemeArg === undefined ? undefined : oneOf(schemeArg.toUpperCase(), m.SEQEVAL_SCHEMES, 'scheme', 'IOB2');
  if (given && mode !== 'strict') process.stderr.write(`warning: --scheme ${given} only matters with --mode strict; default mode reads every scheme leniently\n`);
  const gold = await readText(v, 'gold', cmd);
  const pred = await readText(v, 'pred', cmd);
  const g = m.parseConll(gold.text);
  const p = m.parseConll(pred.text);
  if (g.tags.length === 0) throw new Error(`${cmd}: --gold ${gold.path} has no tagged tokens`);
  if (g.tags.length !== p.tags.length) {
    throw new Error(`${cmd}: --gold ${gold.path} has ${g.tags.length} sentences but --pred ${pred.path} has ${p.tags.length} (sentences are separated by blank lines)`);
  }
  for (let s = 0; s < g.tags.length; s++) {
    if (g.tags[s].length !== p.tags[s].length) {
      throw new Error(`${cmd}: sentence ${s + 1} has ${g.tags[s].length} tokens in --gold ${gold.path} (from line ${g.lines[s][0]}) but ${p.tags[s].length} in --pred ${pred.path} (from line ${p.lines[s][0]})`);
    }
    for (let t = 0; t < g.tags[s].length; t++) {
      const a = g.tokens[s][t];
      const b = p.tokens[s][t];
      if (a !== null && b !== null && a !== b) {
        throw new Error(`${cmd}: the files disagree on the tokens: '${a}' at --gold ${gold.path} line ${g.lines[s][t]} but '${b}' at --pred ${pred.path} line ${p.lines[s][t]}`);
      }
    }
  }
  let scheme: SeqevalScheme | undefined = given;
  if (mode === 'strict') {
    scheme ??= m.detectScheme(g.tags);
    // Check every tag against the scheme here, so an error can name the file and line.
    const allowed = m.schemePrefixes(scheme);
    for (const [file, c] of [[gold.path, g], [pred.path, p]] as const) {
      c.tags.forEach((sent, s) => sent.forEach((tag, t) => {
        if (!allowed.includes(Array.from(tag)[0])) throw new Error(`${cmd}: ${file} line ${c.lines[s][t]}: tag '${tag}' does not fit ${scheme} (prefixes ${allowed.split('').join(', ')})`);
      }));
    }
  } else {
    const odd = [...g.tags.flat(), ...p.tags.flat()].filter((t) => !m.looksLikeNerTag(t));
    if (odd.length > 0) process.stderr.write(`warning: ${odd.length} tag(s) do not look like B-/I-/E-/S-TYPE or O (e.g. '${odd[0]}'); seqeval reads them as it can\n`);
  }
  const r = m.seqevalScores(g.tags, p.tags, { mode, scheme });
  const prf = (s: { precision: number; recall: number; f1: number }): Record<string, number> => ({ precision: s.precision, recall: s.recall, f1: s.f1 });
  if (v['json']) {
    out(JSON.stringify({
      precision: r.precision,
      recall: r.recall,
      f1: r.f1,
      accuracy: r.accuracy,
      mode: r.mode,
      scheme: r.scheme,
      per_type: Object.fromEntries(r.perType.map((s) => [s.type, { ...prf(s), support: s.support }])),
      macro: prf(r.macro),
      weighted: prf(r.weighted),
      entities: { gold: r.goldEntities, predicted: r.predEntities, correct: r.correctEntities },
    }));
    return 0;
  }
  out(`seqeval ${mode} mode${r.scheme ? ` (${r.scheme})` : ''}: ${r.correctEntities} of ${r.predEntities} predicted entities correct, ${r.goldEntities} gold entities`);
  out(`precision ${f4(r.precision)}  recall ${f4(r.recall)}  f1 ${f4(r.f1)}  token accuracy ${f4(r.accuracy)}`);
  out('');
  const row = (name: string, s: { precision: number; recall: number; f1: number }, support: number): string[] => [name, f4(s.precision), f4(s.recall), f4(s.f1), String(support)];
  for (const l of table(['', 'precision', 'recall', 'f1', 'support'], [...r.perType.map((s) => row(s.type, s, s.support)), row('micro avg', r, r.goldEntities), row('macro avg', r.macro, r.goldEntities), row('weighted avg', r.weighted, r.goldEntities)])) out(l);
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// SQuAD.

async function readJson(values: ParsedValues, option: string, command: string): Promise<{ path: string; text: string; value: unknown }> {
  const { path, text } = await readText(values, option, command);
  const { parseJson } = await import('../src/io/json.js');
  try {
    return { path, text, value: parseJson(text, `--${option} ${path}`) };
  } catch (e) {
    throw new Error(`${command}: ${(e as Error).message}`);
  }
}

/**
 * The keys of a JSON object in the order the text writes them (JSON.parse puts integer-like keys first). The
 * text is known to be valid JSON: we only skip over strings and nested values to find the top-level keys.
 */
export function objectKeyOrder(text: string): string[] {
  const keys: string[] = [];
  let i = text.indexOf('{') + 1;
  const skipWs = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const readString = (): string => {
    const start = i;
    i++; // opening quote
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  for (;;) {
    skipWs();
    if (text[i] === '}' || i >= text.length) return keys;
    keys.push(readString());
    skipWs();
    i++; // ':'
    // Skip the value: count brackets outside strings until a ',' or '}' at depth 0.
    let depth = 0;
    for (;;) {
      skipWs();
      const c = text[i];
      if (c === '"') {
        readString();
        continue;
      }
      if (depth === 0 && (c === ',' || c === '}')) break;
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') depth--;
      i++;
    }
    if (text[i] === ',') i++;
  }
}

async function squad(v: ParsedValues): Promise<number> {
  const m = await import('../src/metrics/index.js');
  const cmd = 'metric squad';
  const data = await readJson(v, 'data', cmd);
  const preds = await readJson(v, 'predictions', cmd);
  const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObject(data.value) || !Array.isArray(data.value['data'])) throw new Error(`${cmd}: --data ${data.path} must be a SQuAD file: an object with a "data" array of articles`);
  if (!isObject(preds.value)) throw new Error(`${cmd}: --predictions ${preds.path} must be a JSON object {question id: answer text}`);
  const version = data.value['version'];
  const v2 = Boolean(v['v2']);
  const naPath = str(v, 'na-prob');
  const thresh = num(v, 'na-prob-thresh') ?? 1.0;
  if (!v2 && (naPath !== undefined || v['na-prob-thresh'] !== '1.0')) throw new UsageError('--na-prob and --na-prob-thresh need --v2');
  const dataset = data.value as { data: unknown };
  try {
    if (!v2) {
      if (typeof version === 'string' && version !== '1.1') process.stderr.write(`warning: --data ${data.path} says version ${version}; scoring it as SQuAD 1.1 (pass --v2 for SQuAD 2.0)\n`);
      const r = m.squadV1(dataset, preds.value);
      for (const id of r.missing.slice(0, 5)) process.stderr.write(`Unanswered question ${id} will receive score 0.\n`);
      if (r.missing.length > 5) process.stderr.write(`... and ${r.missing.length - 5} more unanswered questions\n`);
      if (v['json']) out(JSON.stringify({ exact_match: r.exact_match, f1: r.f1 }));
      else out(`exact_match ${r.exact_match.toFixed(2)}  f1 ${r.f1.toFixed(2)}  (${r.total} questions${r.missing.length ? `, ${r.missing.length} without a prediction` : ''})`);
      return 0;
    }
    let naProbs: Array<[string, number]> | undefined;
    if (naPath !== undefined) {
      const na = await readJson(v, 'na-prob', cmd);
      if (!isObject(na.value)) throw new Error(`${cmd}: --na-prob ${na.path} must be a JSON object {question id: probability}`);
      const obj = na.value;
      // Keep the file's key order: the official script walks tied probabilities in that order.
      naProbs = [...new Set(objectKeyOrder(na.text))].map((k) => [k, obj[k] as number]);
    }
    const r = m.squadV2(dataset, preds.value, { naProbs, naProbThresh: thresh });
    if (v['json']) out(JSON.stringify(r));
    else for (const [k, x] of Object.entries(r)) out(`${k.padEnd(18)}${k.endsWith('total') || k.endsWith('thresh') ? String(x) : (x as number).toFixed(2)}`);
    return 0;
  } catch (e) {
    // Say which file a problem is in: the library's messages start with what they were reading.
    const msg = (e as Error).message.replace(/^SQuAD data: /, `--data ${data.path}: `).replace(/^SQuAD predictions: /, `--predictions ${preds.path}: `);
    throw new Error(msg.startsWith(`${cmd}: `) ? msg : `${cmd}: ${msg}`);
  }
}
