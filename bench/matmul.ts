// `npm run bench -- matmul [--json]`: single-precision matrix multiply, GFLOP/s, attn's WebAssembly backend
// side by side with @tensorflow/tfjs-backend-wasm (XNNPACK) and NumPy on OpenBLAS, in the same run.
//
// Cases are M×N×K (C = A·B with A (M, K), B (K, N)): two square ones, the two big products of a GPT-2
// small block on 252 tokens (c_fc 768 → 3072 and c_proj 3072 → 768), and c_fc for 4 rows (beam search: a
// product bound by streaming B from memory, which matmul reads in place instead of packing). Each is timed
// (median of ≥ 3 runs and ≥ 1 s) with 1 and 2 threads. attn's number is a whole Backend.matmul call: copying A
// and B into WebAssembly memory, packing B, the multiply, copying C out. Extra attn rows show the same call
// with B packed once (a weight, MatmulSpec.bVersion), and how many ms of the call are the copies in and out.
//
// Context: the f32x4 multiply-add peak of one core as WebAssembly sees it (kernels/peak.ts: ten independent
// multiply-add chains, no memory traffic) is measured first, and each 1-thread attn row says what share of it
// the whole call reaches. No GEMM written in WebAssembly can pass that line on this machine.
//
// Peers: tfjs-wasm runs one thread in Node (its threaded build needs a browser), so its row says threads 1.
// OpenBLAS runs through /usr/bin/python3 with NumPy, with OPENBLAS_NUM_THREADS set per row (NumPy has no
// other thread pool, so that is its only configuration: config 'openblas=N').
//
// `--contended` measures every row a second time with one busy process competing for a core (rows marked
// "contended": true): the case for threads that take work in chunks, so a busy core costs only its share.
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import type { MatmulSpec } from '../src/backend/backend.js';
import { nodePlatform } from '../src/platform/node.js';
import { newReport, report, runPython, timeIt, wantJson, withContention, type BenchReport } from './_common.js';
import { fmaPeak } from './_peak.js';

const CASES: [number, number, number][] = [
  [768, 768, 768],
  [1536, 1536, 1536],
  [252, 3072, 768],
  [252, 768, 3072],
  [4, 3072, 768], // 4 beams (or a batch of 4) decoding through GPT-2's c_fc: B streamed, not packed
];
const THREADS = [1, 2];

const caseName = ([m, n, k]: [number, number, number]): string => `${m}x${n}x${k}`;
const gflops = ([m, n, k]: [number, number, number], ms: number): number => (2 * m * n * k) / (ms * 1e6);

function random(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

/** attn's rows for one case and thread count: the plain call, the call with B cached, and the copies. */
async function benchAttn(r: BenchReport, c: [number, number, number], backend: WasmBackend, peak: number, contended: boolean): Promise<void> {
  const [m, n, k] = c;
  const load = contended ? { contended: true } : {};
  const threads = backend.threads;
  const a = random(m * k);
  const b = random(k * n);
  const out = new Float32Array(m * n);
  const spec: MatmulSpec = { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false };
  const ms = await timeIt(() => backend.matmul(a, b, out, spec));
  const rate = gflops(c, ms);
  const share = threads === 1 ? `; ${((100 * rate) / peak).toFixed(0)} % of the ${peak.toFixed(1)} GFLOP/s f32x4 multiply-add peak` : '';
  r.rows.push({ case: caseName(c), impl: 'attn', threads, ...load, value: rate, unit: 'GFLOP/s', note: `wasm ${backend.variant}${share}` });

  const weightSpec: MatmulSpec = { ...spec, bVersion: 1 };
  const msWeight = await timeIt(() => backend.matmul(a, b, out, weightSpec));
  r.rows.push({ case: caseName(c), impl: 'attn', threads, ...load, value: gflops(c, msWeight), unit: 'GFLOP/s', note: 'B packed once (bVersion)' });

  // The copies of one call, from the backend's own phase timers.
  const prof = backend.profileMatmul(true)!;
  const calls = 5;
  for (let i = 0; i < calls; i++) backend.matmul(a, b, out, spec);
  backend.profileMatmul(false);
  const copyMs = (prof.copyIn + prof.copyOut) / calls;
  const totalMs = (prof.copyIn + prof.pack + prof.compute + prof.copyOut) / calls;
  r.rows.push({
    case: caseName(c), impl: 'attn', threads, ...load, value: copyMs, unit: 'ms',
    note: `copy in+out, ${((100 * copyMs) / totalMs).toFixed(1)} % of the call; packing B ${(prof.pack / calls).toFixed(2)} ms`,
  });
}

type Tf = typeof import('@tensorflow/tfjs-core');

/** tfjs-core with the WASM backend ready, or null when it is not installed. */
async function loadTfjs(): Promise<{ tf: Tf; threads: number; simd: boolean } | null> {
  try {
    const tf = await import('@tensorflow/tfjs-core');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setThreadsCount(2); // honoured only by the threaded build, which Node does not get
    await tf.setBackend('wasm');
    await tf.ready();
    return { tf, threads: wasm.getThreadsCount(), simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) };
  } catch {
    return null;
  }
}

async function benchTfjs(r: BenchReport, c: [number, number, number], t: { tf: Tf; threads: number; simd: boolean }, contended: boolean): Promise<void> {
  const { tf } = t;
  const [m, n, k] = c;
  const a = tf.tensor2d(random(m * k), [m, k]);
  const b = tf.tensor2d(random(k * n), [k, n]);
  const ms = await timeIt(() => {
    const y = tf.matMul(a, b);
    y.dataSync();
    y.dispose();
  });
  r.rows.push({ case: caseName(c), impl: 'tfjs-wasm', threads: t.threads, ...(contended ? { contended: true } : {}), value: gflops(c, ms), unit: 'GFLOP/s', note: `simd ${t.simd ? 'yes' : 'no'}; no threads in Node` });
  a.dispose();
  b.dispose();
}

// Times a @ b (median of ≥ 3 runs and ≥ 1 s, like timeIt) and names the BLAS NumPy really loaded.
const NUMPY_SCRIPT = `
import json, sys, time
import numpy as np
m, n, k = json.loads(sys.argv[1])
a = np.random.rand(m, k).astype(np.float32)
b = np.random.rand(k, n).astype(np.float32)
a @ b
times = []
start = time.perf_counter()
while len(times) < 3 or time.perf_counter() - start < 1.0:
    t0 = time.perf_counter()
    a @ b
    times.append(time.perf_counter() - t0)
times.sort()
maps = open('/proc/self/maps').read()
print(json.dumps({'rate': 2 * m * n * k / times[len(times) // 2] / 1e9, 'openblas': 'openblas' in maps}))
`;

/** false when python3 with numpy is missing. */
function benchOpenBlas(r: BenchReport, c: [number, number, number], threads: number, contended: boolean): boolean {
  const env = { OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const outText = runPython(NUMPY_SCRIPT, [JSON.stringify(c)], env);
  if (outText === null) return false;
  const res = JSON.parse(outText) as { rate: number; openblas: boolean };
  const how = { config: `openblas=${threads}`, ...(contended ? { contended: true } : {}) };
  r.rows.push({ case: caseName(c), impl: res.openblas ? 'openblas' : 'numpy', threads, ...how, value: res.rate, unit: 'GFLOP/s', note: 'numpy' });
  return true;
}

// Case by case, every implementation right after the other, so that a machine that gets busier during the
// run shifts one case's rows together rather than one implementation's.
const r = newReport('matmul');
const loads = process.argv.includes('--contended') ? [false, true] : [false];
const backends = THREADS.map((threads) => createWasmBackend(nodePlatform, { threads }));
const peak = fmaPeak(backends[0]!.variant);
const tfjs = await loadTfjs();
if (!tfjs) r.missing!.push('tfjs-wasm');
let numpy = true;
for (const c of CASES) {
  for (const contended of loads) {
    await withContention(contended, async () => {
      for (const backend of backends) await benchAttn(r, c, backend, peak, contended);
      if (tfjs) await benchTfjs(r, c, tfjs, contended);
      for (const threads of THREADS) if (numpy) numpy = benchOpenBlas(r, c, threads, contended);
    });
  }
}
if (!numpy) r.missing!.push('openblas (python3 with numpy)');
// Group rows by case, then thread count, attn first, so the table reads as side-by-side comparisons.
const order = (impl: string): number => (impl === 'attn' ? 0 : 1);
r.rows.sort((x, y) => CASES.findIndex((c) => caseName(c) === x.case) - CASES.findIndex((c) => caseName(c) === y.case)
  || Number(Boolean(x.contended)) - Number(Boolean(y.contended)) || (x.threads ?? 1) - (y.threads ?? 1) || order(x.impl) - order(y.impl));
report(r, wantJson());
