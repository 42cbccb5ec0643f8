// Shared plumbing for `npm run bench -- <name>`: machine description, the one JSON shape every bench prints
// with --json (see docs/ARCHITECTURE.md), a side-by-side table, and a tiny timer.
import { cpus } from 'node:os';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface BenchRow {
  case: string;
  impl: string; // 'attn' or the peer's plain name: 'openblas', 'pytorch', 'tfjs-wasm', 'gpt-tokenizer', ...
  threads?: number;
  value: number;
  unit: 'GFLOP/s' | 'MB/s' | 'tokens/s' | 's' | 'ms' | 'MB' | 'GB/s';
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

/**
 * Print a report: with --json exactly one JSON object on stdout; otherwise a table where each peer row also
 * shows attn's value for the same case and thread count as a ratio (attn / peer, > 1 means attn is ahead for
 * rates; for times and sizes, where lower is better, the ratio is peer / attn so > 1 still means attn wins).
 */
export function report(r: BenchReport, json = wantJson()): void {
  if (json) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const m = r.machine;
  console.log(`${r.bench} — ${m.model}, ${m.cpus} cpus, node ${m.node}, relaxed SIMD ${m.relaxedSimd ? 'yes' : 'no'}, ${r.date}`);
  const lowerIsBetter = (u: string) => u === 's' || u === 'ms' || u === 'MB';
  const header = ['case', 'impl', 'threads', 'value', 'unit', 'attn ÷ peer'];
  const lines: string[][] = [header];
  for (const row of r.rows) {
    const mine = r.rows.find((x) => x.impl === 'attn' && x.case === row.case && (x.threads ?? 1) === (row.threads ?? 1) && x.unit === row.unit);
    let ratio = '';
    if (row.impl !== 'attn' && mine) {
      const q = lowerIsBetter(row.unit) ? row.value / mine.value : mine.value / row.value;
      ratio = `${q.toFixed(2)}×`;
    }
    lines.push([row.case, row.impl, String(row.threads ?? ''), fmt(row.value), row.unit + (row.note ? ` (${row.note})` : ''), ratio]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const l of lines) console.log(l.map((s, i) => s.padEnd(widths[i]!)).join('  '));
  if (r.missing?.length) console.log(`not measured (not installed): ${r.missing.join(', ')}`);
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
export function runAttnChild<T>(benchFile: string, benchName: string, c: { name: string }, threads: number): T {
  const self = fileURLToPath(benchFile);
  const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', JSON.stringify(c), String(threads)], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) {
    throw new Error(`bench ${benchName}: the attn child for case ${c.name} (${threads} threads) failed with status ${r.status}:\n${r.stderr}`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

const TORCH_FILE = fileURLToPath(new URL('../../bench/_gpt_torch.py', import.meta.url)); // from dist/bench/
let torchText: string | null = null;

/**
 * Run bench/_gpt_torch.py `mode` with a JSON config on `threads` threads; its last stdout line is JSON.
 * Returns null when PyTorch is not installed (the caller lists it as missing); any other failure is an error
 * that shows how to rerun the script by hand.
 */
export function runTorch(mode: string, cfg: object, threads: number): (Record<string, number> & { torch: string }) | null {
  torchText ??= readFileSync(TORCH_FILE, 'utf8'); // read on first use: attn child processes never need it
  const env = { OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  const out = runPython(torchText, [mode, JSON.stringify(cfg), String(threads)], env);
  if (out !== null) return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number> & { torch: string };
  if (runPython('import torch') === null) return null;
  throw new Error(`bench: PyTorch is installed but bench/_gpt_torch.py ${mode} failed; run\n  /usr/bin/python3 ${TORCH_FILE} ${mode} '${JSON.stringify(cfg)}' ${threads}\nto see why`);
}

/** `--case NAME` (one of `cases`) and `--threads N` (default: 1 and 2), shared by the model benches. */
export function parseCaseArgs<C extends { name: string }>(bench: string, cases: readonly C[], argv: readonly string[]): { cases: C[]; threads: number[] } {
  let chosen = [...cases];
  let threads = [1, 2];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--case') {
      const name = argv[++i];
      chosen = cases.filter((c) => c.name === name);
      if (chosen.length === 0) throw new Error(`bench ${bench}: unknown --case '${name}'; cases: ${cases.map((c) => c.name).join(', ')}`);
    } else if (argv[i] === '--threads') {
      const n = Number(argv[++i]);
      if (!(Number.isInteger(n) && n >= 1)) throw new Error(`bench ${bench}: --threads must be a positive integer, got '${argv[i]}'`);
      threads = [n];
    }
  }
  return { cases: chosen, threads };
}
