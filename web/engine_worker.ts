// The playground's engine: a module Web Worker that owns a model and does the heavy work with the attn
// library (loaded from /attn/attn.js, the bundle users get). In a worker the engine may sleep in
// Atomics.wait while its own pool of threads computes, and the page stays responsive whatever runs here.
// See protocol.ts for the messages.

import * as attn from '../src/browser/index.js';
import type { DoneValue, Event, ModelCard, ModelSource, Reply, Request, TokenView, TrainSettings } from './protocol.js';

interface WorkerScope {
  onmessage: ((e: MessageEvent<{ id: number; req: Request }>) => void) | null;
  postMessage(message: Reply, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

interface Loaded {
  name: string;
  model: attn.GPT;
  tokenizer: attn.Tokenizer | null;
  generationConfig: Record<string, unknown>;
}
let current: Loaded | null = null;

// Training state, kept between runs so "resume" continues the same run.
interface Training {
  model: attn.GPT;
  tokenizer: attn.Tokenizer;
  data: attn.TokenStream;
  state: attn.TrainState;
  settings: TrainSettings;
}
let training: Training | null = null;

function card(name: string, model: attn.GPT, hasTokenizer: boolean): ModelCard {
  return { name, config: { ...model.config }, ...attn.gptSizes(model.config), hasTokenizer };
}

async function load(source: ModelSource, emit: (e: Event) => void): Promise<DoneValue> {
  const from: attn.FolderSource =
    source.kind === 'url' ? source.url : source.kind === 'files' ? source.files : new Map(Object.entries(source.files).map(([n, b]) => [n, new Blob([b as Uint8Array<ArrayBuffer>])]));
  const name = source.kind === 'url' ? source.url.replace(/\/$/, '').split('/').pop()! : source.kind === 'files' ? (source.files[0]?.webkitRelativePath.split('/')[0] || 'picked folder') : source.name;
  const lm = await attn.AutoModelForCausalLM.fromPretrained(from, { onProgress: (p) => emit({ kind: 'progress', ...p }) });
  current = { name, model: lm.model, tokenizer: lm.tokenizer, generationConfig: lm.generationConfig };
  return { kind: 'card', card: card(name, lm.model, lm.tokenizer !== null) };
}

function needModel(): Loaded {
  if (!current) throw new Error('no model loaded: pick one above (or train one in the Train tab)');
  return current;
}

function needTokenizer(m: Loaded): attn.Tokenizer {
  if (!m.tokenizer) throw new Error(`${m.name} has no tokenizer.json (nor vocab.json + merges.txt), so it cannot take text`);
  return m.tokenizer;
}

function tokenize(text: string, which: 'gpt2' | 'model'): DoneValue {
  const tok = which === 'gpt2' ? attn.Tokenizer.gpt2() : needTokenizer(needModel());
  const enc = tok.encode(text, undefined, { addSpecialTokens: false });
  const tokens: TokenView[] = enc.ids.map((id, i) => {
    const [start, end] = enc.offsets[i]!;
    return { id, text: tok.decode([id]), start, end };
  });
  return { kind: 'tokens', tokens };
}

/** softmax(logits) → the probability of `id` and the five likeliest tokens, decoded. */
function probabilities(logits: Float32Array, id: number, decode: (ids: number[]) => string): { p: number; top: { text: string; p: number }[] } {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const prob = (i: number) => Math.exp(logits[i]! - max) / sum;
  // The five largest, by one pass that keeps a short sorted list (a full sort of 50k logits per token is slow).
  const top: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    if (top.length === 5 && logits[i]! <= logits[top[4]!]!) continue;
    let j = Math.min(top.length, 4);
    top[j] = i;
    while (j > 0 && logits[top[j - 1]!]! < logits[i]!) {
      top[j] = top[j - 1]!;
      top[--j] = i;
    }
  }
  return { p: prob(id), top: top.map((i) => ({ text: decode([i]), p: prob(i) })) };
}

function generateText(prompt: string, options: Record<string, unknown>, emit: (e: Event) => void): DoneValue {
  const m = needModel();
  const tok = needTokenizer(m);
  const ids = tok.encode(prompt, undefined, { addSpecialTokens: false }).ids;
  if (ids.length === 0) throw new Error('the prompt is empty: type some text first');
  const inner = attn.stepperFromModel(m.model, { generationConfig: m.generationConfig });
  // A stepper that remembers the last logits, so each streamed token can show how likely the model found it.
  let last: Float32Array | null = null;
  const stepper: attn.CausalLMStepper = {
    vocabSize: inner.vocabSize,
    ...(inner.generationConfig ? { generationConfig: inner.generationConfig } : {}),
    forward: (b) => (last = inner.forward(b) as Float32Array),
    reorderCache: (rows) => inner.reorderCache(rows),
    reset: () => inner.reset?.(),
    finish: () => inner.finish?.(),
  };
  const decode = (x: ArrayLike<number>) => tok.decode(Array.from(x), { skipSpecialTokens: true });
  const beams = Number(options['num_beams'] ?? 1);
  const t0 = performance.now();
  let firstTokenMs: number | null = null;
  let count = 0;
  const V = inner.vocabSize;
  const streamer: attn.Streamer = {
    put: (row, id) => {
      if (row !== 0 || !last) return;
      firstTokenMs ??= performance.now() - t0;
      count++;
      const { p, top } = probabilities(last.subarray(0, V), id, (x) => tok.decode(x));
      emit({ kind: 'token', text: tok.decode([id]), id, p, top, ms: performance.now() - t0 });
    },
    end: () => {},
  };
  const out = attn.generate(stepper, [ids], { ...(options as attn.GenerateOptions), decode, ...(beams > 1 ? {} : { streamer }) });
  const seconds = (performance.now() - t0) / 1000;
  const texts = out.sequences.map((s) => decode(s.subarray(out.prompt_length)));
  const newTokens = out.sequences[0]!.length - out.prompt_length;
  const scores = out.sequences_scores ? Array.from(out.sequences_scores) : null;
  return { kind: 'generated', texts, scores, firstTokenMs, tokensPerSec: newTokens / seconds, newTokens };
}

/**
 * Tokens the Attention tab explains at most: the report holds layers × heads × T² weights, so a long text (up to
 * a GPT-2's 1024 tokens) would be hundreds of MB to post and draw.
 */
const EXPLAIN_TOKENS = 128;

/** The explain report's data for `text`: the same adapter and reportData() as `attn explain`. */
function explain(text: string): DoneValue {
  const m = needModel();
  if (text.trim() === '') throw new Error('type some text to look at');
  const x = new attn.GPTExplainer(m.model, needTokenizer(m));
  const encoded = x.encode({ text }, { length: Math.min(EXPLAIN_TOKENS, x.maxTokens) });
  // windowOf's note names the CLI's --start/--window; the page has no such controls, so it says what it shows.
  const notes = encoded.ids.length < encoded.total ? [`the text has ${encoded.total} tokens; the maps show the first ${encoded.ids.length}`] : [];
  return { kind: 'attention', report: attn.reportData(`${m.name} (${x.family})`, x.attentions(encoded), notes) };
}

async function train(text: string, settings: TrainSettings, stopFlag: SharedArrayBuffer, resume: boolean, emit: (e: Event) => void): Promise<DoneValue> {
  if (!resume || !training) {
    if (text.trim().length < 1000) throw new Error(`the training text has ${text.trim().length} characters; paste at least 1000 (or use the Shakespeare sample)`);
    emit({ kind: 'status', text: `training a ${settings.vocabSize}-token BPE tokenizer…` });
    const tokenizer = await attn.trainTokenizer(text.split(/(?<=\n)/), { type: 'bpe', vocabSize: settings.vocabSize });
    const data = attn.buildTokenStream([{ name: 'text', text }], { encodeText: (t) => tokenizer.encodeIds(t) }, 0.1);
    const vocab = tokenizer.vocabSize;
    const model = new attn.GPT(attn.gptConfig({ preset: settings.preset, vocab_size: vocab, n_positions: settings.blockSize, bos_token_id: vocab - 1, eos_token_id: vocab - 1 }), new attn.Rng(settings.seed));
    const opts = trainOptions(settings);
    training = { model, tokenizer, data, state: attn.newTrainState(model, opts), settings };
  }
  const t = training;
  const opts = trainOptions(t.settings);
  const flag = new Int32Array(stopFlag);
  const Stop = class extends Error {};
  let lastVal: number | null = null;
  emit({ kind: 'status', text: `training: ${attn.gptSizes(t.model.config).parameters.toLocaleString('en-US')} parameters, ${t.data.train.length.toLocaleString('en-US')} training tokens` });
  try {
    await attn.trainLoop(t.model, t.data, t.state, opts, {
      log: (r) => {
        if (r.kind === 'eval') {
          lastVal = r.valLoss;
          emit({ kind: 'eval', step: r.step, valLoss: r.valLoss });
          return;
        }
        emit({ kind: 'step', step: r.step, totalSteps: r.totalSteps, loss: r.loss, lr: r.lr, tokensPerSec: r.tokensPerSec });
        if (r.step % t.settings.sampleEvery === 0) emit({ kind: 'sample', step: r.step, text: sample(t) });
        // The page asks to stop through shared memory: this loop never returns to the event loop between steps.
        if (Atomics.load(flag, 0) !== 0) throw new Stop();
      },
    });
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    t.model.train(false);
    return { kind: 'trained', step: t.state.step, stopped: true, valLoss: lastVal };
  }
  return { kind: 'trained', step: t.state.step, stopped: false, valLoss: lastVal };
}

function trainOptions(s: TrainSettings): attn.TrainOptions {
  return { ...attn.TRAIN_DEFAULTS, steps: s.steps, batchSize: s.batchSize, blockSize: s.blockSize, lr: s.lr, minLr: s.lr / 10, warmupSteps: Math.min(30, Math.floor(s.steps / 10)), evalEvery: Math.max(s.sampleEvery, 50), evalTokens: 8192, seed: s.seed };
}

/** A short sample from the model being trained (greedy would repeat itself early on: sample at 0.8). */
function sample(t: Training): string {
  const wasTraining = t.model.training;
  t.model.train(false);
  const prompt = t.tokenizer.encode('\n', undefined, { addSpecialTokens: false }).ids;
  const out = attn.generate(attn.stepperFromModel(t.model), [prompt], { max_new_tokens: Math.min(48, t.model.config.n_positions - prompt.length), do_sample: true, temperature: 0.8, top_k: 0, top_p: 0.95, seed: t.state.step });
  t.model.train(wasTraining);
  return t.tokenizer.decode(out.sequences[0]!.subarray(out.prompt_length), { skipSpecialTokens: true });
}

function exportTrained(): DoneValue {
  if (!training) throw new Error('nothing trained yet');
  const files = attn.savePretrainedFiles(training.model, { tokenizerJson: JSON.stringify(training.tokenizer.toJSON()) });
  return { kind: 'export', name: `attn-tiny-gpt-step${training.state.step}`, files: Object.fromEntries(files) };
}

scope.onmessage = async (e) => {
  const { id, req } = e.data;
  const emit = (event: Event) => scope.postMessage({ id, event });
  try {
    let done: DoneValue;
    switch (req.op) {
      case 'init':
        done = { kind: 'init', info: await attn.ready() };
        break;
      case 'load':
        done = await load(req.source, emit);
        break;
      case 'tokenize':
        done = tokenize(req.text, req.tokenizer);
        break;
      case 'generate':
        done = generateText(req.prompt, req.options, emit);
        break;
      case 'attention':
        done = explain(req.text);
        break;
      case 'train':
        done = await train(req.text, req.settings, req.stopFlag, req.resume, emit);
        break;
      case 'export':
        done = exportTrained();
        break;
    }
    scope.postMessage({ id, done });
  } catch (err) {
    scope.postMessage({ id, error: (err as Error).message });
  }
};
