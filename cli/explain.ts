// `attn explain`: what a model's attention does, in one command.
//
//   attn explain --model DIR --text "…" [--pair "…"] [--data FILES] --out DIR
//       a self-contained report.html (layer × head grid, head view, rollout), the maps as SVG and PNG, and with
//       --data the role of every head over that text and each head's importance
//   attn explain prune --model DIR --data FILES [--keep F | --heads LIST] [--save DIR] --out DIR
//       Michel et al.'s experiment: remove heads least important first and watch validation quality; --save
//       writes the physically pruned model (Hugging Face's prune_heads; pruned_heads in config.json)
//
// --data is plain text for a GPT (scored by bits per byte); for a BERT-family sequence classifier, labelled
// rows in .jsonl/.csv/.tsv as `attn finetune` reads them (scored by accuracy); for an encoder-decoder (Marian,
// T5), source/target rows (scored by teacher-forced next-token accuracy). Head statistics read any of them.
import { parseCommand, num, list, str, UsageError, type CommandSpec, type ParsedValues } from './args.js';
import { ProgressBar } from './progress.js';

/** Fields of classification rows (.jsonl/.csv/.tsv), as `attn finetune` names them. */
const RECORDS = {
  'text-field': { type: 'string', value: 'NAME', help: 'classification data: field of the text', default: 'text' },
  'text-pair-field': { type: 'string', value: 'NAME', help: 'classification data: field of the second text (read when present)' },
  'label-field': { type: 'string', value: 'NAME', help: 'classification data: field of the label', default: 'label' },
  'source-field': { type: 'string', value: 'NAME', help: 'encoder-decoder data: field of the source text', default: 'source' },
  'target-field': { type: 'string', value: 'NAME', help: 'encoder-decoder data: field of the target text', default: 'target' },
} as const;

const COMMON = {
  model: { type: 'string', value: 'DIR', help: 'a model folder (config.json, model.safetensors, tokenizer.json)' },
  tokenizer: { type: 'string', value: 'PATH|gpt2', help: 'tokenizer when the folder has none (tokenizer.json, vocab.txt, a SentencePiece model or a folder)' },
  out: { type: 'string', value: 'DIR', help: 'output folder (replaced as a whole)' },
  threads: { type: 'string', value: 'N', help: 'worker threads for the WASM kernels (default: all cores)' },
  json: { type: 'boolean', help: 'print one JSON object with the results' },
} as const;

export const EXPLAIN: CommandSpec = {
  name: 'explain',
  summary: 'Attention maps of a text as a self-contained HTML report with SVG/PNG figures; with --data, what each head does and how important it is.',
  usage: 'attn explain --model DIR --text TEXT [--pair TEXT] [--data FILES] [--out DIR]   |   attn explain prune --help',
  options: {
    ...COMMON,
    out: { ...COMMON.out, default: 'runs/explain' },
    text: { type: 'string', value: 'TEXT', help: 'the text to explain' },
    'text-file': { type: 'string', value: 'FILE', help: 'read the text from a file' },
    pair: { type: 'string', value: 'TEXT', help: "a second text: BERT's sentence B, an encoder-decoder's target (default: its greedy output)" },
    start: { type: 'string', value: 'N', help: 'first token of the window explained (long texts)', default: '0' },
    window: { type: 'string', value: 'N', help: "tokens explained (default: the model's context, at most 256)" },
    heads: { type: 'string', value: 'LIST', help: 'mask these heads (LAYER:HEAD,...; GROUP:LAYER:HEAD for encoder-decoders) and show the maps without them' },
    data: { type: 'string', multiple: true, value: 'FILES', help: 'text to measure head statistics and importance on ("shakespeare": the default run\'s plays)' },
    'max-inputs': { type: 'string', value: 'N', help: 'text pieces the head statistics run on', default: '48' },
    'positional-threshold': { type: 'string', value: 'F', help: 'share of positions for a previous/next-token head', default: '0.9' },
    'rare-threshold': { type: 'string', value: 'F', help: 'share of positions for a rare-token head', default: '0.5' },
    'noop-threshold': { type: 'string', value: 'F', help: 'attention mass on special tokens/punctuation for a no-op head', default: '0.5' },
    'importance-tokens': { type: 'string', value: 'N', help: 'tokens head importance is measured on', default: '8192' },
    ...RECORDS,
  },
  allowPositionals: true,
  epilog: [
    'Examples:',
    '  attn explain --model runs/shakespeare --text "To be, or not to be, that is the question" --out runs/explain',
    '  attn explain --model runs/shakespeare --text-file hamlet.txt --start 512 --data shakespeare --out runs/explain',
    '  attn explain prune --model runs/shakespeare --data shakespeare --out runs/prune',
  ],
};

export const EXPLAIN_PRUNE: CommandSpec = {
  name: 'explain prune',
  summary: 'Head importance (|∂L/∂ξ|, Michel et al. 2019), quality as heads are removed least important first, and a physically pruned copy of the model.',
  usage: 'attn explain prune --model DIR --data FILES [--out DIR] [--keep F | --heads LIST] [--save DIR] [--iterative]',
  options: {
    ...COMMON,
    out: { ...COMMON.out, default: 'runs/explain-prune' },
    data: { type: 'string', multiple: true, value: 'FILES', help: 'GPT: text files, importance on the head of each, quality on its tail ("shakespeare": the default run\'s plays); BERT classifier: labelled .jsonl/.csv/.tsv rows' },
    eval: { type: 'string', value: 'FILE', help: 'BERT classifier: labelled rows accuracy is scored on (default: the last --val-fraction of --data)' },
    'val-fraction': { type: 'string', value: 'F', help: 'tail of the data scored for quality (as attn train holds it out)', default: '0.1' },
    'max-length': { type: 'string', value: 'N', help: 'BERT classifier: tokens per example', default: '128' },
    'importance-examples': { type: 'string', value: 'N', help: 'BERT classifier: examples head importance is measured on (0 = all)', default: '1024' },
    ...RECORDS,
    heads: { type: 'string', value: 'LIST', help: 'prune exactly these heads (LAYER:HEAD,...) instead of the least important' },
    keep: { type: 'string', value: 'F', help: 'with --save: keep this share of heads, pruning the least important (each layer keeps one)' },
    save: { type: 'string', value: 'DIR', help: 'write the pruned model folder here' },
    curve: { type: 'boolean', help: 'run the pruning curve (default unless --heads is given)' },
    iterative: { type: 'boolean', help: 'recompute importance after every step of the curve' },
    step: { type: 'string', value: 'N', help: 'heads removed per step of the curve (default 1, or 5% of heads above 64)' },
    tolerance: { type: 'string', value: 'F', help: 'relative quality loss that counts as a drop', default: '0.01' },
    'block-size': { type: 'string', value: 'T', help: "window length (default: the model's context, at most 128)" },
    'batch-size': { type: 'string', value: 'B', help: 'windows per forward pass', default: '8' },
    'importance-tokens': { type: 'string', value: 'N', help: 'GPT: tokens head importance is measured on (0 = all)', default: '16384' },
    'eval-tokens': { type: 'string', value: 'N', help: 'held-out tokens scored per point of the curve (0 = all)', default: '0' },
    quiet: { type: 'boolean', help: 'no progress output' },
  },
  allowPositionals: true,
  epilog: [
    'Examples:',
    '  attn explain prune --model runs/shakespeare --data shakespeare --out runs/prune',
    '  attn explain prune --model runs/shakespeare --data shakespeare --keep 0.5 --save runs/shakespeare-pruned',
    '  attn explain prune --model runs/shakespeare --data shakespeare --heads 0:1,3:2 --save runs/pruned',
    '  attn explain prune --model runs/authorship/classifier --data train.jsonl --eval dev.jsonl --out runs/prune-bert',
  ],
};

export async function explainCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'prune') return pruneCommand(argv.slice(1));
  const p = parseCommand(EXPLAIN, argv);
  if (!p) return 0;
  const v = p.values;
  const dir = str(v, 'model');
  if (!dir) throw new UsageError('--model DIR is required (see `attn explain --help`)');
  const { readFileSync, existsSync } = await import('node:fs');
  let text = str(v, 'text');
  const textFile = str(v, 'text-file');
  if (text !== undefined && textFile !== undefined) throw new UsageError('give --text or --text-file, not both');
  if (textFile !== undefined) {
    if (!existsSync(textFile)) throw new UsageError(`--text-file ${textFile} not found`);
    text = readFileSync(textFile, 'utf8');
  }
  if (text === undefined) throw new UsageError('--text TEXT (or --text-file FILE) is required: the text to explain');
  const thresholds = {
    positional: num(v, 'positional-threshold', { min: 0.01, max: 1 })!,
    rare: num(v, 'rare-threshold', { min: 0.01, max: 1 })!,
    noop: num(v, 'noop-threshold', { min: 0.01, max: 1 })!,
  };
  const x = await loadModel(v, dir);
  const ex = await import('../src/explain/index.js');
  const start = num(v, 'start', { int: true, min: 0 })!;
  const window = num(v, 'window', { int: true, min: 1 });
  const pair = str(v, 'pair');
  const encoded = x.encode(pair !== undefined ? { text, pair } : { text }, window !== undefined ? { start, length: window } : { start });
  const layouts = x.heads();
  const masked = str(v, 'heads');
  const headMask = masked !== undefined ? ex.maskWithout(layouts, ex.parseHeads(masked, layouts)) : undefined;
  const groups = x.attentions(encoded, headMask ? { headMask } : {});
  const notes = [...encoded.notes];
  if (masked !== undefined) notes.push(`heads masked (head_mask 0): ${masked}`);

  const sections: Parameters<typeof ex.writeReportFolder>[1]['sections'] = {};
  const json: Record<string, unknown> = {};
  const data = [...list(v, 'data'), ...p.positionals];
  if (data.length > 0) {
    const src = await readData(data, v, x.family);
    // Plain text in pieces of about three tokens' worth of characters per context position, cut at line starts;
    // classification rows as they are (a pair where the row has one).
    const inputs = [
      ...textPieces(src.docs.map((d) => d.text), x.maxTokens * 3).map((text) => ({ text })),
      ...src.rows.map((r) => (r.textPair !== undefined ? { text: r.text, pair: r.textPair } : { text: r.text })),
      ...src.pairs.map((p) => (p.target !== undefined ? { text: p.source, pair: p.target } : { text: p.source })),
    ];
    const maxInputs = num(v, 'max-inputs', { int: true, min: 1 })!;
    const all = inputs.map((input) => x.encode(input));
    const freq = ex.tokenFrequency(all);
    const chosen = spread(all, maxInputs);
    const acc = new ex.HeadStatsAccumulator(freq);
    const bar = new ProgressBar(chosen.length, 'head statistics ');
    chosen.forEach((e, i) => {
      acc.add(x.attentions(e));
      bar.update(i + 1);
    });
    bar.done();
    const heads = acc.result({ positionalThreshold: thresholds.positional, rareThreshold: thresholds.rare, noopThreshold: thresholds.noop });
    sections.stats = { heads, layouts, inputs: chosen.length, thresholds };
    json['heads.json'] = { inputs: chosen.length, thresholds, heads };
    const quantized = await quantizedBits(dir);
    const objective = quantized === null ? await objectiveFor(x, src, { importanceTokens: num(v, 'importance-tokens', { int: true, min: 0 })! }) : null;
    if (quantized !== null) {
      notes.push(`head importance needs gradients through float weights; ${dir} is quantised (int${quantized}), so run --data on the float folder it was made from for importance`);
    } else if (objective && layouts.length > 0) {
      const ibar = new ProgressBar(objective.batches, 'head importance ');
      sections.importance = ex.headImportance(layouts, objective, { onBatch: (d) => ibar.update(d) });
      ibar.done();
      json['importance.json'] = sections.importance;
    } else {
      notes.push(`head importance needs a loss: a GPT's on plain text, a sequence classifier's on labelled rows, an encoder-decoder's on source/target rows (.jsonl/.csv/.tsv); ${x.family} with this data has none`);
    }
  }
  json['maps.json'] = { groups: groups.map((g) => ({ kind: g.kind, queries: g.queries, keys: g.keys, layers: g.layers.map((l) => ({ heads: l.heads, headIds: l.headIds })) })) };
  const out = str(v, 'out')!;
  const title = `attn explain: ${dir} (${x.family})`;
  const files = ex.writeReportFolder(out, { title, groups, notes, layouts, sections, json });
  if (v['json']) {
    console.log(JSON.stringify({ model: dir, out, files, notes, heads: sections.stats?.heads, importance: sections.importance?.heads }));
    return 0;
  }
  for (const n of notes) console.log(`note: ${n}`);
  const T = groups[0]?.queries.length ?? 0;
  console.log(`${groups.map((g) => `${g.layers.length} ${g.kind}-attention layers`).join(', ')} over ${T} tokens`);
  if (sections.stats) {
    for (const h of sections.stats.heads.filter((s) => s.roles.length > 0)) console.log(`  ${ex.formatHead(h, layouts)}  ${h.roles.join(', ')}`);
    const none = sections.stats.heads.filter((s) => s.roles.length === 0).length;
    console.log(`  (${none} of ${sections.stats.heads.length} heads have none of the roles)`);
  }
  console.log(`report: ${out}/report.html (${files.length} files in ${out}/)`);
  return 0;
}

async function pruneCommand(argv: string[]): Promise<number> {
  const p = parseCommand(EXPLAIN_PRUNE, argv);
  if (!p) return 0;
  const v = p.values;
  const dir = str(v, 'model');
  if (!dir) throw new UsageError('--model DIR is required (see `attn explain prune --help`)');
  const data = [...list(v, 'data'), ...p.positionals];
  if (data.length === 0) throw new UsageError('--data FILES is required: importance is measured and quality scored on it ("shakespeare" for the default run\'s plays)');
  const keep = num(v, 'keep', { min: 0, max: 1 });
  const headsArg = str(v, 'heads');
  const save = str(v, 'save');
  if (keep !== undefined && headsArg !== undefined) throw new UsageError('give --keep F (least important heads) or --heads LIST (these heads), not both');
  if (keep !== undefined && save === undefined) throw new UsageError('--keep needs --save DIR: the folder the pruned model is written to');
  const quiet = v['quiet'] === true;
  const say = (s: string) => {
    if (!quiet && !v['json']) console.log(s);
  };
  const quantized = await quantizedBits(dir);
  if (quantized !== null) throw new UsageError(`${dir} is quantised (int${quantized}): head importance needs gradients through float weights, and pruning float weights; run attn explain prune on the float folder it was made from, then quantise the pruned folder`);
  const x = await loadModel(v, dir);
  const ex = await import('../src/explain/index.js');
  // Checked before the curve (minutes on a real model), not after it.
  const prunable = save !== undefined && ex.isPrunable(x) ? x : null;
  if (save !== undefined && !prunable) throw new UsageError(`${x.family} models cannot be pruned physically: attn writes pruned GPT-2 and BERT-family folders as transformers' prune_heads does, and transformers has no working head pruning for ${x.family}; mask heads instead (attn explain --heads LIST)`);
  const layouts = x.heads();
  const explicit = headsArg !== undefined ? ex.parseHeads(headsArg, layouts) : null;
  const src = await readData(data, v, x.family);
  const evalFile = str(v, 'eval');
  const evalData = evalFile !== undefined ? await readData([evalFile], v, x.family) : undefined;
  const objectiveOptions: ObjectiveOptions = {
    valFraction: num(v, 'val-fraction', { min: 0.01, max: 0.9 })!,
    blockSize: num(v, 'block-size', { int: true, min: 2 }),
    batchSize: num(v, 'batch-size', { int: true, min: 1 })!,
    importanceTokens: num(v, 'importance-tokens', { int: true, min: 0 })!,
    evalTokens: num(v, 'eval-tokens', { int: true, min: 0 })!,
    maxLength: num(v, 'max-length', { int: true, min: 2 })!,
    importanceExamples: num(v, 'importance-examples', { int: true, min: 0 })!,
    ...(evalData ? { evalData } : {}),
  };
  const objective = await objectiveFor(x, src, objectiveOptions);
  if (!objective) {
    throw new UsageError(`attn explain prune scores a GPT by bits per byte on plain text, a BERT-family sequence classifier by accuracy on labelled .jsonl/.csv/.tsv rows and an encoder-decoder by next-token accuracy on source/target rows; this ${x.family} model with this data has none of these`);
  }
  const total = ex.allHeads(layouts).length;
  const sections: Parameters<typeof ex.writeReportFolder>[1]['sections'] = {};
  const json: Record<string, unknown> = {};
  const runCurve = v['curve'] === true || explicit === null;
  if (runCurve) {
    const step = num(v, 'step', { int: true, min: 1 });
    const bar = quiet || v['json'] ? null : new ProgressBar(total, 'pruning curve ');
    const curve = ex.pruningCurve(layouts, objective, {
      ...(step !== undefined ? { step } : {}),
      iterative: v['iterative'] === true,
      tolerance: num(v, 'tolerance', { min: 0 })!,
      onPoint: (pt) => bar?.update(pt.removed, `${objective.metric.name} ${pt.quality.toFixed(4)}`),
    });
    bar?.done();
    sections.curve = curve;
    sections.importance = curve.importance;
    json['prune.json'] = curve;
    say(`${objective.metric.name} of the full model: ${curve.baseline.toFixed(4)}`);
    say('heads removed  kept    ' + objective.metric.name);
    // A baseline of 0 has no relative change: `worse` is then absolute.
    const change = (w: number) => (curve.baseline !== 0 ? `${w >= 0 ? '+' : ''}${(w * 100).toFixed(2)}%` : `${w >= 0 ? '+' : ''}${w.toFixed(4)}`);
    for (const pt of curve.points) say(`${String(pt.removed).padStart(13)}  ${(pt.fractionKept * 100).toFixed(0).padStart(3)}%   ${pt.quality.toFixed(4)} (${change(pt.worse)})  ${pt.heads.map((h) => ex.formatHead(h, layouts)).join(' ')}`);
    say(`${curve.removableWithinTolerance} of ${total} heads go before ${objective.metric.name} is worse by more than ${curve.baseline !== 0 ? `${(curve.tolerance * 100).toFixed(1)}%` : `${curve.tolerance} (absolute: the full model scores 0)`} (Michel et al. 2019 removed 20% of the WMT Transformer's heads and 40% of BERT's at test time without a noticeable loss)`);
  }
  let saved: { dir: string; heads: string[]; masked: number; pruned: number } | undefined;
  if (save !== undefined) {
    let heads = explicit;
    if (!heads) {
      const importance = sections.importance ?? ex.headImportance(layouts, objective);
      heads = ex.headsToPrune(layouts, importance, total - Math.round(keep! * total));
    }
    const pruned = prunable!.prune(heads);
    const masked = objective.quality(ex.maskWithout(layouts, heads));
    const prunedObjective = (await objectiveFor(pruned, src, { ...objectiveOptions, importanceTokens: 1, importanceExamples: 1 }))!;
    const prunedQuality = prunedObjective.quality();
    pruned.save(save);
    saved = { dir: save, heads: heads.map((h) => ex.formatHead(h, layouts)), masked, pruned: prunedQuality };
    json['saved.json'] = saved;
    say(`pruned ${heads.length} of ${total} heads (${saved.heads.join(' ')}) → ${save}: ${objective.metric.name} ${prunedQuality.toFixed(4)} (the masked model: ${masked.toFixed(4)})`);
  }
  const out = str(v, 'out')!;
  const files = ex.writeReportFolder(out, { title: `attn explain prune: ${dir}`, groups: [], layouts, sections, json });
  if (v['json']) {
    const c = sections.curve;
    console.log(JSON.stringify({ model: dir, out, files, metric: objective.metric, baseline: c?.baseline, removableWithinTolerance: c?.removableWithinTolerance, totalHeads: total, points: c?.points, saved }));
  } else say(`report: ${out}/report.html`);
  return 0;
}

// -----------------------------------------------------------------------------------------------------------

async function loadModel(v: ParsedValues, dir: string) {
  await import('../src/platform/node.js');
  const threads = num(v, 'threads', { int: true, min: 1 });
  if (threads !== undefined) (await import('../src/backend/index.js')).setBackend('wasm', { threads });
  const { loadExplainable } = await import('../src/explain/node.js');
  const { loadTokenizer, loadTokenizerFromFolder } = await import('../src/tokenizers/node.js');
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const t = str(v, 'tokenizer');
  let tokenizer;
  if (t !== undefined) {
    if (t !== 'gpt2' && !existsSync(t)) throw new UsageError(`tokenizer not found: ${t}`);
    tokenizer = await loadTokenizer(t); // 'gpt2', a tokenizer.json, vocab.txt, a SentencePiece model or a folder
  } else if (!existsSync(join(dir, 'tokenizer.json')) && ['spiece.model', 'sentencepiece.bpe.model', 'tokenizer.model', 'source.spm'].some((f) => existsSync(join(dir, f)))) {
    tokenizer = await loadTokenizerFromFolder(dir); // a T5 or Marian folder without tokenizer.json
  }
  return loadExplainable(dir, tokenizer ? { tokenizer } : {});
}

/** The bits of a quantised folder (`attn quantize`: quantization_config in config.json), or null for a float one. */
async function quantizedBits(dir: string): Promise<number | null> {
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { readJsonFile } = await import('../src/io/atomic.js');
  const file = join(dir, 'config.json');
  if (!existsSync(file)) return null; // loading the model says what is missing
  const raw = readJsonFile(file, 'model config') as { quantization_config?: { bits?: number } | null };
  return raw.quantization_config ? raw.quantization_config.bits ?? 0 : null;
}

type TextClassificationExample = import('../src/data/classification.js').TextClassificationExample;

type Seq2SeqExample = import('../src/data/seq2seq.js').Seq2SeqExample;

/** What --data holds: plain-text documents, and records (.jsonl, .csv, .tsv): classification rows or source/target pairs. */
interface DataSources {
  docs: Array<{ name: string; text: string }>;
  rows: TextClassificationExample[];
  pairs: Seq2SeqExample[];
  /** Whether every row has a label (needed for a classifier's importance and accuracy). */
  labelled: boolean;
}

const RECORD_FILE = /\.(jsonl|ndjson|csv|tsv)$/i;

/**
 * Read --data ("shakespeare": the default run's three plays): .jsonl/.csv/.tsv as source/target pairs for an
 * encoder-decoder (`family` marian or t5), else as classification rows; every other file as plain text.
 */
async function readData(paths: string[], v: ParsedValues, family: string): Promise<DataSources> {
  const { listTextFiles, readDocuments } = await import('../src/train/corpus.js');
  const { loadTextClassification, loadSeq2Seq } = await import('../src/data/node.js');
  const { shakespeareFiles } = await import('./start.js');
  const files = listTextFiles(paths.flatMap((p) => (p === 'shakespeare' ? shakespeareFiles() : [p])));
  const pair = str(v, 'text-pair-field');
  const records = files.filter((f) => RECORD_FILE.test(f));
  const seq2seq = family === 'marian' || family === 't5';
  const pairs = seq2seq ? records.flatMap((f) => loadSeq2Seq(f, { sourceField: str(v, 'source-field') ?? 'source', targetField: str(v, 'target-field') ?? 'target' })) : [];
  const rows = (seq2seq ? [] : records)
    .flatMap((f) => loadTextClassification(f, { textField: str(v, 'text-field') ?? 'text', ...(pair !== undefined ? { textPairField: pair } : {}), labelField: str(v, 'label-field') ?? 'label', requireLabel: false }));
  const { docs, reports } = readDocuments(files.filter((f) => !RECORD_FILE.test(f)));
  for (const r of reports) if (r.invalidUtf8 > 0) process.stderr.write(`warning: ${r.path}: ${r.invalidUtf8} invalid UTF-8 sequences replaced by U+FFFD\n`);
  return { docs, rows, pairs, labelled: rows.length > 0 && rows.every((r) => r.labels.length === 1) };
}

interface ObjectiveOptions {
  valFraction?: number;
  blockSize?: number | undefined;
  batchSize?: number;
  importanceTokens?: number;
  evalTokens?: number;
  maxLength?: number;
  importanceExamples?: number;
  /** Held-out rows or pairs (--eval); default: the last valFraction of the data's. */
  evalData?: DataSources;
}

/**
 * The importance/quality objective of a model and its data: a GPT's language-model loss and bits per byte on
 * plain text; a BERT-family sequence classifier's cross-entropy and accuracy on labelled rows; else null.
 */
async function objectiveFor(x: import('../src/explain/explainable.js').Explainable, data: DataSources, o: ObjectiveOptions) {
  const { GPTExplainer, gptLanguageModelObjective } = await import('../src/explain/adapters/gpt.js');
  const { BertExplainer, bertClassificationObjective } = await import('../src/explain/adapters/bert.js');
  const { Seq2SeqExplainer, seq2seqObjective } = await import('../src/explain/adapters/seq2seq.js');
  /** The last valFraction of `items` held out (unless --eval gave them). */
  const split = <T>(items: T[], held: T[] | undefined, what: string): { importance: T[]; evaluation: T[] } => {
    if (held) return { importance: items, evaluation: held };
    const cut = Math.max(1, Math.round(items.length * (1 - (o.valFraction ?? 0.1))));
    if (cut >= items.length) throw new UsageError(`--data has ${items.length} ${what}: too few to hold some out for scoring; give --eval FILE`);
    return { importance: items.slice(0, cut), evaluation: items.slice(cut) };
  };
  if (x instanceof GPTExplainer) {
    if (data.docs.length === 0) return null;
    const { buildTokenStream } = await import('../src/train/data.js');
    const stream = buildTokenStream(data.docs, { encodeText: (t) => x.tokenizer.encodeIds(t) }, o.valFraction ?? 0.1);
    return gptLanguageModelObjective(
      x,
      { importance: stream.train, evaluation: stream.val, evaluationBytes: stream.valBytes },
      { ...(o.blockSize !== undefined ? { blockSize: o.blockSize } : {}), batchSize: o.batchSize ?? 8, importanceTokens: o.importanceTokens ?? 16384, evalTokens: o.evalTokens ?? 0 },
    );
  }
  if (x instanceof BertExplainer && x.model.head === 'sequence-classification') {
    if (!data.labelled) return null;
    const s = split(data.rows, o.evalData?.rows, 'labelled row(s)');
    return bertClassificationObjective(x, s, { maxLength: o.maxLength ?? 128, batchSize: o.batchSize ?? 16, importanceExamples: o.importanceExamples ?? 1024 });
  }
  if (x instanceof Seq2SeqExplainer) {
    const withTarget = (ps: Seq2SeqExample[]) => ps.filter((p): p is Seq2SeqExample & { target: string } => p.target !== undefined);
    const pairs = withTarget(data.pairs);
    if (pairs.length === 0) return null;
    const s = split(pairs, o.evalData ? withTarget(o.evalData.pairs) : undefined, 'source/target pair(s)');
    return seq2seqObjective(x, s, { batchSize: o.batchSize ?? 16, importanceExamples: o.importanceExamples ?? 1024 });
  }
  return null;
}

/** Texts cut into pieces of about `chars` characters, at line starts where possible. */
function textPieces(texts: string[], chars: number): string[] {
  const out: string[] = [];
  for (const t of texts) {
    let i = 0;
    while (i < t.length) {
      let end = Math.min(t.length, i + chars);
      const nl = t.lastIndexOf('\n', end);
      if (end < t.length && nl > i + chars / 2) end = nl + 1;
      const piece = t.slice(i, end);
      if (piece.trim().length > 0) out.push(piece);
      i = end;
    }
  }
  return out;
}

/** At most n items, spread evenly over the list. */
function spread<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]!);
}
