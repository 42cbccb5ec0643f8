// Shared plumbing for `npm run bench -- <name>`: machine description, the one JSON shape every bench prints
// with --json (see docs/ARCHITECTURE.md), a side-by-side table, a tiny timer, the PyTorch runner with its
// threading configurations, and the competing busy process of `--contended`.
import { cpus } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface BenchRow {
  case: string;
  impl: string; // 'attn' or the peer's plain name: 'openblas', 'pytorch', 'tfjs-wasm', 'gpt-tokenizer', ...
  threads?: number;
  /** How a peer was configured for this row, e.g. 'torch=1,openblas=2' (see torchConfigs). */
  config?: string;
  /** Measured while one busy-looping process competed for a core (`--contended`, see withContention). */
  contended?: boolean;
  value: number;
  unit: 'GFLOP/s' | 'MB/s' | 'tokens/s' | 's' | 'ms' | 'MB' | 'GB/s' | 'nats/token';
  note?: string;
}

export interface BenchReport {
  bench: string;
  date: string;
  machine: { cpus: number; model: string; node: string; relaxedSimd: boolean };
  rows: BenchRow[];
  missing?: string[];
}

/** Does this runtime validate a module that uses f32x4.relaxed_madd? (Node 20 needs a flag; >= 22 has it.) */
export function hasRelaxedSimd(): boolean {
  // (module (func (result v128) v128.const i32x4 0 0 0 0 ... f32x4.relaxed_madd))
  const bytes = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    253, 133, 2, 11,
  ]);
  return WebAssembly.validate(bytes);
}

export function machine(): BenchReport['machine'] {
  const c = cpus();
  return { cpus: c.length, model: c[0]?.model.trim() ?? 'unknown', node: process.version, relaxedSimd: hasRelaxedSimd() };
}

export function wantJson(argv: readonly string[] = process.argv.slice(2)): boolean {
  return argv.includes('--json');
}

/** Median wall time in ms of `fn` after `warmup` calls, over at least `minRuns` runs and `minMs` milliseconds. */
export async function timeIt(fn: () => unknown | Promise<unknown>, opts: { warmup?: number; minRuns?: number; minMs?: number } = {}): Promise<number> {
  const { warmup = 1, minRuns = 3, minMs = 1000 } = opts;
  // Return to the event loop once per case: a bench that builds model after model otherwise runs as one chain
  // of promises, in which the WebAssembly heap cannot see the earlier cases' models as dropped (heap.ts).
  await new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || performance.now() - start < minMs) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Run `/usr/bin/python3` with a script; returns stdout, or null when python (or a module it needs) is missing. */
export function runPython(script: string, args: string[] = [], env: Record<string, string> = {}): string | null {
  const r = spawnSync('/usr/bin/python3', ['-c', script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
  });
  if (r.error || r.status !== 0) return null;
  return r.stdout;
}

/** Units where a smaller value is better: times and sizes. */
const lowerIsBetter = (u: string): boolean => u === 's' || u === 'ms' || u === 'MB' || u === 'nats/token';

/**
 * Print a report: with --json exactly one JSON object on stdout; otherwise a table where each peer row also
 * shows attn's value for the same case, thread count and load as a ratio (attn / peer, > 1 means attn is
 * ahead for rates; for times and sizes, where lower is better, the ratio is peer / attn so > 1 still means
 * attn wins). When a peer ran under several configurations (rows with `config`), its best row is marked and
 * a list after the table gives attn's ratio against that best configuration: the figure to quote.
 */
export function report(r: BenchReport, json = wantJson()): void {
  if (json) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const m = r.machine;
  console.log(`${r.bench} — ${m.model}, ${m.cpus} cpus, node ${m.node}, relaxed SIMD ${m.relaxedSimd ? 'yes' : 'no'}, ${r.date}`);
  const withConfig = r.rows.some((x) => x.config !== undefined);
  const withLoad = r.rows.some((x) => x.contended);
  const sameSlot = (a: BenchRow, b: BenchRow): boolean =>
    a.case === b.case && (a.threads ?? 1) === (b.threads ?? 1) && a.unit === b.unit && Boolean(a.contended) === Boolean(b.contended);
  const attnRow = (row: BenchRow): BenchRow | undefined => r.rows.find((x) => x.impl === 'attn' && sameSlot(x, row));
  const ratio = (row: BenchRow, mine: BenchRow): number => (lowerIsBetter(row.unit) ? row.value / mine.value : mine.value / row.value);

  // The best row of each peer's configurations for one case, thread count, unit and load.
  const best = new Map<string, BenchRow[]>();
  for (const row of r.rows) {
    if (row.impl === 'attn' || row.config === undefined) continue;
    const key = `${row.impl}|${row.case}|${row.threads ?? 1}|${row.unit}|${Boolean(row.contended)}`;
    best.set(key, [...(best.get(key) ?? []), row]);
  }
  const bestOf = (rows: BenchRow[]): BenchRow =>
    rows.reduce((a, b) => ((lowerIsBetter(a.unit) ? b.value < a.value : b.value > a.value) ? b : a));
  const bestRows = new Set([...best.values()].filter((g) => g.length > 1).map(bestOf));

  const header = ['case', 'impl', 'threads', ...(withConfig ? ['config'] : []), ...(withLoad ? ['load'] : []), 'value', 'unit', 'attn ÷ peer'];
  const lines: string[][] = [header];
  for (const row of r.rows) {
    const mine = attnRow(row);
    let q = '';
    if (row.impl !== 'attn' && mine) q = `${ratio(row, mine).toFixed(2)}×${bestRows.has(row) ? ' (best)' : ''}`;
    lines.push([
      row.case, row.impl, String(row.threads ?? ''),
      ...(withConfig ? [row.config ?? ''] : []), ...(withLoad ? [row.contended ? '+1 busy' : ''] : []),
      fmt(row.value), row.unit + (row.note ? ` (${row.note})` : ''), q,
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const l of lines) console.log(l.map((s, i) => s.padEnd(widths[i]!)).join('  '));
  const summary: string[] = [];
  for (const row of bestRows) {
    const mine = attnRow(row);
    if (!mine) continue;
    const load = row.contended ? ', one core busy' : '';
    summary.push(`  ${row.case}, ${row.threads ?? 1} threads${load}, ${row.unit}: attn ÷ ${row.impl} ${ratio(row, mine).toFixed(2)}× (its best: ${row.config})`);
  }
  if (summary.length) console.log(`against each peer's best configuration:\n${summary.join('\n')}`);
  // Entries name a peer, with the reason in parentheses where it is not simply "not installed".
  if (r.missing?.length) console.log(`not measured: ${r.missing.map((x) => (x.includes('(') ? x : `${x} (not installed)`)).join(', ')}`);
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3);
}

export function newReport(bench: string): BenchReport {
  return { bench, date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), machine: machine(), rows: [], missing: [] };
}

/**
 * Run one attn measurement of `benchFile` (its import.meta.url) in a fresh Node process with the same V8 flags,
 * as `--child <case JSON> <threads>`, and parse the last line of its stdout as JSON. A fresh process per
 * measurement keeps peak-RSS figures separate and the JIT state comparable.
 */
export function runAttnChild<T>(benchFile: string, benchName: string, c: { name: string }, threads: number, childFlag = '--child'): T {
  const self = fileURLToPath(benchFile);
  const r = spawnSync(process.execPath, [...process.execArgv, self, childFlag, JSON.stringify(c), String(threads)], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) {
    throw new Error(`bench ${benchName}: the attn child for case ${c.name} (${threads} threads) failed with status ${r.status}:\n${r.stderr}`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

// -----------------------------------------------------------------------------------------------------------
// PyTorch peers: bench/_*_torch.py, one process per case and threading configuration.

/**
 * One way to run Debian's PyTorch on `threads` cores. It has two thread pools that do not know each other:
 * torch's own (OpenMP: elementwise ops, softmax, norms) and OpenBLAS's (pthreads: every matmul). Both on
 * every core oversubscribes the cores (nanoGPT's CPU step on 2 cores: 208 ms with 2 + 2 threads, 73 ms with
 * 1 + 2), so a competent user gives the cores to one pool at a time; the benches run each configuration.
 */
export interface TorchConfig {
  torch: number; // torch.set_num_threads and OMP_NUM_THREADS
  openblas: number; // OPENBLAS_NUM_THREADS
}

/** The configurations run for `threads` threads: torchConfigs(2) → torch=2,openblas=1 and torch=1,openblas=2. */
export function torchConfigs(threads: number): TorchConfig[] {
  return threads === 1 ? [{ torch: 1, openblas: 1 }] : [{ torch: threads, openblas: 1 }, { torch: 1, openblas: threads }];
}

/** What every PyTorch peer run reports besides its own figures (bench/_torch_common.py, finish). */
export interface TorchRun {
  torch: string; // version
  config: string; // 'torch=1,openblas=2', as the script found the pools
  blas: string; // 'OpenBLAS 0.3.21 pthread'
  peak_rss_mb: number;
  params?: number;
}

const BENCH_SRC = fileURLToPath(new URL('../../bench/', import.meta.url)); // from dist/bench/: the .py files
let torchInstalled: boolean | undefined;

/** Is `/usr/bin/python3` with torch installed? (Asked once.) */
export function hasTorch(): boolean {
  torchInstalled ??= runPython('import torch') !== null;
  return torchInstalled;
}

/**
 * Run bench/`script` (e.g. '_gpt_torch.py') `mode` with a JSON config under one threading configuration; its
 * last stdout line is JSON. Returns null when PyTorch is not installed (the caller lists it as missing); any
 * other failure is an error that shows how to rerun the script by hand.
 * Example: runTorch<{ step_s: number }>('_gpt_torch.py', 'train', c, { torch: 1, openblas: 2 })
 */
export function runTorch<T extends object>(script: string, mode: string, cfg: object, tc: TorchConfig): (T & TorchRun) | null {
  if (!hasTorch()) return null;
  const file = BENCH_SRC + script;
  const env = { OMP_NUM_THREADS: String(tc.torch), OPENBLAS_NUM_THREADS: String(tc.openblas) };
  const args = [file, mode, JSON.stringify(cfg), String(tc.torch), String(tc.openblas)];
  // PYTHONDONTWRITEBYTECODE: the scripts import each other; keep __pycache__ folders out of bench/.
  const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env }, maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) {
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
    throw new Error(`bench: PyTorch is installed but bench/${script} ${mode} failed (${r.error?.message ?? `status ${r.status}`}):\n${r.stderr}\nrerun it with\n  ${vars} /usr/bin/python3 ${file} ${mode} '${JSON.stringify(cfg)}' ${tc.torch} ${tc.openblas}`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T & TorchRun;
}

// -----------------------------------------------------------------------------------------------------------
// `--contended`: the same measurements with one competing busy process, started and stopped by the bench.

// The competitor: one thread spinning on one core. Every ~0.1 s it checks that its parent is still the bench
// (an orphan is re-parented), so a bench killed with SIGKILL cannot leave it spinning.
const BUSY_LOOP = `process.stdout.write('ready\\n'); const parent = process.ppid; let i = 0;
for (;;) { if (++i === 1e8) { i = 0; if (process.ppid !== parent) process.exit(0); } }`;

/**
 * Run `fn` with one busy-looping process competing for a core when `contended` is true (else just run it),
 * and stop that process afterwards, also when `fn` throws.
 * Example: const res = await withContention(true, () => runAttnChild(import.meta.url, 'train', c, 2));
 */
export async function withContention<T>(contended: boolean, fn: () => T | Promise<T>): Promise<T> {
  if (!contended) return fn();
  const busy = spawn(process.execPath, ['-e', BUSY_LOOP], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => {
    busy.once('exit', () => resolve());
    busy.once('error', () => resolve()); // it never started: nothing to wait for
  });
  try {
    await new Promise<void>((resolve, reject) => {
      busy.stdout.once('data', () => resolve()); // it prints 'ready' as it enters the loop
      busy.once('error', reject);
      busy.once('exit', (code) => reject(new Error(`bench: the busy process of --contended exited early (status ${code})`)));
    });
    return await fn();
  } finally {
    busy.kill('SIGKILL');
    await exited;
  }
}

/**
 * `--case NAME` (one of `cases`; repeat it for several), `--threads N` (default: 1 and 2) and `--contended` (measure everything
 * twice: on a quiet machine, then with one busy process competing for a core), shared by the model benches.
 */
export function parseCaseArgs<C extends { name: string }>(bench: string, cases: readonly C[], argv: readonly string[]): { cases: C[]; threads: number[]; loads: boolean[] } {
  // A mistyped flag is a message and exit status 2, not a stack trace.
  const usage = (msg: string): never => {
    console.error(`bench ${bench}: ${msg}`);
    process.exit(2);
  };
  const names: string[] = []; // --case may be given several times
  let threads = [1, 2];
  let loads = [false];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--contended') loads = [false, true];
    else if (argv[i] === '--case') {
      const name = argv[++i] ?? '';
      if (!cases.some((c) => c.name === name)) usage(`unknown --case '${name}'; cases: ${cases.map((c) => c.name).join(', ')}`);
      names.push(name);
    } else if (argv[i] === '--threads') {
      const n = Number(argv[++i]);
      if (!(Number.isInteger(n) && n >= 1)) usage(`--threads must be a positive integer, got '${argv[i] ?? ''}'`);
      threads = [n];
    }
  }
  const chosen = names.length === 0 ? [...cases] : cases.filter((c) => names.includes(c.name));
  return { cases: chosen, threads, loads };
}
