// `npm run bench -- load [--json]`: how fast attn loads a GPT-2 124M-sized safetensors checkpoint, and how much
// memory that takes compared with the file size (issue 5: goal ≤ 1 s and peak RSS ≤ 1.3× the file).
//
// A child process writes a checkpoint with the 148 tensors of GPT-2 124M (random weights, ~500 MB) using
// attn's streaming writer; then fresh child processes load it, so each peak RSS is the load's alone. (The
// parent stays small on purpose: on Linux a child's maxRSS starts from its parent's RSS at fork time, so a
// parent holding the 500 MB of weights would inflate every child's number. Each child also reports VmHWM
// from /proc/self/status, the peak of its own address space, as a cross-check.)
//   load-gpt2-124m           loadSafetensorsFile: header first, then each tensor read into its own Float32Array
//   load-gpt2-124m-readfile  readFileSync of the whole file, then readSafetensors (zero-copy Float32Array views)
// Each child reports its wall time and process.resourceUsage().maxRSS. The file was just written, so it is in
// the page cache: these are warm-cache numbers (reading from a cold disk adds the disk's own time).
// Peer: numpy in Python (json header + np.fromfile per tensor), when python3 with numpy is present.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSafetensorsFile, saveSafetensorsFile } from '../src/io/node.js';
import { readSafetensors, type TensorToSave } from '../src/io/safetensors.js';
import { newReport, report, runPython, wantJson } from './_common.js';
import { gptConfig } from '../src/models/gpt.js';
import { fromPretrained, gptConfigToHF } from '../src/models/pretrained.js';

const MB = 1e6; // decimal megabytes, as file sizes are usually quoted

/** The tensors of GPT-2 124M under the names save_pretrained uses. Conv1D weights are [in, out]. */
function gpt2Shapes(): [string, number[]][] {
  const V = 50257, T = 1024, C = 768, L = 12; // vocab, positions, channels, layers
  const shapes: [string, number[]][] = [
    ['transformer.wte.weight', [V, C]],
    ['transformer.wpe.weight', [T, C]],
  ];
  for (let i = 0; i < L; i++) {
    const p = `transformer.h.${i}`;
    shapes.push(
      [`${p}.ln_1.weight`, [C]], [`${p}.ln_1.bias`, [C]],
      [`${p}.attn.c_attn.weight`, [C, 3 * C]], [`${p}.attn.c_attn.bias`, [3 * C]],
      [`${p}.attn.c_proj.weight`, [C, C]], [`${p}.attn.c_proj.bias`, [C]],
      [`${p}.ln_2.weight`, [C]], [`${p}.ln_2.bias`, [C]],
      [`${p}.mlp.c_fc.weight`, [C, 4 * C]], [`${p}.mlp.c_fc.bias`, [4 * C]],
      [`${p}.mlp.c_proj.weight`, [4 * C, C]], [`${p}.mlp.c_proj.bias`, [C]],
    );
  }
  shapes.push(['transformer.ln_f.weight', [C]], ['transformer.ln_f.bias', [C]]);
  return shapes;
}

/** Random weights, uniform in [-0.05, 0.05) from a xorshift32 generator (fast; the values do not matter). */
function randomWeights(): Map<string, TensorToSave> {
  let s = 2463534242;
  const tensors = new Map<string, TensorToSave>();
  for (const [name, shape] of gpt2Shapes()) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      data[i] = ((s >>> 0) / 4294967296 - 0.5) * 0.1;
    }
    tensors.set(name, { shape, data });
  }
  return tensors;
}

interface ChildResult {
  seconds: number;
  maxRssBytes: number; // process.resourceUsage().maxRSS
  hwmBytes: number | null; // VmHWM from /proc/self/status (Linux), null elsewhere
  tensors: number;
  values: number;
}

/** Peak resident memory of this process's own address space, from /proc (Linux only). */
function vmHwmBytes(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Child modes. 'write': make and save the checkpoint. 'file' / 'readfile' / 'bare': load it one way (or not at all). */
function child(mode: string, path: string): void {
  const t0 = performance.now();
  let tensorCount = 0;
  let values = 0;
  if (mode === 'write') {
    const tensors = randomWeights();
    const t1 = performance.now();
    saveSafetensorsFile(path, tensors);
    process.stdout.write(JSON.stringify({ seconds: (performance.now() - t1) / 1000 }) + '\n');
    return;
  }
  if (mode === 'model') {
    // The whole model-level load: config.json → GPT → every weight adopted from the file.
    const { model } = fromPretrained(join(path, '..'));
    const named = model.namedParameters();
    tensorCount = named.length;
    for (const [, p] of named) values += p.size;
  } else if (mode !== 'bare') {
    const { tensors } = mode === 'readfile' ? readSafetensors(readFileSync(path), path) : loadSafetensorsFile(path);
    tensorCount = tensors.size;
    for (const t of tensors.values()) values += t.data.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  const result: ChildResult = { seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024, hwmBytes: vmHwmBytes(), tensors: tensorCount, values };
  process.stdout.write(JSON.stringify(result) + '\n');
}

function runChild<T>(mode: string, path: string): T {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [self, '--child', mode, path], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`bench load: child (${mode}) failed with status ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

const NUMPY_PEER = `
import json, resource, struct, sys, time
import numpy as np
path = sys.argv[1]
t0 = time.perf_counter()
with open(path, 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    header = json.loads(f.read(n))
    header.pop('__metadata__', None)
    start = 8 + n
    arrays = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0]):
        b, e = info['data_offsets']
        f.seek(start + b)
        arrays[name] = np.fromfile(f, dtype='<f4', count=(e - b) // 4).reshape(info['shape'])
seconds = time.perf_counter() - t0
print(json.dumps({'seconds': seconds, 'maxRssBytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, 'tensors': len(arrays)}))
`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function main(): void {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    child(argv[1]!, argv[2]!);
    return;
  }
  const rep = newReport('load');
  const dir = mkdtempSync(join(tmpdir(), 'attn-bench-load-'));
  const path = join(dir, 'model.safetensors');
  try {
    const params = gpt2Shapes().reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0);
    const saveSeconds = runChild<{ seconds: number }>('write', path).seconds;
    const fileBytes = statSync(path).size;
    const fileMB = fileBytes / MB;
    const bare = runChild<ChildResult>('bare', path).maxRssBytes;
    const ctx = `${gpt2Shapes().length} tensors, ${(params / 1e6).toFixed(1)}M params, file ${fileMB.toFixed(1)} MB`;
    rep.rows.push({ case: 'save-gpt2-124m', impl: 'attn', value: saveSeconds, unit: 's', note: `saveSafetensorsFile (streamed, fsync, rename); ${ctx}` });

    writeFileSync(join(dir, 'config.json'), JSON.stringify(gptConfigToHF(gptConfig({ preset: 'gpt2' }))));
    for (const mode of ['file', 'readfile', 'model'] as const) {
      const runs = [runChild<ChildResult>(mode, path), runChild<ChildResult>(mode, path), runChild<ChildResult>(mode, path)];
      for (const r of runs) {
        if (r.values !== params || r.tensors !== 148) throw new Error(`bench load: child (${mode}) loaded ${r.tensors} tensors / ${r.values} values, expected 148 / ${params}`);
      }
      const seconds = median(runs.map((r) => r.seconds));
      const peak = Math.max(...runs.map((r) => r.maxRssBytes));
      const hwm = runs.every((r) => r.hwmBytes !== null) ? Math.max(...runs.map((r) => r.hwmBytes!)) : null;
      const name = mode === 'file' ? 'load-gpt2-124m' : mode === 'readfile' ? 'load-gpt2-124m-readfile' : 'from-pretrained-gpt2-124m';
      const how = mode === 'file' ? 'loadSafetensorsFile: per-tensor readSync into own Float32Arrays' : mode === 'readfile' ? 'readFileSync + readSafetensors: zero-copy views' : 'fromPretrained(dir): config + GPT + weights adopted';
      rep.rows.push({ case: name, impl: 'attn', value: seconds, unit: 's', note: `${how}; median of 3 fresh processes, warm page cache; ${(fileMB / seconds).toFixed(0)} MB/s` });
      rep.rows.push({
        case: `${name}-peak-rss`,
        impl: 'attn',
        value: peak / MB,
        unit: 'MB',
        note: `maxRSS, max of 3: ${(peak / fileBytes).toFixed(3)}× the ${fileMB.toFixed(1)} MB file${hwm !== null ? `; VmHWM ${(hwm / MB).toFixed(0)} MB` : ''}; bare node process ${(bare / MB).toFixed(0)} MB`,
      });
    }

    const py = runPython(NUMPY_PEER, [path]);
    if (py === null) {
      rep.missing!.push('numpy');
    } else {
      const r = JSON.parse(py) as ChildResult;
      rep.rows.push({ case: 'load-gpt2-124m', impl: 'numpy', value: r.seconds, unit: 's', note: 'json header + np.fromfile per tensor, warm page cache' });
      rep.rows.push({ case: 'load-gpt2-124m-peak-rss', impl: 'numpy', value: r.maxRssBytes / MB, unit: 'MB', note: `${(r.maxRssBytes / fileBytes).toFixed(3)}× the file` });
    }
    if (runPython('import safetensors') === null) rep.missing!.push('safetensors (python)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report(rep, wantJson());
}

main();
