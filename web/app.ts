// The playground page: wires the controls to two engine workers (inference and training, see
// engine_worker.ts). Nothing heavy runs on this thread, so the page stays responsive while a model trains.

import type { DoneValue, Event, ModelCard, Reply, Request, TokenView, TrainSettings } from './protocol.js';
import { renderExplainReport } from './explain_view.js';

// ---------------------------------------------------------------------------------------------------------
// Engines

class Engine {
  private readonly worker: Worker;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (d: DoneValue) => void; reject: (e: Error) => void; onEvent?: (e: Event) => void }>();

  constructor(name: string) {
    this.worker = new Worker(new URL('engine-worker.js', location.href), { type: 'module', name });
    this.worker.onmessage = (e: MessageEvent<Reply>) => {
      const r = e.data;
      const p = this.pending.get(r.id);
      if (!p) return;
      if ('event' in r) p.onEvent?.(r.event);
      else {
        this.pending.delete(r.id);
        if ('done' in r) p.resolve(r.done);
        else p.reject(new Error(r.error));
      }
    };
    this.worker.onerror = (e) => {
      e.preventDefault();
      for (const p of this.pending.values()) p.reject(new Error(`the engine worker failed: ${e.message}`));
      this.pending.clear();
    };
  }

  request<K extends DoneValue['kind']>(req: Request, kind: K, onEvent?: (e: Event) => void): Promise<Extract<DoneValue, { kind: K }>> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: (d) => (d.kind === kind ? resolve(d as Extract<DoneValue, { kind: K }>) : reject(new Error(`expected ${kind}, got ${d.kind}`))), reject, ...(onEvent ? { onEvent } : {}) });
      this.worker.postMessage({ id, req });
    });
  }
}

const infer = new Engine('attn-inference');
const trainer = new Engine('attn-training');

// ---------------------------------------------------------------------------------------------------------
// Small DOM helpers

const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => {
  const el = document.querySelector<T>(sel);
  if (!el) throw new Error(`playground: no element ${sel}`);
  return el;
};

function showError(panel: string, e: unknown): void {
  const box = document.querySelector<HTMLElement>(`${panel} .error, ${panel}.error`)!;
  if (e === null) {
    box.hidden = true;
    return;
  }
  box.textContent = (e as Error).message ?? String(e);
  box.hidden = false;
}

const tooltipEl = document.createElement('div');
tooltipEl.id = 'tooltip';
tooltipEl.hidden = true;
document.body.append(tooltipEl);
function tooltip(text: string | null, x = 0, y = 0): void {
  if (text === null) {
    tooltipEl.hidden = true;
    return;
  }
  tooltipEl.textContent = text;
  tooltipEl.style.left = `${x + 12}px`;
  tooltipEl.style.top = `${y + 14}px`;
  tooltipEl.hidden = false;
}

/** A token's text made visible: spaces as ·, newlines as ⏎. */
function visible(s: string): string {
  return s.replace(/ /g, '·').replace(/\n/g, '⏎').replace(/\t/g, '⇥');
}

function colour(i: number): string {
  return `hsl(${(i * 47) % 360} 70% 86%)`;
}

const fmt = (n: number) => n.toLocaleString('en-US');
const compact = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n));
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

// ---------------------------------------------------------------------------------------------------------
// Tabs

for (const b of document.querySelectorAll<HTMLButtonElement>('#tabs button')) {
  b.addEventListener('click', () => {
    for (const x of document.querySelectorAll('#tabs button, .panel')) x.classList.remove('active');
    b.classList.add('active');
    $(`#tab-${b.dataset['tab']}`).classList.add('active');
  });
}

// ---------------------------------------------------------------------------------------------------------
// Models

let card: ModelCard | null = null;

async function loadModel(req: Request, label: string): Promise<void> {
  const progress = $<HTMLProgressElement>('#load-progress');
  const status = $('#model-status');
  showError('#model-error', null);
  status.textContent = `loading ${label}…`;
  progress.hidden = false;
  progress.removeAttribute('value');
  try {
    const done = await infer.request(req, 'card', (e) => {
      if (e.kind !== 'progress' || e.file !== 'model.safetensors') return;
      if (e.total) progress.value = e.loaded / e.total;
      status.textContent = `loading ${label}: ${mib(e.loaded)}${e.total ? ` of ${mib(e.total)}` : ''}${e.cached ? ' (from the cache)' : ''}`;
    });
    card = done.card;
    status.textContent = `${card.name}: ${compact(card.parameters)} parameters${card.hasTokenizer ? '' : ' (no tokenizer)'}`;
    document.body.dataset['model'] = card.name;
    renderCard(card);
    if (card.hasTokenizer) $<HTMLSelectElement>('#tok-which').value = 'model';
    void tokenizeNow();
  } catch (e) {
    // A failed load leaves the engine's current model in place.
    status.textContent = card ? `${card.name}: ${compact(card.parameters)} parameters (still loaded)` : 'no model loaded';
    showError('#model-error', e);
  } finally {
    progress.hidden = true;
  }
}

$('#model-select').addEventListener('change', () => {
  const name = $<HTMLSelectElement>('#model-select').value;
  if (name) void loadModel({ op: 'load', source: { kind: 'url', url: new URL(`models/${encodeURIComponent(name)}/`, location.href).href } }, name);
});
$('#model-load-url').addEventListener('click', () => {
  const url = $<HTMLInputElement>('#model-url').value.trim();
  if (!url) return showError('#model-error', new Error('type the URL of a model folder first (the folder that holds config.json)'));
  void loadModel({ op: 'load', source: { kind: 'url', url } }, url);
});
$('#model-files').addEventListener('change', () => {
  const files = Array.from($<HTMLInputElement>('#model-files').files ?? []);
  if (files.length) void loadModel({ op: 'load', source: { kind: 'files', files } }, files[0]!.webkitRelativePath.split('/')[0] || 'picked files');
});

function renderCard(c: ModelCard): void {
  const cfg = c.config as Record<string, number>;
  const rows: [string, string][] = [
    ['model', c.name],
    ['shape', `${cfg['n_layer']} layers, ${cfg['n_head']} heads, ${cfg['n_embd']} channels, context ${cfg['n_positions']}, vocabulary ${fmt(cfg['vocab_size']!)}`],
    ['parameters', `${fmt(c.parameters)} (${compact(c.parameters)}; ${compact(c.nonEmbeddingParameters)} outside the embeddings)`],
    ['FLOPs per token', `${compact(c.forwardFlopsPerToken)} forward, ${compact(c.trainFlopsPerToken)} training (at full context)`],
    ['inference memory', `${mib(c.inferenceBytes)} float32 (weights + KV cache; ${mib(c.kvCacheBytesPerToken * 1024)} per 1k tokens)`],
    ['training memory', `${mib(c.trainingBytes)} (weights, gradients, AdamW moments, activations of one sequence)`],
    ['tokenizer', c.hasTokenizer ? 'tokenizer.json' : 'none in the folder'],
  ];
  const body = document.createElement('tbody');
  for (const [k, v] of rows) {
    const tr = document.createElement('tr');
    const a = document.createElement('th');
    a.textContent = k;
    const b = document.createElement('td');
    b.textContent = v;
    tr.append(a, b);
    body.append(tr);
  }
  $('#card').replaceChildren(body);
}

// ---------------------------------------------------------------------------------------------------------
// Tokenizer view

let tokenizeTimer: ReturnType<typeof setTimeout> | undefined;
async function tokenizeNow(): Promise<void> {
  const text = $<HTMLTextAreaElement>('#tok-text').value;
  const which = $<HTMLSelectElement>('#tok-which').value as 'gpt2' | 'model';
  try {
    const { tokens } = await infer.request({ op: 'tokenize', text, tokenizer: which }, 'tokens');
    showError('#tab-tokenizer', null);
    renderTokens(text, tokens);
  } catch (e) {
    showError('#tab-tokenizer', e);
  }
}

function renderTokens(text: string, tokens: TokenView[]): void {
  const out = $('#tok-output');
  const body = $('#tok-table tbody');
  out.replaceChildren();
  body.replaceChildren();
  tokens.forEach((t, i) => {
    const span = document.createElement('span');
    span.className = 'tok';
    span.style.background = colour(i);
    span.textContent = visible(text.slice(t.start, t.end) || t.text);
    span.title = `token ${i}: id ${t.id}, offsets [${t.start}, ${t.end})`;
    span.dataset['id'] = String(t.id);
    out.append(span);
    if (i < 500) {
      const tr = document.createElement('tr');
      for (const v of [String(i), visible(t.text), String(t.id), `[${t.start}, ${t.end})`]) {
        const td = document.createElement('td');
        td.textContent = v;
        tr.append(td);
      }
      body.append(tr);
    }
  });
  $('#tok-count').textContent = `${tokens.length} tokens, ${text.length} characters`;
}

$('#tok-text').addEventListener('input', () => {
  clearTimeout(tokenizeTimer);
  tokenizeTimer = setTimeout(() => void tokenizeNow(), 120);
});
$('#tok-which').addEventListener('change', () => void tokenizeNow());

// ---------------------------------------------------------------------------------------------------------
// Generation: every option of transformers' GenerationConfig that attn implements

type OptionKind = 'int' | 'float' | 'bool' | 'text';
const GEN_OPTIONS: [name: string, kind: OptionKind, value: string | boolean, help: string][] = [
  ['max_new_tokens', 'int', '60', 'new tokens at most'],
  ['min_new_tokens', 'int', '', 'no end-of-text before this many'],
  ['do_sample', 'bool', true, 'sample (off: greedy or beam search)'],
  ['temperature', 'float', '0.8', 'divide logits by this'],
  ['top_k', 'int', '0', 'keep the k likeliest (0: off)'],
  ['top_p', 'float', '0.9', 'nucleus: smallest set with this probability'],
  ['min_p', 'float', '', 'keep tokens with p ≥ min_p · p_max'],
  ['typical_p', 'float', '1', 'locally typical sampling'],
  ['repetition_penalty', 'float', '1.1', '> 1 discourages repeats'],
  ['no_repeat_ngram_size', 'int', '0', 'never repeat an n-gram of this size'],
  ['num_beams', 'int', '1', 'beam search width (with do_sample off)'],
  ['num_return_sequences', 'int', '1', 'sequences to return'],
  ['length_penalty', 'float', '1', 'beam score ÷ length^this'],
  ['early_stopping', 'bool', false, 'beams: stop when num_beams are done'],
  ['seed', 'int', '1', 'sampling seed (empty: random)'],
  ['stop_strings', 'text', '', 'stop at any of these (comma separated)'],
];

const form = $('#gen-options');
for (const [name, kind, value, help] of GEN_OPTIONS) {
  const label = document.createElement('label');
  label.title = help;
  label.textContent = name;
  const input = document.createElement('input');
  input.name = name;
  input.id = `gen-${name}`;
  if (kind === 'bool') {
    input.type = 'checkbox';
    input.checked = value as boolean;
  } else {
    input.type = kind === 'text' ? 'text' : 'number';
    if (kind === 'float') input.step = 'any';
    input.value = value as string;
  }
  label.append(input);
  form.append(label);
}

function readOptions(): Record<string, number | boolean | string[] | null> {
  const out: Record<string, number | boolean | string[] | null> = {};
  for (const [name, kind] of GEN_OPTIONS) {
    const input = $<HTMLInputElement>(`#gen-${name}`);
    if (kind === 'bool') out[name] = input.checked;
    else if (input.value.trim() === '') continue;
    else if (kind === 'text') out[name] = input.value.split(',').map((s) => s.trim()).filter(Boolean);
    else {
      const v = Number(input.value);
      if (!Number.isFinite(v) || (kind === 'int' && !Number.isInteger(v))) throw new Error(`${name} must be ${kind === 'int' ? 'an integer' : 'a number'}, got '${input.value}'`);
      out[name] = v;
    }
  }
  return out;
}

$('#gen-run').addEventListener('click', async () => {
  const button = $<HTMLButtonElement>('#gen-run');
  const out = $('#gen-output');
  const stats = $('#gen-stats');
  const prompt = $<HTMLTextAreaElement>('#gen-prompt').value;
  showError('#tab-generate', null);
  out.replaceChildren();
  const p = document.createElement('span');
  p.className = 'prompt';
  p.textContent = prompt;
  out.append(p);
  button.disabled = true;
  stats.textContent = 'generating…';
  try {
    const options = readOptions();
    const done = await infer.request({ op: 'generate', prompt, options }, 'generated', (e) => {
      if (e.kind !== 'token') return;
      const span = document.createElement('span');
      span.className = 'gen';
      span.textContent = e.text;
      span.dataset['p'] = e.p.toFixed(4);
      span.style.background = `rgba(59, 91, 219, ${(0.08 + 0.3 * (1 - e.p)).toFixed(3)})`;
      const tip = `p = ${e.p.toFixed(3)} (model probability)\nalternatives:\n${e.top.map((a) => `  ${JSON.stringify(a.text)}  ${a.p.toFixed(3)}`).join('\n')}`;
      span.addEventListener('mousemove', (m) => tooltip(tip, m.clientX, m.clientY));
      span.addEventListener('mouseleave', () => tooltip(null));
      out.append(span);
    });
    if (out.querySelectorAll('.gen').length === 0) {
      // Beam search returns whole sequences at the end (the best beam is only known then).
      done.texts.forEach((t, i) => {
        const s = document.createElement('div');
        s.className = 'sample';
        s.textContent = `${done.scores ? `[score ${done.scores[i]!.toFixed(3)}] ` : ''}${prompt}${t}`;
        out.append(s);
      });
    }
    stats.textContent = `${done.newTokens} tokens, ${done.tokensPerSec.toFixed(1)} tokens/s${done.firstTokenMs !== null ? `, first token after ${done.firstTokenMs.toFixed(0)} ms` : ''}`;
    document.body.dataset['firstTokenMs'] = String(done.firstTokenMs ?? '');
  } catch (e) {
    stats.textContent = '';
    showError('#tab-generate', e);
  } finally {
    button.disabled = false;
  }
});

// ---------------------------------------------------------------------------------------------------------
// Attention explorer: the explain report's viewer (tabs per attention group, the layer × head grid, one head
// at full size, the head view, rollout) on what the worker computes for the loaded model and the text.

$('#attn-run').addEventListener('click', async () => {
  showError('#tab-attention', null);
  const button = $<HTMLButtonElement>('#attn-run');
  button.disabled = true;
  try {
    const { report } = await infer.request({ op: 'attention', text: $<HTMLTextAreaElement>('#attn-text').value }, 'attention');
    $('#attn-notes').textContent = report.notes.join('; ');
    renderExplainReport($('#attn-view'), report);
  } catch (e) {
    showError('#tab-attention', e);
  } finally {
    button.disabled = false;
  }
});

// ---------------------------------------------------------------------------------------------------------
// Training

const losses: { step: number; loss: number }[] = [];
const vals: { step: number; loss: number }[] = [];
let stopFlag = new Int32Array(new SharedArrayBuffer(4));

function drawLoss(): void {
  const canvas = $<HTMLCanvasElement>('#loss-chart');
  const ctx = canvas.getContext('2d')!;
  const W = canvas.width;
  const H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  if (losses.length === 0) return;
  const pad = 34;
  const maxStep = Math.max(...losses.map((p) => p.step), 1);
  const all = [...losses, ...vals].map((p) => p.loss);
  const hi = Math.max(...all);
  const lo = Math.min(...all);
  const x = (s: number) => pad + ((W - pad - 8) * s) / maxStep;
  const y = (l: number) => 8 + ((H - pad) * (hi - l)) / Math.max(hi - lo, 1e-6);
  ctx.strokeStyle = '#d8dce4';
  ctx.fillStyle = '#6b7385';
  ctx.font = '11px system-ui';
  for (let i = 0; i <= 4; i++) {
    const l = lo + ((hi - lo) * i) / 4;
    ctx.beginPath();
    ctx.moveTo(pad, y(l));
    ctx.lineTo(W - 8, y(l));
    ctx.stroke();
    ctx.fillText(l.toFixed(2), 2, y(l) + 4);
  }
  ctx.fillText(`step ${maxStep}`, W - 60, H - 8);
  const line = (pts: { step: number; loss: number }[], colour: string) => {
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    pts.forEach((p, i) => (i ? ctx.lineTo(x(p.step), y(p.loss)) : ctx.moveTo(x(p.step), y(p.loss))));
    ctx.stroke();
  };
  line(losses, '#3b5bdb');
  line(vals, '#e8590c');
  ctx.fillStyle = '#3b5bdb';
  ctx.fillText('train loss', pad + 6, H - 8);
  ctx.fillStyle = '#e8590c';
  ctx.fillText('validation loss', pad + 76, H - 8);
}

function settings(): TrainSettings {
  const n = (id: string) => Number($<HTMLInputElement>(id).value);
  return {
    preset: $<HTMLSelectElement>('#train-preset').value as TrainSettings['preset'],
    vocabSize: n('#train-vocab'),
    steps: n('#train-steps'),
    batchSize: n('#train-batch'),
    blockSize: n('#train-block'),
    lr: n('#train-lr'),
    sampleEvery: n('#train-sample-every'),
    seed: 1337,
  };
}

function setTraining(running: boolean, trained: boolean): void {
  $<HTMLButtonElement>('#train-start').disabled = running;
  $<HTMLButtonElement>('#train-stop').disabled = !running;
  $<HTMLButtonElement>('#train-resume').disabled = running || !trained;
  $<HTMLButtonElement>('#train-download').disabled = running || !trained;
  $<HTMLButtonElement>('#train-use').disabled = running || !trained;
}

async function runTraining(resume: boolean): Promise<void> {
  showError('#tab-train', null);
  if (!resume) {
    losses.length = 0;
    vals.length = 0;
    $('#train-samples').replaceChildren();
  }
  stopFlag = new Int32Array(new SharedArrayBuffer(4));
  setTraining(true, false);
  const stats = $('#train-stats');
  let drawQueued = false;
  try {
    const done = await trainer.request({ op: 'train', text: $<HTMLTextAreaElement>('#train-text').value, settings: settings(), stopFlag: stopFlag.buffer as SharedArrayBuffer, resume }, 'trained', (e) => {
      if (e.kind === 'status') stats.textContent = e.text;
      else if (e.kind === 'step') {
        losses.push({ step: e.step, loss: e.loss });
        stats.textContent = `step ${e.step} / ${e.totalSteps} · loss ${e.loss.toFixed(3)} · ${fmt(Math.round(e.tokensPerSec))} tokens/s · lr ${e.lr.toExponential(2)}`;
        document.body.dataset['trainStep'] = String(e.step);
        document.body.dataset['firstLoss'] ??= String(e.loss); // (tests read these two)
        document.body.dataset['lastLoss'] = String(e.loss);
        if (!drawQueued) {
          drawQueued = true;
          requestAnimationFrame(() => {
            drawQueued = false;
            drawLoss();
          });
        }
      } else if (e.kind === 'eval') vals.push({ step: e.step, loss: e.valLoss });
      else if (e.kind === 'sample') {
        const d = document.createElement('div');
        d.className = 'sample';
        d.textContent = `step ${e.step}: ${e.text}`;
        $('#train-samples').prepend(d);
      }
    });
    drawLoss();
    stats.textContent += done.stopped ? ` — stopped at step ${done.step}` : ` — done: ${done.step} steps${done.valLoss !== null ? `, validation loss ${done.valLoss.toFixed(3)}` : ''}`;
    document.body.dataset['trainDone'] = String(done.step);
    setTraining(false, true);
  } catch (e) {
    showError('#tab-train', e);
    setTraining(false, false);
  }
}

$('#train-sample').addEventListener('click', async () => {
  try {
    const r = await fetch('data/shakespeare.txt');
    if (!r.ok) throw new Error(`data/shakespeare.txt: HTTP ${r.status}`);
    $<HTMLTextAreaElement>('#train-text').value = (await r.text()).slice(0, 200_000);
  } catch (e) {
    showError('#tab-train', e);
  }
});
$('#train-start').addEventListener('click', () => void runTraining(false));
$('#train-resume').addEventListener('click', () => void runTraining(true));
$('#train-stop').addEventListener('click', () => Atomics.store(stopFlag, 0, 1));

async function exportTrained(): Promise<Extract<DoneValue, { kind: 'export' }>> {
  return trainer.request({ op: 'export' }, 'export');
}

$('#train-download').addEventListener('click', async () => {
  try {
    const { name, files } = await exportTrained();
    const { zipFolder, downloadBytes } = await import('../src/browser/index.js');
    downloadBytes(zipFolder(new Map(Object.entries(files)), name), `${name}.zip`, 'application/zip');
  } catch (e) {
    showError('#tab-train', e);
  }
});
$('#train-use').addEventListener('click', async () => {
  try {
    const { name, files } = await exportTrained();
    await loadModel({ op: 'load', source: { kind: 'bytes', name, files } }, name);
  } catch (e) {
    showError('#tab-train', e);
  }
});

// ---------------------------------------------------------------------------------------------------------
// Start

async function start(): Promise<void> {
  const badge = $('#backend');
  try {
    const [{ info }] = await Promise.all([infer.request({ op: 'init' }, 'init'), trainer.request({ op: 'init' }, 'init')]);
    badge.textContent = `${info.backend}${info.simd ? ` ${info.simd} SIMD` : ''} · ${info.threads} thread${info.threads > 1 ? 's' : ''}`;
    badge.title = info.note;
  } catch (e) {
    badge.textContent = 'engine failed to start';
    showError('#model-error', e);
    document.body.dataset['ready'] = 'error'; // the page has given up: say so at once (tests wait for this)
    return;
  }
  void tokenizeNow();
  try {
    const r = await fetch('models/');
    const list = (await r.json()) as { name: string }[];
    const select = $<HTMLSelectElement>('#model-select');
    for (const m of list) select.append(new Option(m.name, m.name));
    if (list.length) {
      select.value = list[0]!.name;
      await loadModel({ op: 'load', source: { kind: 'url', url: new URL(`models/${encodeURIComponent(list[0]!.name)}/`, location.href).href } }, list[0]!.name);
    }
  } catch (e) {
    showError('#model-error', e);
  }
  document.body.dataset['ready'] = '1';
}

void start();
