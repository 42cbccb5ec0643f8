// The onnxruntime peers' side of the benches: one measurement per process (so its peak RSS is that run's
// alone), run by bench/_peers.ts as `node dist/bench/_ort.js '<OrtJob JSON>'`; prints one OrtResult line.
//
// The models are bench/_export_onnx.py's exports of the PyTorch peers' modules (same shapes, same random
// weights). Before timing anything, the run feeds the export's reference inputs (other lengths than the
// graph was traced with, an empty past) and checks onnxruntime's outputs against the values PyTorch
// computed, so a graph that traced wrong cannot report a speed.
//
// Configured as a user who wants speed on a CPU would:
//   onnxruntime-node  the native CPU execution provider; intraOpNumThreads = threads, interOpNumThreads 1,
//                     sequential execution, graphOptimizationLevel 'all' (ORT's own fusions: attention,
//                     GELU, LayerNorm, MatMul + bias), the model opened from its file.
//   onnxruntime-web   the WebAssembly backend (SIMD, with pthreads on worker_threads in Node), env.wasm
//                     .numThreads = threads, proxy off, graphOptimizationLevel 'all', the model from bytes.
// Generation loops (argmax, beam bookkeeping, feeding `present` back as `past`) are plain JavaScript around
// session.run, as an application using these runtimes writes them.
//
// Tasks (shape letters: T tokens, P past tokens, K beams, V vocab):
//   gpt-decode     a `prompt`-token prompt into an empty past, then `new` greedy tokens one at a time,
//                  tokens/s of the new ones (best of `runs`), as bench/generate.ts times attn
//   gpt-prefill    one forward of a `prompt`-token prompt into an empty past, logits at every position;
//                  prompt tokens/s (median of `runs` after a warm-up)
//   bert-forward   the encoder on `batch` × `seq` random tokens (mask of ones); tokens/s (median of `runs`)
//   marian-greedy  encode a `src`-token source, then `new` greedy tokens; tokens/s = new / whole call
//   marian-beam    the same with `beams` beams (summed log-probabilities, cache reordered per step)
import { readFileSync } from 'node:fs';
import type { InferenceSession, Tensor } from 'onnxruntime-node';

export type OrtRuntime = 'onnxruntime-node' | 'onnxruntime-web';
export type OrtTask = 'gpt-decode' | 'gpt-prefill' | 'bert-forward' | 'marian-greedy' | 'marian-beam';

export interface OrtJob {
  runtime: OrtRuntime;
  task: OrtTask;
  threads: number;
  meta: string; // the export's .json (bench/_export_onnx.py)
  runs: number;
  prompt?: number;
  new?: number;
  batch?: number;
  seq?: number;
  src?: number;
  beams?: number;
}

export interface OrtResult {
  tokens_per_s: number;
  peak_rss_mb: number;
  version: string;
  threads: number; // as the runtime reports it after the session started (onnxruntime-web may lower it)
  config: string; // 'intraOp=2,interOp=1' (node) or 'wasm.numThreads=2' (web)
  params: number;
}

/** What bench/_export_onnx.py writes next to the graphs. */
interface ExportMeta {
  kind: 'gpt' | 'bert' | 'marian';
  files: string[];
  params: number;
  config: Record<string, number>;
  inputs?: string[];
  outputs?: string[];
  reference: Record<string, number[] | number[][] | number>;
}

type Ort = typeof import('onnxruntime-node');
type Feeds = Record<string, Tensor>;

// -----------------------------------------------------------------------------------------------------------
// Opening sessions the way each runtime is meant to be used.

interface Runtime {
  ort: Ort;
  version: string;
  open(path: string): Promise<InferenceSession>;
  threads(): number;
  config(): string;
}

async function openRuntime(job: OrtJob): Promise<Runtime> {
  if (job.runtime === 'onnxruntime-node') {
    const ort = await import('onnxruntime-node');
    const options: InferenceSession.SessionOptions = {
      executionProviders: ['cpu'], intraOpNumThreads: job.threads, interOpNumThreads: 1,
      executionMode: 'sequential', graphOptimizationLevel: 'all',
    };
    return {
      ort, version: ort.env.versions['node'] ?? '?', open: (p) => ort.InferenceSession.create(p, options),
      threads: () => job.threads, config: () => `intraOp=${job.threads},interOp=1`,
    };
  }
  const web = await import('onnxruntime-web');
  web.env.wasm.numThreads = job.threads;
  web.env.wasm.proxy = false;
  const options: InferenceSession.SessionOptions = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
  return {
    ort: web as unknown as Ort, // the same onnxruntime-common API (Tensor, InferenceSession)
    version: web.env.versions['web'] ?? '?',
    open: (p) => web.InferenceSession.create(readFileSync(p), options),
    threads: () => web.env.wasm.numThreads ?? 1,
    config: () => `wasm.numThreads=${web.env.wasm.numThreads ?? 1}`,
  };
}

// -----------------------------------------------------------------------------------------------------------
// Small helpers: token tensors, argmax, a seeded generator, the reference check.

function int64(ort: Ort, values: ArrayLike<number>, dims: number[]): Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(Array.from(values), (v) => BigInt(v)), dims);
}

function floats(t: Tensor): Float32Array {
  if (!(t.data instanceof Float32Array)) throw new Error(`bench: expected a float32 output, got ${t.type} with dims [${t.dims.join(', ')}]`);
  return t.data;
}

/** Index of the largest of v[off .. off+n). */
function argmax(v: Float32Array, off: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (v[off + i]! > v[off + best]!) best = i;
  return best;
}

/** xorshift32 token ids in [0, n): the values do not matter for speed, only the lengths. */
function randomIds(count: number, n: number, seed = 2463534242): number[] {
  let s = seed;
  return Array.from({ length: count }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  });
}

/** Throws unless got[i] ≈ want[i] for every i (absolute 1e-3 on values of order 1, relative above). */
function check(what: string, runtime: string, got: ArrayLike<number>, want: readonly number[]): void {
  let worst = 0;
  let at = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!));
    if (d > worst) [worst, at] = [d, i];
  }
  if (worst > 1e-3) {
    throw new Error(`bench: ${runtime} disagrees with PyTorch on ${what}: element ${at} is ${got[at]}, PyTorch computed ${want[at]} (relative difference ${worst.toExponential(2)}); the exported graph is wrong`);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// -----------------------------------------------------------------------------------------------------------
// GPT: one decoder-with-past graph. past_key_i / past_value_i (1, nh, P, hs) → present_* (1, nh, P+T, hs).

interface Gpt {
  s: InferenceSession;
  ort: Ort;
  L: number;
  nh: number;
  hs: number;
  V: number;
}

function gptEmptyPast(g: Gpt): Feeds {
  const past: Feeds = {};
  for (let i = 0; i < g.L; i++) {
    for (const kv of ['key', 'value']) past[`past_${kv}_${i}`] = new g.ort.Tensor('float32', new Float32Array(0), [1, g.nh, 0, g.hs]);
  }
  return past;
}

/** Run tokens (1, T) after `past`; returns the logits (1, T, V) and the next past (the presents). */
async function gptForward(g: Gpt, tokens: number[], past: Feeds): Promise<{ logits: Float32Array; past: Feeds }> {
  const out = await g.s.run({ input_ids: int64(g.ort, tokens, [1, tokens.length]), ...past });
  const next: Feeds = {};
  for (let i = 0; i < g.L; i++) {
    for (const kv of ['key', 'value']) next[`past_${kv}_${i}`] = out[`present_${kv}_${i}`] as Tensor;
  }
  return { logits: floats(out['logits'] as Tensor), past: next };
}

async function runGpt(job: OrtJob, rt: Runtime, meta: ExportMeta): Promise<number> {
  const c = meta.config;
  const g: Gpt = { s: await rt.open(meta.files[0]!), ort: rt.ort, L: c['n_layer']!, nh: c['n_head']!, hs: c['n_embd']! / c['n_head']!, V: c['vocab']! };
  const ref = meta.reference;
  const prompt = ref['prompt'] as number[];
  const a = await gptForward(g, prompt, gptEmptyPast(g));
  check('the prefill logits', job.runtime, a.logits.subarray((prompt.length - 1) * g.V), ref['prefill_last'] as number[]);
  const b = await gptForward(g, [ref['next'] as number], a.past);
  check('the logits of a step with the cache', job.runtime, b.logits, ref['step_last'] as number[]);

  const P = job.prompt!;
  const ids = randomIds(P, g.V);
  if (job.task === 'gpt-decode') {
    let best = Infinity;
    for (let run = 0; run < job.runs; run++) {
      let { logits, past } = await gptForward(g, ids, gptEmptyPast(g));
      let next = argmax(logits, (P - 1) * g.V, g.V);
      const t0 = performance.now();
      for (let i = 0; i < job.new!; i++) {
        ({ logits, past } = await gptForward(g, [next], past)); // logits (1, 1, V)
        next = argmax(logits, 0, g.V);
      }
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    return job.new! / best;
  }
  await gptForward(g, ids, gptEmptyPast(g)); // warm-up
  const times: number[] = [];
  for (let run = 0; run < job.runs; run++) {
    const t0 = performance.now();
    await gptForward(g, ids, gptEmptyPast(g)); // logits (1, P, V)
    times.push((performance.now() - t0) / 1000);
  }
  return P / median(times);
}

// -----------------------------------------------------------------------------------------------------------
// BERT: the encoder, input_ids / token_type_ids / attention_mask (B, T) → last_hidden_state (B, T, C).

async function runBert(job: OrtJob, rt: Runtime, meta: ExportMeta): Promise<number> {
  const { ort } = rt;
  const s = await rt.open(meta.files[0]!);
  const C = meta.config['hidden']!;
  const feeds = (ids: number[], mask: number[], B: number, T: number): Feeds => ({
    input_ids: int64(ort, ids, [B, T]),
    token_type_ids: int64(ort, new Array<number>(B * T).fill(0), [B, T]),
    attention_mask: int64(ort, mask, [B, T]),
  });
  const refIds = meta.reference['input_ids'] as number[][];
  const refMask = meta.reference['attention_mask'] as number[][];
  const T0 = refIds[0]!.length;
  const h = floats((await s.run(feeds(refIds.flat(), refMask.flat(), refIds.length, T0)))['last_hidden_state'] as Tensor);
  check('the hidden state of [CLS]', job.runtime, h.subarray(0, C), meta.reference['first'] as number[]);
  check('a hidden state next to padding', job.runtime, h.subarray((T0 + 11) * C), meta.reference['last_unpadded'] as number[]);

  const B = job.batch!, T = job.seq!;
  const f = feeds(randomIds(B * T, meta.config['vocab']!), new Array<number>(B * T).fill(1), B, T);
  await s.run(f); // warm-up
  const times: number[] = [];
  for (let run = 0; run < job.runs; run++) {
    const t0 = performance.now();
    await s.run(f);
    times.push((performance.now() - t0) / 1000);
  }
  return (B * T) / median(times);
}

// -----------------------------------------------------------------------------------------------------------
// Marian: encoder (input_ids (1, S) → cross_key_i / cross_value_i (1, nh, S, hs)) and decoder-with-past
// (input_ids (K, 1), past_* (K, nh, P, hs), cross_* → logits (K, 1, V), present_* (K, nh, P+1, hs)).

interface Marian {
  enc: InferenceSession;
  dec: InferenceSession;
  ort: Ort;
  L: number;
  nh: number;
  hs: number;
  V: number;
  pad: number;
}

async function encode(m: Marian, src: number[]): Promise<Feeds> {
  const out = await m.enc.run({ input_ids: int64(m.ort, src, [1, src.length]) });
  const cross: Feeds = {};
  for (let i = 0; i < m.L; i++) for (const kv of ['key', 'value']) cross[`cross_${kv}_${i}`] = out[`cross_${kv}_${i}`] as Tensor;
  return cross;
}

function marianEmptyPast(m: Marian, K: number): Feeds {
  const past: Feeds = {};
  for (let i = 0; i < m.L; i++) for (const kv of ['key', 'value']) past[`past_${kv}_${i}`] = new m.ort.Tensor('float32', new Float32Array(0), [K, m.nh, 0, m.hs]);
  return past;
}

async function step(m: Marian, tokens: number[], past: Feeds, cross: Feeds): Promise<{ logits: Float32Array; present: Feeds }> {
  const out = await m.dec.run({ input_ids: int64(m.ort, tokens, [tokens.length, 1]), ...past, ...cross });
  const present: Feeds = {};
  for (let i = 0; i < m.L; i++) for (const kv of ['key', 'value']) present[`past_${kv}_${i}`] = out[`present_${kv}_${i}`] as Tensor;
  return { logits: floats(out['logits'] as Tensor), present };
}

async function greedy(m: Marian, src: number[], n: number, onStep?: (logits: Float32Array) => void): Promise<number[]> {
  const cross = await encode(m, src);
  let past = marianEmptyPast(m, 1);
  let next = m.pad; // Marian's decoder start token
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await step(m, [next], past, cross);
    past = r.present;
    r.logits[m.pad] = -Infinity; // never generate the pad token
    onStep?.(r.logits);
    next = argmax(r.logits, 0, m.V);
    out.push(next);
  }
  return out;
}

/** Beam search with K beams; returns the best beam's tokens. */
async function beam(m: Marian, src: number[], n: number, K: number): Promise<number[]> {
  const cross = await encode(m, src); // batch 1: broadcast over the beams inside the graph
  let past = marianEmptyPast(m, K);
  let seqs: number[][] = Array.from({ length: K }, () => []);
  let tokens = new Array<number>(K).fill(m.pad);
  let scores = Array.from({ length: K }, (_, k) => (k === 0 ? 0 : -Infinity)); // identical beams: expand one
  for (let t = 0; t < n; t++) {
    const r = await step(m, tokens, past, cross); // logits (K, 1, V)
    // The K best (beam, token) pairs by score + log softmax, kept sorted in `top` (best first).
    const top: { score: number; beam: number; token: number }[] = [];
    for (let k = 0; k < K; k++) {
      if (scores[k] === -Infinity) continue;
      const row = r.logits.subarray(k * m.V, (k + 1) * m.V);
      row[m.pad] = -Infinity; // never generate the pad token
      let max = -Infinity;
      for (let v = 0; v < m.V; v++) if (row[v]! > max) max = row[v]!;
      let sum = 0;
      for (let v = 0; v < m.V; v++) sum += Math.exp(row[v]! - max);
      const base = scores[k]! - max - Math.log(sum); // score + log p(v) = base + row[v]
      for (let v = 0; v < m.V; v++) {
        const s = base + row[v]!;
        if (top.length === K && s <= top[K - 1]!.score) continue;
        let j = Math.min(top.length, K - 1);
        while (j > 0 && top[j - 1]!.score < s) j--;
        top.splice(j, 0, { score: s, beam: k, token: v });
        if (top.length > K) top.pop();
      }
    }
    // Reorder the cache: survivor j continues beam top[j].beam, so it gets that beam's keys and values.
    const next: Feeds = {};
    for (const [name, t_] of Object.entries(r.present)) {
      const data = floats(t_);
      const per = data.length / K;
      const moved = new Float32Array(data.length);
      top.forEach((c, j) => moved.set(data.subarray(c.beam * per, (c.beam + 1) * per), j * per));
      next[name] = new m.ort.Tensor('float32', moved, t_.dims as number[]);
    }
    past = next;
    seqs = top.map((c) => [...seqs[c.beam]!, c.token]);
    tokens = top.map((c) => c.token);
    scores = top.map((c) => c.score);
  }
  return seqs[0]!;
}

async function runMarian(job: OrtJob, rt: Runtime, meta: ExportMeta): Promise<number> {
  const c = meta.config;
  const m: Marian = {
    enc: await rt.open(meta.files[0]!), dec: await rt.open(meta.files[1]!), ort: rt.ort,
    L: c['n_dec']!, nh: c['n_head']!, hs: c['d_model']! / c['n_head']!, V: c['vocab']!, pad: c['vocab']! - 1,
  };
  const ref = meta.reference;
  const steps: Float32Array[] = [];
  const got = await greedy(m, ref['src'] as number[], 3, (logits) => steps.push(logits.slice()));
  check('the logits of the third greedy step', job.runtime, steps[2]!, ref['step3_first'] as number[]);
  const want = ref['tokens'] as number[];
  if (got.join() !== want.join()) throw new Error(`bench: ${job.runtime} translated the reference source to [${got}], PyTorch to [${want}]`);
  if (job.task === 'marian-beam') {
    const gotBeam = await beam(m, ref['src'] as number[], 4, 4);
    const wantBeam = ref['beam4_tokens'] as number[];
    if (gotBeam.join() !== wantBeam.join()) throw new Error(`bench: ${job.runtime}'s beam search (4 beams, 4 steps) gave [${gotBeam}], PyTorch's [${wantBeam}]`);
  }

  const src = randomIds(job.src!, m.V - 1);
  let best = Infinity;
  for (let run = 0; run < job.runs; run++) {
    const t0 = performance.now();
    const out = job.task === 'marian-beam' ? await beam(m, src, job.new!, job.beams!) : await greedy(m, src, job.new!);
    best = Math.min(best, (performance.now() - t0) / 1000);
    if (out.length !== job.new) throw new Error(`bench: ${job.task} made ${out.length} tokens, expected ${job.new}`);
  }
  return job.new! / best;
}

// -----------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as OrtJob;
  const meta = JSON.parse(readFileSync(job.meta, 'utf8')) as ExportMeta;
  const rt = await openRuntime(job);
  const run = job.task.startsWith('gpt-') ? runGpt : job.task === 'bert-forward' ? runBert : runMarian;
  const tokensPerS = await run(job, rt, meta);
  const res: OrtResult = {
    tokens_per_s: tokensPerS, peak_rss_mb: process.resourceUsage().maxRSS / 1024, version: rt.version,
    threads: rt.threads(), config: rt.config(), params: meta.params,
  };
  process.stdout.write(JSON.stringify(res) + '\n');
  process.exit(0); // onnxruntime-web's worker threads would otherwise keep the process alive
}

await main();
