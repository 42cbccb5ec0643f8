// `attn experiment attention`: train the RNN encoder-decoders with and without attention on grapheme-to-phoneme
// (CMUdict) and on sequence reversal, the same time budget each, and write what they show into one folder:
//
//   results.md                  the tables (error rates, parameters, steps, speed; the Transformer's row when
//                               --transformer-results is given) and the figures, ready for a README
//   results.json                every number, for scripts
//   g2p-length.svg/.png         error rate against word length, one line per model (Bahdanau et al. fig. 2)
//   reverse-length.svg/.png     the same for reversal, lengths 5–60
//   heatmaps/*.svg/.png         attention weights (outputs × inputs) of each attention model on a few inputs
//   models/TASK-ATTENTION/      each trained model as a folder (config.json, model.safetensors, symbols.json):
//                               `attn explain --model DIR --text WORD` shows its alignments
//
// The experiment itself is src/experiments/attention.ts; this file parses options, shows progress and writes
// files (atomically).
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCommand, num, str, UsageError, type CommandSpec } from './args.js';
import { ProgressBar, compact, duration } from './progress.js';
import { encodePng } from './png.js';
import type { AttentionKind } from '../src/models/rnn_attention.js';
import type { TaskName, TaskResult } from '../src/experiments/attention.js';

export const EXPERIMENT: CommandSpec = {
  name: 'experiment',
  summary: 'Run a prepared experiment. `attention`: RNN encoder-decoders without attention, with Bahdanau and with Luong attention, on G2P (CMUdict) and sequence reversal; error rate against input length, alignment heatmaps.',
  usage: 'attn experiment attention [--task g2p|reverse|both] [--time MIN | --steps N] [--out DIR] [--transformer-results FILE]',
  options: {
    task: { type: 'string', value: 'NAME', help: 'g2p, reverse or both', default: 'both' },
    time: { type: 'string', value: 'MIN', help: 'training time per model and task, in minutes', default: '5' },
    steps: { type: 'string', value: 'N', help: 'train each model for N steps instead (exactly reproducible)' },
    out: { type: 'string', value: 'DIR', help: 'folder for the tables and figures', default: 'runs/attention' },
    models: { type: 'string', value: 'LIST', help: 'attention kinds, comma-separated: none, bahdanau, luong-dot, luong-general, luong-concat', default: 'none,bahdanau,luong-dot,luong-general' },
    cell: { type: 'string', value: 'gru|lstm', help: 'recurrent cell of encoder and decoder', default: 'gru' },
    'batch-size': { type: 'string', value: 'B', help: 'sequences per training step', default: '64' },
    lr: { type: 'string', value: 'LR', help: 'peak learning rate (AdamW, cosine decay to a tenth)', default: '0.002' },
    seed: { type: 'string', value: 'N', help: 'random seed (weights, batches, evaluation sequences)', default: '1234' },
    'eval-words': { type: 'string', value: 'N', help: 'g2p: score this many test words, spread over the test set (0 = all)', default: '0' },
    'per-length': { type: 'string', value: 'N', help: 'reverse: evaluation sequences per length (5, 10, ..., 60)', default: '40' },
    beams: { type: 'string', value: 'N', help: 'beam width for evaluation (1 = greedy)', default: '1' },
    'transformer-results': { type: 'string', value: 'FILE', help: 'JSON with the Transformer\'s G2P results on the same split: {"wer", "per", "parameters"?, "model"?, "by_length"?: [{"length", "wer"}]}' },
    replot: { type: 'boolean', help: 'train nothing: redraw the tables and figures of --out from its results.json (e.g. to add --transformer-results)' },
    threads: { type: 'string', value: 'N', help: 'worker threads for the WASM kernels (default: all cores)' },
    quiet: { type: 'boolean', help: 'no progress bar' },
  },
  allowPositionals: true,
  epilog: [
    'Examples:',
    '  attn experiment attention --time 10',
    '  attn experiment attention --task reverse --steps 3000 --out runs/reverse',
    '  attn experiment attention --task g2p --transformer-results runs/transformer-g2p/results.json',
    '  attn experiment attention --out runs/attention --replot --transformer-results transformer.json',
  ],
};

/** The Transformer's row, as the encoder-decoder experiment reports it. */
interface TransformerResults {
  model: string;
  wer: number;
  per: number;
  parameters?: number;
  byLength?: { length: number; wer: number }[];
}

export async function experimentCommand(argv: string[]): Promise<number> {
  const p = parseCommand(EXPERIMENT, argv);
  if (!p) return 0;
  const [name, ...extra] = p.positionals;
  if (name !== 'attention' || extra.length) throw new UsageError(`attn experiment: the experiment to run is 'attention' (got ${p.positionals.length ? `'${p.positionals.join(' ')}'` : 'none'}); run \`attn experiment --help\``);
  const v = p.values;
  const taskOpt = str(v, 'task') ?? 'both';
  if (!['g2p', 'reverse', 'both'].includes(taskOpt)) throw new UsageError(`--task must be g2p, reverse or both, got '${taskOpt}'`);
  const tasks: TaskName[] = taskOpt === 'both' ? ['g2p', 'reverse'] : [taskOpt as TaskName];
  const steps = num(v, 'steps', { int: true, min: 1 });
  const minutes = num(v, 'time', { min: 0.01 })!;
  const cell = str(v, 'cell');
  if (cell !== 'gru' && cell !== 'lstm') throw new UsageError(`--cell must be gru or lstm, got '${cell}'`);
  const { ATTENTION_KINDS } = await import('../src/models/rnn_attention.js');
  const models = (str(v, 'models') ?? '').split(',').map((s) => s.trim()).filter(Boolean) as AttentionKind[];
  for (const m of models) if (!ATTENTION_KINDS.includes(m)) throw new UsageError(`--models: unknown attention '${m}'; choose from ${ATTENTION_KINDS.join(', ')}`);
  if (models.length === 0) throw new UsageError('--models: give at least one attention kind');
  const trFile = str(v, 'transformer-results');
  const transformer = trFile ? readTransformerResults(trFile) : null;
  const out = resolve(str(v, 'out')!);
  if (v['replot'] === true) {
    const prev = readResults(join(out, 'results.json'));
    await writeAll(out, prev.tasks, transformer ?? prev.transformer);
    console.error(`redrew ${join(out, 'results.md')} and the figures from results.json`);
    return 0;
  }
  const opts = {
    models, cell: cell as 'gru' | 'lstm',
    batchSize: num(v, 'batch-size', { int: true, min: 1 })!, lr: num(v, 'lr', { min: 0 })!, seed: num(v, 'seed', { int: true })!,
    evalLimit: num(v, 'eval-words', { int: true, min: 0 })!, perLength: num(v, 'per-length', { int: true, min: 1 })!, beams: num(v, 'beams', { int: true, min: 1 })!,
    ...(steps !== undefined ? { steps } : { seconds: minutes * 60 }),
  };

  await import('../src/platform/node.js');
  const { setBackend, getBackend } = await import('../src/backend/index.js');
  const threads = num(v, 'threads', { int: true, min: 1 });
  if (threads !== undefined) setBackend('wasm', { threads });
  const { runAttentionExperiment, MODEL_LABELS } = await import('../src/experiments/attention.js');
  const { loadCmudict } = await import('../src/data/g2p_node.js');
  const { saveRNNSeq2Seq } = await import('../src/models/rnn_pretrained.js');
  const quiet = v['quiet'] === true;
  const budget = steps !== undefined ? `${steps} steps` : `${duration(minutes * 60)}`;
  console.error(`attn experiment attention: ${tasks.join(' and ')}, ${models.length} models × ${budget} each (${cell.toUpperCase()}), backend ${getBackend().name} (${getBackend().threads} threads) → ${out}`);

  const results: TaskResult[] = [];
  for (const task of tasks) {
    let bar: ProgressBar | null = null;
    let current = '';
    const r = runAttentionExperiment({
      ...opts,
      task,
      ...(task === 'g2p' ? { g2pEntries: loadCmudict() } : {}),
      onModel: (model, info) => saveRNNSeq2Seq(model, join(out, 'models', `${info.task}-${info.attention}`), info),
      onProgress(pr) {
        if (quiet) return;
        const label = `${task} · ${MODEL_LABELS[pr.model]}`;
        if (label !== current) {
          bar?.done();
          bar = new ProgressBar(pr.totalSteps, `${label}: step `);
          current = label;
        }
        bar!.setTotal(pr.totalSteps);
        if (pr.phase === 'eval') bar!.log(`${label}: ${pr.step} steps in ${duration(pr.elapsed)}, loss ${pr.loss.toFixed(3)}; evaluating...`);
        else bar!.update(pr.step, `loss ${pr.loss.toFixed(3)}`, steps !== undefined ? undefined : Math.max(0, minutes * 60 - pr.elapsed));
      },
    });
    (bar as ProgressBar | null)?.done();
    results.push(r);
    await writeAll(out, results, transformer); // after every task, so a long run leaves what it has finished
    for (const m of r.models) console.error(`${task} · ${m.label}: ${r.metricNames[0]} ${pct(m.errorRate)}, ${r.metricNames[1]} ${pct(m.tokenErrorRate)} (${compact(m.parameters)} parameters, ${m.steps} steps)`);
  }
  console.error(`wrote ${join(out, 'results.md')}, results.json and the figures`);
  return 0;
}

/** results.json, results.md and every task's figures. */
async function writeAll(out: string, results: TaskResult[], transformer: TransformerResults | null): Promise<void> {
  const { writeFileAtomic, writeJsonFileAtomic } = await import('../src/io/atomic.js');
  mkdirSync(join(out, 'heatmaps'), { recursive: true });
  for (const r of results) await writeTaskFigures(out, r, r.task === 'g2p' ? transformer : null);
  writeJsonFileAtomic(join(out, 'results.json'), { tasks: results.map(jsonOf), transformer });
  writeFileAtomic(join(out, 'results.md'), markdown(results, transformer));
}

/** The tasks (alignment weights back as Float32Arrays) and Transformer row of an earlier run's results.json. */
function readResults(file: string): { tasks: TaskResult[]; transformer: TransformerResults | null } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--replot: cannot read ${file} (${(e as Error).message}); run the experiment into --out first`);
  }
  const tasks = (raw as { tasks?: unknown }).tasks;
  if (!Array.isArray(tasks) || tasks.some((t) => typeof t !== 'object' || t === null || !Array.isArray((t as { models?: unknown }).models))) {
    throw new UsageError(`--replot: ${file} has no "tasks" list of the shape attn experiment writes`);
  }
  return {
    tasks: (tasks as TaskResult[]).map((t) => ({
      ...t,
      models: t.models.map((m) => ({ ...m, alignments: m.alignments.map((a) => ({ ...a, weights: Float32Array.from(a.weights as unknown as number[]) })) })),
    })),
    transformer: ((raw as { transformer?: TransformerResults | null }).transformer ?? null),
  };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}

/** results.json: everything, with the alignment weights as plain arrays. */
function jsonOf(r: TaskResult): unknown {
  return { ...r, models: r.models.map((m) => ({ ...m, alignments: m.alignments.map((a) => ({ ...a, weights: Array.from(a.weights, (w) => +w.toFixed(4)) })) })) };
}

function readTransformerResults(file: string): TransformerResults {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--transformer-results ${file}: ${(e as Error).message}`);
  }
  const o = raw as Record<string, unknown>;
  const isRate = (x: unknown): x is number => typeof x === 'number' && x >= 0 && x <= 1;
  if (typeof raw !== 'object' || raw === null || !isRate(o['wer']) || !isRate(o['per'])) {
    throw new UsageError(`--transformer-results ${file}: expected an object with "wer" and "per" as fractions in [0, 1], e.g. {"model": "Transformer", "wer": 0.25, "per": 0.06}`);
  }
  const res: TransformerResults = { model: typeof o['model'] === 'string' ? o['model'] : 'Transformer', wer: o['wer'], per: o['per'] };
  if (typeof o['parameters'] === 'number') res.parameters = o['parameters'];
  const bl = o['by_length'];
  if (bl !== undefined) {
    if (!Array.isArray(bl) || bl.some((p) => typeof p !== 'object' || p === null || typeof (p as Record<string, unknown>)['length'] !== 'number' || !isRate((p as Record<string, unknown>)['wer']))) {
      throw new UsageError(`--transformer-results ${file}: "by_length" must be a list of {"length": number, "wer": fraction}`);
    }
    res.byLength = (bl as { length: number; wer: number }[]).map((p) => ({ length: p.length, wer: p.wer }));
  }
  return res;
}

/** The length figure and the heatmaps of one task, as SVG and PNG. */
async function writeTaskFigures(out: string, r: TaskResult, transformer: TransformerResults | null): Promise<void> {
  const { linePlotSvg, linePlotRaster, heatmapSvg, heatmapRaster } = await import('../src/experiments/plots.js');
  const { writeFileAtomic } = await import('../src/io/atomic.js');
  const series = r.models.map((m) => ({ name: m.label, points: m.byLength.map((p) => [p.length, 100 * p.errorRate] as [number, number]) }));
  if (transformer?.byLength) series.push({ name: transformer.model, points: transformer.byLength.map((p) => [Math.min(Math.max(p.length, 3), 14), 100 * p.wer] as [number, number]) });
  const plot = {
    title: r.task === 'g2p' ? 'G2P (CMUdict test words): word error rate by word length' : 'Reversing sequences: sequence error rate by length',
    xLabel: r.task === 'g2p' ? 'letters in the word (3 = up to 3, 14 = 14 or more)' : 'sequence length',
    yLabel: `${r.metricNames[0]} (%)`,
    series,
    yFormat: (y: number) => `${y}`,
  };
  writeFileAtomic(join(out, `${r.task}-length.svg`), linePlotSvg(plot));
  const lr = linePlotRaster(plot);
  writeFileAtomic(join(out, `${r.task}-length.png`), encodePng(lr.width, lr.height, lr.rgba));
  for (const m of r.models) {
    m.alignments.forEach((a, i) => {
      const word = a.source.filter((s) => !s.startsWith('<')).join('');
      // </s> is drawn as $ (a label as narrow as the others).
      const end = (xs: string[]) => xs.map((s) => (s === '</s>' ? '$' : s));
      const h = { title: `${m.label}: ${r.task === 'g2p' ? word : `reversing ${a.source.length - 1} symbols`}`, rows: end(a.output), cols: end(a.source), values: a.weights };
      const base = join(out, 'heatmaps', `${r.task}-${m.attention}-${i + 1}`);
      writeFileAtomic(`${base}.svg`, heatmapSvg(h));
      const hr = heatmapRaster(h);
      writeFileAtomic(`${base}.png`, encodePng(hr.width, hr.height, hr.rgba));
    });
  }
}

/** results.md: the tables and figure links. */
function markdown(results: TaskResult[], transformer: TransformerResults | null): string {
  const lines: string[] = ['# The attention experiment', ''];
  for (const r of results) {
    const budget = r.budget.steps !== undefined ? `${r.budget.steps} steps` : `${duration(r.budget.seconds!)}`;
    lines.push(`## ${r.task === 'g2p' ? 'Grapheme-to-phoneme (CMUdict)' : 'Reversing sequences of 5–60 symbols'}`, '');
    lines.push(`${r.cell.toUpperCase()} encoder-decoders, ${budget} of training each, ${r.evalItems} ${r.task === 'g2p' ? 'test words' : 'test sequences'}.`, '');
    lines.push(`| model | parameters | steps | train time | target tokens/s | ${r.metricNames[0]} | ${r.metricNames[1]} |`);
    lines.push('|---|---:|---:|---:|---:|---:|---:|');
    for (const m of r.models) {
      lines.push(`| ${m.label} | ${compact(m.parameters)} | ${m.steps} | ${duration(m.seconds)} | ${compact(m.tokensPerSecond)} | ${pct(m.errorRate)} | ${pct(m.tokenErrorRate)} |`);
    }
    if (r.task === 'g2p' && transformer) {
      lines.push(`| ${transformer.model} (encoder-decoder experiment, same split) | ${transformer.parameters !== undefined ? compact(transformer.parameters) : '–'} | – | – | – | ${pct(transformer.wer)} | ${pct(transformer.per)} |`);
    }
    lines.push('', `![${r.metricNames[0]} by length](${r.task}-length.svg)`, '');
    const lengths = [...new Set(r.models.flatMap((m) => m.byLength.map((p) => p.length)))].sort((a, b) => a - b);
    lines.push(`${r.metricNames[0]} by input length:`, '');
    lines.push(`| length | ${r.models.map((m) => m.label).join(' | ')} |`);
    lines.push(`|---:|${r.models.map(() => '---:').join('|')}|`);
    for (const L of lengths) {
      const label = r.task === 'g2p' ? (L === 3 ? '≤ 3' : L === 14 ? '≥ 14' : String(L)) : String(L);
      const count = r.models[0]!.byLength.find((p) => p.length === L)?.count ?? 0;
      lines.push(`| ${label} (${count}) | ${r.models.map((m) => { const p = m.byLength.find((q) => q.length === L); return p ? pct(p.errorRate) : '–'; }).join(' | ')} |`);
    }
    lines.push('');
    const maps = r.models.flatMap((m) => m.alignments.map((_, i) => `heatmaps/${r.task}-${m.attention}-${i + 1}.svg`));
    if (maps.length) lines.push('Alignments:', '', ...maps.map((f) => `![](${f})`), '');
  }
  return lines.join('\n');
}
