// In-page checks of the library bundle (/attn/attn.js, the file users get), called one by one from
// test/browser/library.test.ts with `run(name, arg)`. Each returns plain data that the Node side compares
// with its oracles (transformers' outputs in test/fixtures, gpt-tokenizer's ids, Node's own loader), or
// throws; the Node side turns a throw into a failed test with the page's message.
import { CTRL } from '../../../src/backend/wasm/pool.js';
import * as attn from '../../../src/browser/index.js';

type Check = (arg: unknown) => Promise<unknown>;

interface ForwardCase {
  input_ids: number[][];
  logits: string;
  hidden_states: string[];
  attentions: string[];
}

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function ids(rows: number[][]): attn.Tensor {
  return attn.tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length], { dtype: 'int32' });
}

/** Run `fn`, return its error message (or fail when it does not throw), with a time limit: nothing may hang. */
async function errorOf(fn: () => Promise<unknown>, ms = 20_000): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms (hung)`)), ms);
  });
  try {
    await Promise.race([fn(), limit]);
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.includes('(hung)')) throw e;
    return msg;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('expected an error, got none');
}

/** A matmul big enough to go to the worker pool (n³·2 flops ≫ the parallel threshold). */
function bigMatmul(n = 256): number {
  const a = new Float32Array(n * n).map((_, i) => ((i * 7) % 13) / 13 - 0.5);
  const b = new Float32Array(n * n).map((_, i) => ((i * 5) % 11) / 11 - 0.5);
  const c = attn.matmul(attn.tensor(a, [n, n]), attn.tensor(b, [n, n])).toFloat32Array();
  // The oracle: one entry by a plain dot product in float64.
  let want = 0;
  for (let p = 0; p < n; p++) want += a[3 * n + p]! * b[p * n + 5]!;
  if (Math.abs(c[3 * n + 5]! - want) > 1e-3) throw new Error(`matmul entry (3, 5) is ${c[3 * n + 5]}, expected ${want}`);
  return c[3 * n + 5]!;
}

const checks: Record<string, Check> = {
  async ready(arg) {
    return attn.ready((arg ?? {}) as attn.ReadyOptions);
  },

  async matmul() {
    return { value: bigMatmul(), info: attn.backendInfo() };
  },

  async tokenize(arg) {
    const tok = attn.Tokenizer.gpt2();
    return (arg as string[]).map((text) => Array.from(tok.encode(text, undefined, { addSpecialTokens: false }).ids));
  },

  /** GPT-2 forward parity with transformers on a fixture folder, loaded by URL: the max differences. */
  async parity(arg) {
    const name = arg as string;
    const { model } = await attn.fromPretrained(`/fixtures/${name}/`, { cache: false });
    const json = (await (await fetchOk(`/fixtures/${name}/expected.json`)).json()) as { forward: ForwardCase[] };
    const bytes = new Uint8Array(await (await fetchOk(`/fixtures/${name}/expected.safetensors`)).arrayBuffer());
    const expected = attn.readSafetensors(bytes, 'expected.safetensors').tensors;
    const want = (key: string) => expected.get(key)!.data as Float32Array;
    let logits = 0;
    let hidden = 0;
    let attention = 0;
    for (const c of json.forward) {
      const out = attn.noGrad(() => model.forward(ids(c.input_ids), { outputHiddenStates: true, outputAttentions: true }));
      logits = Math.max(logits, maxDiff(out.logits.toFloat32Array(), want(c.logits)));
      c.hidden_states.forEach((h, l) => (hidden = Math.max(hidden, maxDiff(out.hiddenStates![l]!.toFloat32Array(), want(h)))));
      c.attentions.forEach((a, l) => (attention = Math.max(attention, maxDiff(out.attentions![l]!.toFloat32Array(), want(a)))));
    }
    return { cases: json.forward.length, logits, hidden, attention, backend: attn.backendInfo() };
  },

  /** Greedy generation through the pipeline API: the ids, for the Node side to compare with Node's. */
  async generate() {
    const lm = await attn.AutoModelForCausalLM.fromPretrained('/fixtures/gpt2-tiny/', { cache: false });
    const out = lm.generate([[562, 397, 986]], { max_new_tokens: 8, do_sample: false });
    return Array.from(out.sequences[0]!);
  },

  /** Save to files and zip them: the zip as base64 for the Node side to open with fflate and load with Node. */
  async save() {
    const { model } = await attn.fromPretrained('/fixtures/gpt2-tiny/', { cache: false });
    const files = attn.savePretrainedFiles(model, { tokenizerJson: JSON.stringify(attn.Tokenizer.gpt2().toJSON()) });
    const zip = attn.zipFolder(files, 'tiny');
    let s = '';
    for (let i = 0; i < zip.length; i += 0x8000) s += String.fromCharCode(...zip.subarray(i, i + 0x8000));
    return { names: [...files.keys()], zipBase64: btoa(s) };
  },

  /** Load a folder twice through the Cache API; report whether each file came from the cache. */
  async cacheTwice() {
    const seen: Record<string, boolean>[] = [];
    for (let round = 0; round < 2; round++) {
      const cached: Record<string, boolean> = {};
      await attn.fromPretrained('/fixtures/gpt2-legacy-keys/', { onProgress: (p) => (cached[p.file] = p.cached) });
      seen.push(cached);
      // Let the first round's cache writes finish before the second round reads.
      if (round === 0) await new Promise((r) => setTimeout(r, 300));
    }
    return seen;
  },

  /** Load the cached folder while the network is refused (the Node side blocks the requests). */
  async offline() {
    const { config } = await attn.fromPretrained('/fixtures/gpt2-legacy-keys/');
    return config.n_layer;
  },

  async badInputs() {
    return {
      notFound: await errorOf(() => attn.fromPretrained('/bad/missing-folder/', { cache: false })),
      noConfig: await errorOf(() => attn.fromPretrained('/bad/no-config/', { cache: false })),
      truncated: await errorOf(() => attn.fromPretrained('/bad/truncated/', { cache: false })),
      unreachable: await errorOf(() => attn.fromPretrained('http://127.0.0.1:9/model/', { cache: false })),
      tokenizer: await errorOf(() => attn.loadTokenizer('/bad/tokenizer/', { cache: false })),
      modelTokenizer: await errorOf(() => attn.AutoModelForCausalLM.fromPretrained('/bad/tokenizer/', { cache: false })),
      notSafetensors: await errorOf(() => attn.fromPretrained(new Map<string, Blob>([['config.json', new Blob([JSON.stringify({ model_type: 'gpt2', n_layer: 1, n_head: 1, n_embd: 4, vocab_size: 8, n_positions: 8 })])], ['model.safetensors', new Blob(['<html>not a model</html>'])]]))),
    };
  },

  /**
   * BERT-family parity with transformers on a fixture folder of test/fixtures/bert-family, loaded by URL: the max
   * differences of every hidden state, attention map and the head's logits (expected.json names them).
   */
  async bertParity(arg) {
    const name = arg as string;
    const base = `/fixtures/bert-family/${name}/`;
    const { model, head } = await attn.fromPretrainedBert(base, { cache: false });
    const json = (await (await fetchOk(`${base}expected.json`)).json()) as {
      inputs: { input_ids: number[][]; attention_mask: number[][]; token_type_ids?: number[][] };
      hidden_states: string[];
      attentions: string[];
      logits?: string;
      start_logits?: string;
      end_logits?: string;
    };
    const expected = attn.readSafetensors(new Uint8Array(await (await fetchOk(`${base}expected.safetensors`)).arrayBuffer()), 'expected.safetensors').tensors;
    const want = (key: string) => expected.get(key)!.data as Float32Array;
    const x = json.inputs;
    const out = attn.noGrad(() =>
      model.forward(ids(x.input_ids), { attentionMask: ids(x.attention_mask), ...(x.token_type_ids ? { tokenTypeIds: ids(x.token_type_ids) } : {}), outputHiddenStates: true, outputAttentions: true }),
    ) as attn.BertHeadOutput & { startLogits?: attn.Tensor; endLogits?: attn.Tensor };
    let hidden = 0;
    let attention = 0;
    let logits = 0;
    json.hidden_states.forEach((k, l) => (hidden = Math.max(hidden, maxDiff(out.hiddenStates![l]!.toFloat32Array(), want(k)))));
    json.attentions.forEach((k, l) => (attention = Math.max(attention, maxDiff(out.attentions![l]!.toFloat32Array(), want(k)))));
    if (json.start_logits) {
      logits = Math.max(maxDiff(out.startLogits!.toFloat32Array(), want(json.start_logits)), maxDiff(out.endLogits!.toFloat32Array(), want(json.end_logits!)));
    } else if (json.logits) logits = maxDiff(out.logits.toFloat32Array(), want(json.logits));
    return { head, layers: json.hidden_states.length, hasLogits: json.logits !== undefined || json.start_logits !== undefined, hidden, attention, logits };
  },

  /**
   * Marian / T5 parity with transformers, loaded by URL through AutoModelForSeq2SeqLM: teacher-forced logits and
   * decoder hidden states (max differences), and greedy generation's ids (for the Node side to compare).
   */
  async seq2seqParity(arg) {
    const name = arg as string;
    const base = `/fixtures/${name}/`;
    const lm = await attn.AutoModelForSeq2SeqLM.fromPretrained(base, { cache: false });
    const json = (await (await fetchOk(`${base}expected.json`)).json()) as {
      teacher_forcing: { input_ids: number[][]; attention_mask: number[][]; decoder_input_ids: number[][]; logits: string; decoder_hidden_states: string[] };
      greedy: { generate_kwargs: Record<string, unknown>; sequences: number[][] } | Array<{ generate_kwargs: Record<string, unknown>; sequences: number[][] }>;
    };
    const expected = attn.readSafetensors(new Uint8Array(await (await fetchOk(`${base}expected.safetensors`)).arrayBuffer()), 'expected.safetensors').tensors;
    const want = (key: string) => expected.get(key)!.data as Float32Array;
    const tf = json.teacher_forcing;
    const r = lm.forward(tf.input_ids, tf.decoder_input_ids, { attentionMask: tf.attention_mask, hiddenStates: true });
    let hidden = 0;
    tf.decoder_hidden_states.forEach((k, l) => (hidden = Math.max(hidden, maxDiff(r.decoder_hidden_states![l]!.data, want(k)))));
    const greedy = Array.isArray(json.greedy) ? json.greedy[0]! : json.greedy;
    const { do_sample: _s, num_beams: _b, ...kwargs } = greedy.generate_kwargs;
    const out = lm.generate(tf.input_ids, { ...(kwargs as attn.Seq2SeqGenerateOptions), attention_mask: tf.attention_mask, do_sample: false, num_beams: 1 });
    return {
      modelType: lm.modelType,
      logits: maxDiff(r.logits.data, want(tf.logits)),
      hidden,
      layers: tf.decoder_hidden_states.length,
      sequences: out.sequences.map((s) => Array.from(s)),
      want: greedy.sequences,
    };
  },

  /** pipeline('fill-mask') over a BERT folder with a vocab.txt (no tokenizer.json), loaded by URL. */
  async fillMask(arg) {
    const { name, text } = arg as { name: string; text: string };
    const unmask = await attn.pipeline('fill-mask', `/pipe/${name}/`, { cache: false });
    return unmask(text, { top_k: 3 });
  },

  /** The errors of the new loaders: a folder of another family for a task, a bad task name. */
  async modelErrors() {
    return {
      gptForFillMask: await errorOf(() => attn.pipeline('fill-mask', '/fixtures/gpt2-tiny/', { cache: false })),
      bertForTranslation: await errorOf(() => attn.pipeline('translation', '/fixtures/bert-family/bert-tiny-mlm/', { cache: false })),
      unknownTask: await errorOf(() => attn.pipeline('summarise' as 'summarization', '/fixtures/t5-tiny/', { cache: false })),
      gptAsBert: await errorOf(() => attn.fromPretrainedBert('/fixtures/gpt2-tiny/', { cache: false })),
      noWeights: await errorOf(() => attn.fromPretrainedSeq2Seq('/bad/no-weights/', { cache: false })),
    };
  },

  /** A pool worker that dies after joining: the job must fail with a message, and a new pool must work after. */
  async workerDeath() {
    await attn.ready({ threads: 2, workerUrl: new URL('/tests/dying_worker.js', location.href) });
    // Start the pool and wait until its worker is waiting for work, so it is there to claim a task of the job
    // (the caller does not wait for threads, and would otherwise do the whole product alone).
    const pool = (attn.getBackend() as unknown as { pool: { prewake(): void; control: Int32Array } }).pool;
    pool.prewake();
    for (let i = 0; i < 600 && Atomics.load(pool.control, CTRL.STARTED) < 1; i++) await new Promise((r) => setTimeout(r, 50));
    const died = await errorOf(async () => bigMatmul());
    const badScript = await errorOf(() => attn.ready({ threads: 2, workerUrl: new URL('/tests/no-such-worker.js', location.href) }));
    const info = await attn.ready({ threads: 2 });
    const after = bigMatmul();
    return { died, badScript, info, after };
  },
};

/** Run one check by name. */
export async function run(name: string, arg?: unknown): Promise<unknown> {
  const check = checks[name];
  if (!check) throw new Error(`no check named ${name}; checks: ${Object.keys(checks).join(', ')}`);
  return check(arg);
}
