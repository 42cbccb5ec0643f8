// The Node side of explain: load a model folder as an explain adapter (by its config's model_type), read the
// viewer's compiled script for the report, and write a report folder (report.html, the maps as SVG and PNG,
// the statistics as JSON) atomically.
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readDirConsistent, readJsonFile, writeDirAtomic } from '../io/atomic.js';
import { fromPretrained } from '../models/pretrained.js';
import { Tokenizer } from '../tokenizers/index.js';
import { ByteLevelBPE } from '../tokenizers/bpe.js';
import { fromPretrainedBert } from '../models/bert_pretrained.js';
import { fromPretrainedSeq2Seq } from '../models/seq2seq_pretrained.js';
import { BertExplainer } from './adapters/bert.js';
import { Seq2SeqExplainer } from './adapters/seq2seq.js';
import { GPTExplainer } from './adapters/gpt.js';
import { RNNExplainer, type SymbolTable } from './adapters/rnn.js';
import { loadRNNSeq2Seq, RNN_SEQ2SEQ_MODEL_TYPE } from '../models/rnn_pretrained.js';
import type { AttentionGroup, Explainable, HeadLayout } from './explainable.js';
import { figurePng, figureSvg, type Figure } from './figure.js';
import { gridFigure, layerFigure, mapFigure, pruneFigure, rolesFigure } from './figures.js';
import { reportData, reportHtml, type ReportSections } from './report.js';
import { rollout } from './rollout.js';

/** How each model_type in a config.json becomes an adapter; families land here as their models do. */
const LOADERS: Record<string, (dir: string, tokenizer: Tokenizer | null) => Explainable> = {
  gpt2: (dir, tok) => {
    const loaded = fromPretrained(dir);
    let t = tok ?? (loaded.tokenizerJson !== null ? Tokenizer.fromJSON(loaded.tokenizerJson) : null);
    if (!t && loaded.vocabMerges) t = Tokenizer.fromByteLevelBPE(ByteLevelBPE.fromVocabMerges(loaded.vocabMerges.vocab, loaded.vocabMerges.merges));
    if (!t) throw new Error(`${dir} has no tokenizer.json; pass a tokenizer (--tokenizer PATH|gpt2)`);
    return new GPTExplainer(loaded.model, t);
  },
  bert: bertLoader,
  roberta: bertLoader,
  distilbert: bertLoader,
  marian: seq2seqLoader,
  t5: seq2seqLoader,
  [RNN_SEQ2SEQ_MODEL_TYPE]: rnnLoader,
};

/** attn's RNN encoder-decoder folders (src/models/rnn_pretrained.ts): the decoder's alignments. */
function rnnLoader(dir: string, tok: Tokenizer | null): Explainable {
  if (tok) throw new Error(`${dir} is an RNN encoder-decoder: its symbols come from its symbols.json, not from a tokenizer`);
  const { model, symbols } = loadRNNSeq2Seq(dir);
  return new RNNExplainer(model, { source: symbolTable(symbols.source), target: symbolTable(symbols.target) });
}

function symbolTable(tokens: readonly string[]): SymbolTable {
  const ids = new Map(tokens.map((t, i) => [t, i]));
  return { tokens, id: (s) => ids.get(s) };
}

/** Marian and T5 folders: encoder, decoder and cross-attention maps. */
function seq2seqLoader(dir: string, tok: Tokenizer | null): Explainable {
  const loaded = fromPretrainedSeq2Seq(dir);
  const t = tok ?? (loaded.tokenizerJson !== null ? Tokenizer.fromJSON(loaded.tokenizerJson) : null);
  if (!t) throw new Error(`${dir} has no tokenizer.json; pass a tokenizer (--tokenizer PATH, or in code loadTokenizerFromFolder(dir) for SentencePiece and Marian files)`);
  return new Seq2SeqExplainer(loaded.model, t, { family: loaded.modelType });
}

/** BERT, RoBERTa and DistilBERT folders, with whatever head they have (the maps are the encoder's). */
function bertLoader(dir: string, tok: Tokenizer | null): Explainable {
  const loaded = fromPretrainedBert(dir);
  const t = tok ?? loaded.tokenizer;
  if (!t) throw new Error(`${dir} has no tokenizer (tokenizer.json, vocab.txt or vocab.json + merges.txt); pass --tokenizer PATH`);
  return new BertExplainer(loaded.model, t);
}

/**
 * The explain adapter for a model folder. `loadExplainable('runs/shakespeare')`. Throws naming the model_type
 * when its family has no adapter (and for folders without a config.json).
 */
export function loadExplainable(dir: string, opts: { tokenizer?: Tokenizer } = {}): Explainable {
  if (!existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
  const cfg = readDirConsistent(dir, (d) => readJsonFile(join(d, 'config.json'), 'model config'));
  const type = typeof cfg === 'object' && cfg !== null ? (cfg as Record<string, unknown>)['model_type'] : undefined;
  const load = typeof type === 'string' ? LOADERS[type] : undefined;
  if (!load) throw new Error(`${join(dir, 'config.json')}: model_type ${JSON.stringify(type)} has no attention maps in this build of attn; it explains: ${Object.keys(LOADERS).join(', ')}`);
  return load(dir, opts.tokenizer ?? null);
}

/** The report viewer's JavaScript (web/explain_view.ts, compiled by the browser build into dist/web/). */
export function readViewerScript(): string {
  const file = new URL('../../web/explain_view.js', import.meta.url);
  if (!existsSync(file)) throw new Error(`the report viewer ${file.pathname} is missing; run \`npm run build\` (it compiles web/explain_view.ts)`);
  return readFileSync(file, 'utf8');
}

export interface ReportFolderOptions {
  title: string;
  groups: readonly AttentionGroup[];
  notes?: string[];
  layouts: readonly HeadLayout[];
  sections?: ReportSections;
  /** JSON files to write beside the report (name → value), e.g. the statistics. */
  json?: Record<string, unknown>;
}

/**
 * Write `dir`: report.html, maps/<group>-grid, maps/<group>-layer<L> and maps/<group>-rollout as .svg and
 * .png, roles and prune figures when present, and the JSON files. The folder is replaced as a whole, so it
 * must be empty, missing, or an earlier report (one with report.html). Returns the files written.
 */
export function writeReportFolder(dir: string, o: ReportFolderOptions): string[] {
  if (existsSync(dir) && readdirSync(dir).length > 0 && !existsSync(join(dir, 'report.html'))) {
    throw new Error(`--out ${dir} is a folder with other files in it; explain replaces its output folder as a whole, so give a new or empty folder`);
  }
  const figures: Array<[string, Figure]> = [];
  for (const g of o.groups) {
    const layout = o.layouts.find((l) => l.group === g.kind);
    figures.push([`maps/${g.kind}-grid`, gridFigure(g, layout)]);
    g.layers.forEach((_, l) => figures.push([`maps/${g.kind}-layer${l}`, layerFigure(g, l)]));
    if (g.kind !== 'cross' && g.kind !== 'alignments' && g.queries.length === g.keys.length) {
      const r = rollout(g);
      figures.push([`maps/${g.kind}-rollout`, mapFigure(r[r.length - 1]!, g.queries, g.keys, `${g.kind} attention rollout after ${r.length} layers`)]);
    }
  }
  const s = o.sections ?? {};
  if (s.stats) figures.push(['roles', rolesFigure(s.stats.heads, s.stats.layouts)]);
  if (s.curve) figures.push(['prune', pruneFigure(s.curve)]);
  const html = reportHtml(reportData(o.title, o.groups, o.notes ?? []), readViewerScript(), s);
  const written: string[] = [];
  writeDirAtomic(dir, (tmp) => {
    mkdirSync(join(tmp, 'maps'));
    writeFileSync(join(tmp, 'report.html'), html);
    written.push('report.html');
    for (const [name, fig] of figures) {
      writeFileSync(join(tmp, `${name}.svg`), figureSvg(fig));
      writeFileSync(join(tmp, `${name}.png`), figurePng(fig));
      written.push(`${name}.svg`, `${name}.png`);
    }
    for (const [name, value] of Object.entries(o.json ?? {})) {
      writeFileSync(join(tmp, name), JSON.stringify(value, null, 2) + '\n');
      written.push(name);
    }
  });
  return written.map((f) => join(dir, f));
}
