// The explain adapter for GPT (src/models/gpt.ts): one group of causal self-attention maps, head masks through
// GPT.forward's headMask, physical pruning with Hugging Face's prune_heads semantics, and the language-model
// objective (loss for head importance, validation bits per byte for quality) the pruning experiment runs on.
//
// Shapes: L layers, H heads of a layer (n_head less its pruned heads), T tokens, C n_embd, hs head size (C / n_head).
import { noGrad, tensor, type Tensor } from '../../tensor/index.js';
import { GPT, gptConfig } from '../../models/gpt.js';
import { savePretrained } from '../../models/pretrained.js';
import { bitsPerByte, sequentialBatches } from '../../train/data.js';
import type { Tokenizer } from '../../tokenizers/index.js';
import { windowOf, type AttentionGroup, type Encoded, type ExplainInput, type HeadId, type HeadLayout, type HeadMask, type Prunable, type WindowOptions } from '../explainable.js';
import { pruneableHeadsAndIndices, selectColumns, selectRows } from '../hf_prune.js';
import type { HeadObjective } from '../importance.js';
import { tokenViews } from '../tokens.js';

export interface GPTEncoded extends Encoded {
  /** (T) the window's token ids. */
  ids: Int32Array;
  /** Where the window starts in the whole text's tokens, and how many tokens the whole text has. */
  start: number;
  total: number;
}

/**
 * `new GPTExplainer(model, tokenizer)`: maps, masks and pruning for a GPT. Puts the model in eval mode (no
 * dropout). Does not handle a pair of texts (a GPT reads one sequence).
 */
export class GPTExplainer implements Prunable<GPTEncoded> {
  readonly family = 'gpt';
  readonly model: GPT;
  readonly tokenizer: Tokenizer;

  constructor(model: GPT, tokenizer: Tokenizer) {
    this.model = model.train(false);
    this.tokenizer = tokenizer;
  }

  get maxTokens(): number {
    return this.model.config.n_positions;
  }

  heads(): HeadLayout[] {
    const cfg = this.model.config;
    const layers = Array.from({ length: cfg.n_layer }, (_, i) => {
      const gone = new Set(cfg.pruned_heads[String(i)] ?? []);
      return Array.from({ length: cfg.n_head }, (_, h) => h).filter((h) => !gone.has(h));
    });
    return [{ group: 'self', nHead: cfg.n_head, layers }];
  }

  encode(input: ExplainInput, window: WindowOptions = {}): GPTEncoded {
    if (input.pair !== undefined) throw new Error('a GPT reads one text; --pair is for BERT (sentence B) and encoder-decoder models (the target)');
    const enc = this.tokenizer.encode(input.text);
    return windowOf(enc.ids.length, this.maxTokens, window, (start, end) => {
      const views = tokenViews(this.tokenizer, enc).slice(start, end);
      return { ids: Int32Array.from(enc.ids.slice(start, end)), tokens: views };
    });
  }

  attentions(e: GPTEncoded, opts: { headMask?: HeadMask } = {}): AttentionGroup[] {
    const T = e.ids.length;
    const headMask = opts.headMask ? selfMask(opts.headMask) : undefined;
    const out = noGrad(() => this.model.forward(tensor(e.ids, [1, T], { dtype: 'int32' }), { outputAttentions: true, ...(headMask ? { headMask } : {}) }));
    const layouts = this.heads()[0]!.layers;
    const layers = out.attentions!.map((w, i) => ({ data: w.toFloat32Array(), heads: w.shape[1]!, headIds: layouts[i]! })); // (1, H, T, T) → (H, T, T)
    return [{ kind: 'self', queries: e.tokens, keys: e.tokens, causal: true, layers }];
  }

  prune(heads: readonly HeadId[]): GPTExplainer {
    const byLayer: Record<number, number[]> = {};
    for (const h of heads) {
      if (h.group !== 'self') throw new Error(`a GPT has only 'self' attention heads, not '${h.group}'`);
      (byLayer[h.layer] ??= []).push(h.head);
    }
    return new GPTExplainer(pruneGPT(this.model, byLayer), this.tokenizer);
  }

  save(dir: string): void {
    savePretrained(this.model, dir, { tokenizerJson: JSON.stringify(this.tokenizer.toJSON()) });
  }
}

/** The 'self' entry of a HeadMask as GPT.forward's per-layer headMask; other groups are an error. */
function selfMask(m: HeadMask): Array<Tensor | Float32Array | null> {
  const other = Object.keys(m).filter((k) => k !== 'self');
  if (other.length) throw new Error(`a GPT has only 'self' attention heads; the head mask names ${other.join(', ')}`);
  return m.self ?? [];
}

// -----------------------------------------------------------------------------------------------------------
// Pruning (Hugging Face's GPT2Attention.prune_heads): a copy of the model whose layers lose the heads' q/k/v
// columns of c_attn and rows of c_proj, with config.pruned_heads recording every head removed so far.

/**
 * A copy of `model` without the given heads ({layer: [original head indices]}); heads already pruned are
 * skipped. `pruneGPT(model, { 0: [1], 3: [0, 2] })`. The copy computes exactly what `model` computes with those
 * heads masked to 0. Does not handle removing every head of a layer (config validation refuses it).
 */
export function pruneGPT(model: GPT, heads: Readonly<Record<number, readonly number[]>>): GPT {
  const cfg = model.config;
  const hs = cfg.n_embd / cfg.n_head;
  const pruned: Record<string, number[]> = {};
  const indices = new Map<number, Int32Array>(); // layer → kept dimensions of its current attention width
  for (let layer = 0; layer < cfg.n_layer; layer++) {
    const before = cfg.pruned_heads[String(layer)] ?? [];
    const asked = heads[layer] ?? [];
    for (const h of asked) if (!Number.isInteger(h) || h < 0 || h >= cfg.n_head) throw new Error(`pruneGPT: layer ${layer} has heads 0..${cfg.n_head - 1}, not ${h}`);
    const r = pruneableHeadsAndIndices(asked, cfg.n_head - before.length, hs, new Set(before));
    if (r.heads.size > 0) indices.set(layer, r.index);
    const all = [...before, ...r.heads];
    if (all.length > 0) pruned[String(layer)] = all;
  }
  for (const key of Object.keys(heads)) {
    if (!(Number(key) >= 0 && Number(key) < cfg.n_layer)) throw new Error(`pruneGPT: layer ${key} is not in 0..${cfg.n_layer - 1}`);
  }
  const next = new GPT(gptConfig({ ...cfg, pruned_heads: pruned }), undefined, { init: false });
  const old = new Map(model.namedParameters());
  next.initParameters((name, data, shape) => {
    const src = old.get(name)!.toFloat32Array();
    const m = /^h\.(\d+)\.attn\.(c_attn|c_proj)\.(weight|bias)$/.exec(name);
    const index = m ? indices.get(Number(m[1])) : undefined;
    if (!m || !index) return data.set(src);
    const A = model.h[Number(m[1])]!.attn.heads * hs; // the layer's attention width before this pruning
    if (m[2] === 'c_attn') {
      // q, k and v sit side by side in c_attn's output: keep `index` in each block.
      const cols = new Int32Array(3 * index.length);
      for (let j = 0; j < 3; j++) index.forEach((c, i) => (cols[j * index.length + i] = c + j * A));
      data.set(m[3] === 'weight' ? selectColumns(src, cfg.n_embd, 3 * A, cols) : selectRows(src, 1, cols)); // (C, 3A') / (3A')
    } else {
      data.set(m[3] === 'weight' ? selectRows(src, cfg.n_embd, index) : src); // (A', C); the bias stays whole
    }
    if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`pruneGPT: ${name} came out with ${data.length} values for shape [${shape.join(', ')}]`);
  });
  return next.train(model.training);
}

// -----------------------------------------------------------------------------------------------------------
// The language-model objective: next-token loss on windows of a token stream (importance), bits per byte on
// the held-out stream (quality), exactly as `attn eval` and training's validation compute them.

export interface LanguageModelData {
  /** Tokens head importance is measured on (the training side). */
  importance: Int32Array;
  /** Held-out tokens the quality is scored on, and the UTF-8 bytes of their text. */
  evaluation: Int32Array;
  evaluationBytes: number;
}

export interface LanguageModelObjectiveOptions {
  /** Window length (default: the model's context, at most 128). */
  blockSize?: number;
  /** Windows per batch (default 8). */
  batchSize?: number;
  /** Tokens of `importance` used (default 16384; 0 = all). */
  importanceTokens?: number;
  /** Tokens of `evaluation` scored (default 0 = all). */
  evalTokens?: number;
}

/**
 * `gptLanguageModelObjective(adapter, { importance: stream.train, evaluation: stream.val, evaluationBytes:
 * stream.valBytes })`: the GPT's loss and validation bits per byte under head masks.
 */
export function gptLanguageModelObjective(x: GPTExplainer, data: LanguageModelData, opts: LanguageModelObjectiveOptions = {}): HeadObjective {
  const T = opts.blockSize ?? Math.min(x.maxTokens, 128);
  if (T > x.maxTokens) throw new Error(`block size ${T} is longer than the model's context (${x.maxTokens})`);
  const B = opts.batchSize ?? 8;
  const take = (t: Int32Array, n: number | undefined, what: string): Int32Array => {
    const used = n && n > 0 && n + 1 < t.length ? t.subarray(0, n + 1) : t;
    if (used.length < 2) throw new Error(`the ${what} text has ${used.length} token(s); at least 2 are needed`);
    return used;
  };
  const imp = [...sequentialBatches(take(data.importance, opts.importanceTokens ?? 16384, 'importance'), B, T)];
  const evalTokens = take(data.evaluation, opts.evalTokens ?? 0, 'evaluation');
  const evalBatches = [...sequentialBatches(evalTokens, B, T)];
  return {
    metric: { name: 'bits per byte', higherIsBetter: false },
    batches: imp.length,
    rows: (i) => imp[i]!.x.shape[0]!,
    loss: (i, gates) => x.model.forward(imp[i]!.x, { targets: imp[i]!.y, headMask: selfMask(gates) }).loss!,
    quality: (mask) =>
      noGrad(() => {
        let total = 0;
        let count = 0;
        for (const b of evalBatches) {
          const out = x.model.forward(b.x, { targets: b.y, ...(mask ? { headMask: selfMask(mask) } : {}) });
          total += out.loss!.item() * b.count;
          count += b.count;
        }
        // The bytes those `count` tokens stand for, at the stream's average bytes per token (as evaluate()).
        return bitsPerByte(total / count, count, (data.evaluationBytes * count) / data.evaluation.length);
      }),
  };
}
