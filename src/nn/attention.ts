// Multi-head attention, the module every transformer in attn uses (GPT, BERT and its family, the 2017
// encoder-decoder, T5), and the KV caches that make generation fast. The math is one op,
// `attention(q, k, v, …)` in src/tensor/attention.ts; this file is the part around it:
//
//   x (B, T, C) ──q/k/v projections──▶ q (B, T, H, D), k, v (B, S, H, D) ──attention──▶ (B, T, H, D)
//       ──reshape (free)──▶ (B, T, H·D) ──output projection──▶ (B, T, C)
//
//   self-attention:   k and v come from x itself (S = T, or cached positions + T when generating)
//   cross-attention:  k and v come from another sequence (the encoder's output, S source positions), computed
//                     once per source and kept in a CrossAttentionCache while the decoder generates
//
// Shape letters: B batch, T new positions, S key positions, C model width, H heads, D head size (C / H
// unless the model says otherwise, as T5's d_kv).
//
// The projections are stored under the checkpoint's own names (GPT-2's `c_attn`/`c_proj`, BERT's
// `query`/`key`/`value`, Marian's `q_proj`…`out_proj`, T5's `q`/`k`/`v`/`o`), given in the options, so a
// Hugging Face state dict loads by a plain walk over names; this module reaches them through its `_`-prefixed
// references, which the parameter walk skips.

import { attention, cat, isGradEnabled, linear, reshape, slice, Tensor, type AttentionOptions, type Rng } from '../tensor/index.js';
import { asQuantized } from '../quant/ops.js';
import { getBackend } from '../backend/index.js';
import { Linear } from './layers.js';
import { Module } from './module.js';
import type { Packing } from './packing.js';

export interface MultiHeadAttentionOptions {
  /** C: width of the input x (and of the output, when there is an output projection). */
  dim: number;
  /** H: number of heads. */
  heads: number;
  /** D: size of each head; default dim / heads. */
  headDim?: number;
  /** Width of the sequence keys and values are computed from (cross-attention); default dim. */
  kvDim?: number;
  /** 'fused': one projection makes q, k and v side by side (GPT-2's c_attn); 'separate': three projections. */
  projections: 'fused' | 'separate';
  /** Checkpoint names of the projections: { qkv, out } when fused, { q, k, v, out } when separate. */
  names: { qkv?: string; q?: string; k?: string; v?: string; out?: string };
  /** Whether there is an output projection (default true; BERT applies its own, attention.output.dense). */
  outProjection?: boolean;
  /** Biases on the projections (default true; T5 has none). */
  bias?: boolean;
  /** Weight layout of the projections: 'out_in' (nn.Linear, default) or 'in_out' (GPT-2's Conv1D). */
  layout?: 'in_out' | 'out_in';
  /** Multiplies q·kᵀ; default 1/√D. */
  scale?: number;
  /** Hide future positions (decoder self-attention). */
  causal?: boolean;
  /** Sliding window (0 = none). */
  window?: number;
  /** Dropout on the attention probabilities while training. */
  dropout?: number;
}

export interface AttentionCallOptions {
  /** Cross-attention: the sequence keys and values come from, (B, S, kvDim). Omitted: self-attention on x. */
  kv?: Tensor;
  /** (B, S): 1 for real keys, 0 for padding (covering cached + new positions with a self-attention cache). */
  keyMask?: Uint8Array | Tensor;
  /** (H) or (B, H) head mask (Hugging Face's head_mask for this layer). */
  headMask?: Tensor | Float32Array;
  /** (1 or B, H, T, S) additive bias on the scores (T5's position bias). */
  bias?: Tensor;
  /** Self-attention: keys/values of earlier positions; the new ones are appended. Generation only. */
  cache?: LayerKVCache;
  /** Cross-attention: keys/values of the source, computed on the first call and reused after. */
  crossCache?: CrossAttentionCache;
  /** Return the attention probabilities (B, H, T, S). */
  returnWeights?: boolean;
  /** Random numbers for attention dropout. */
  rng?: Rng;
  /**
   * Padding-free: x holds only the real positions of a padded (B, T) batch, packed (N, C) (src/nn/packing.ts).
   * The projections run on the N rows; attention sees them unpacked; the result comes back packed (N, C).
   * Self-attention keys are the same rows. Not with a cache (generation does not pack).
   */
  rows?: Packing;
  /** Padding-free cross-attention: `kv` is packed (N_S, kvDim) by these rows of a (B, S) batch. */
  kvRows?: Packing;
}

/**
 * Self-attention over at least this many rows (B·T) with separate q, k, v projections runs them as one product
 * of the stacked weights. Below it (generating a token or a few) each product streams its weight where it is,
 * and stacking would copy all three weights per call for a product bound by reading them.
 */
const FUSE_MIN_ROWS = 32;

export class MultiHeadAttention extends Module {
  readonly heads: number;
  readonly headDim: number;
  readonly dim: number;
  readonly scale: number;
  readonly causal: boolean;
  readonly window: number;
  readonly dropoutP: number;
  private readonly _qkv: Linear | null;
  private readonly _q: Linear | null;
  private readonly _k: Linear | null;
  private readonly _v: Linear | null;
  private readonly _out: Linear | null;

  constructor(opts: MultiHeadAttentionOptions) {
    super();
    const { dim, heads, projections, names, bias = true, layout = 'out_in', outProjection = true } = opts;
    const headDim = opts.headDim ?? dim / heads;
    if (!Number.isInteger(heads) || heads < 1 || !Number.isInteger(headDim) || headDim < 1) {
      throw new RangeError(`MultiHeadAttention: dim ${dim} with ${heads} heads needs an integer head size, got ${headDim}; pass headDim`);
    }
    this.dim = dim;
    this.heads = heads;
    this.headDim = headDim;
    this.scale = opts.scale ?? 1 / Math.sqrt(headDim);
    this.causal = opts.causal ?? false;
    this.window = opts.window ?? 0;
    this.dropoutP = opts.dropout ?? 0;
    const inner = heads * headDim;
    const kvDim = opts.kvDim ?? dim;
    const lin = (inF: number, outF: number): Linear => new Linear(inF, outF, { bias, layout });
    const own = (name: string | undefined, what: string, m: Linear): Linear => {
      if (!name) throw new RangeError(`MultiHeadAttention: options.names.${what} is required (the checkpoint name of the ${what} projection)`);
      // Stored under the checkpoint's name so namedParameters() reports e.g. 'c_attn.weight'.
      Object.defineProperty(this, name, { value: m, enumerable: true, writable: false });
      return m;
    };
    if (projections === 'fused') {
      if (kvDim !== dim) throw new RangeError(`MultiHeadAttention: fused q/k/v projections need kvDim = dim, got ${kvDim} and ${dim}`);
      this._qkv = own(names.qkv, 'qkv', lin(dim, 3 * inner));
      this._q = this._k = this._v = null;
    } else {
      this._qkv = null;
      this._q = own(names.q, 'q', lin(dim, inner));
      this._k = own(names.k, 'k', lin(kvDim, inner));
      this._v = own(names.v, 'v', lin(kvDim, inner));
    }
    this._out = outProjection ? own(names.out, 'out', lin(inner, dim)) : null;
  }

  /** Whether the separate q, k, v projections can be stacked into one product (float weights, same layout). */
  private stackable(): boolean {
    const ps = [this._q!, this._k!, this._v!];
    return ps.every((p) => p.layout === ps[0]!.layout && p.inFeatures === ps[0]!.inFeatures && !asQuantized(p.weight) && (p.bias === null) === (ps[0]!.bias === null));
  }

  /** Whether this call will need the projections' gradients (autograd on and a weight that takes them). */
  private needsGrad(): boolean {
    return isGradEnabled() && [this._q!, this._k!, this._v!].some((p) => p.weight.requiresGrad || (p.bias?.requiresGrad ?? false));
  }

  /** The projections, for models that initialise or inspect them: { qkv | q, k, v; out }. */
  get projections(): { qkv: Linear | null; q: Linear | null; k: Linear | null; v: Linear | null; out: Linear | null } {
    return { qkv: this._qkv, q: this._q, k: this._k, v: this._v, out: this._out };
  }

  /**
   * x (B, T, C) → (B, T, C) (or (B, T, H·D) without an output projection).
   * `const { out } = attn.forward(x, { keyMask })`; see AttentionCallOptions for caches and cross-attention.
   */
  forward(x: Tensor, o: AttentionCallOptions = {}): { out: Tensor; weights?: Tensor } {
    const rows = o.rows;
    if (rows && (o.cache || o.crossCache)) throw new Error('MultiHeadAttention: packed rows (padding-free) cannot be used with a cache');
    if (o.kvRows && !o.kv) throw new Error('MultiHeadAttention: kvRows given without kv (it is the packing of the cross-attention source)');
    const [B, T] = rows ? [rows.batch, rows.length] : (x.shape as [number, number, number]);
    const H = this.heads;
    const D = this.headDim;
    const inner = H * D;
    const heads = (t: Tensor, n: number): Tensor => reshape(t, [B, n, H, D]); // (B, n, H, D), a view
    // Padding-free: a projection's (N, ·) rows back in their padded places (B, T, ·) for attention.
    const padded = (t: Tensor, p: Packing | undefined): Tensor => (p ? p.unpack(t) : t);

    let q: Tensor;
    let k: Tensor;
    let v: Tensor;
    if (this._qkv) {
      // One matmul for q, k and v; each is a strided view of its third of the (B, T, 3·H·D) result.
      const qkv = padded(this._qkv.forward(x), rows); // (B, T, 3·H·D)
      q = heads(slice(qkv, 2, 0, inner), T);
      k = heads(slice(qkv, 2, inner, 2 * inner), T);
      v = heads(slice(qkv, 2, 2 * inner, 3 * inner), T);
    } else if (!o.kv && !o.crossCache && (rows ? rows.count : B * T) >= FUSE_MIN_ROWS && this.stackable() && this.needsGrad()) {
      // Self-attention with three projections of x, while training: one matmul with their weights stacked, then
      // as above. The product reads x once instead of three times and sums dx inside one backward GEMM instead
      // of adding three; stacking copies 3·H·D·C weights (cat's backward splits the gradient back to each
      // projection), which is little next to a product and its backward over B·T rows. Without gradients
      // (encoding a source for generation, evaluation) it does not pay: the stacked weight is a new array every
      // call, copied and packed again, where each projection's own weight stays packed from call to call (a
      // Marian-base encoder layer spent 3.4 ms stacking, at ~1 GB/s: fresh pages for a 3 MB array).
      const [wq, wk, wv] = [this._q!, this._k!, this._v!];
      const layout = wq.layout;
      const w = cat([wq.weight, wk.weight, wv.weight], layout === 'out_in' ? 0 : 1); // (3·H·D, C) or (C, 3·H·D)
      const b = wq.bias ? cat([wq.bias, wk.bias!, wv.bias!], 0) : null; // (3·H·D)
      const qkv = padded(linear(x, w, b, layout), rows); // (B, T, 3·H·D)
      q = heads(slice(qkv, 2, 0, inner), T);
      k = heads(slice(qkv, 2, inner, 2 * inner), T);
      v = heads(slice(qkv, 2, 2 * inner, 3 * inner), T);
    } else {
      q = heads(padded(this._q!.forward(x), rows), T); // (B, T, H, D)
      if (o.crossCache?.k) {
        k = o.crossCache.k; // (B, S, H, D), computed from the source on an earlier call
        v = o.crossCache.v!;
      } else {
        const src = o.kv ?? x; // (B, S, kvDim), or packed (N_S, kvDim)
        const srcRows = o.kv ? o.kvRows : rows;
        const S = srcRows ? srcRows.length : src.shape[1]!;
        k = heads(padded(this._k!.forward(src), srcRows), S); // (B, S, H, D)
        v = heads(padded(this._v!.forward(src), srcRows), S);
        if (o.crossCache) o.crossCache.set(k, v);
      }
    }
    if (o.cache) ({ k, v } = o.cache.append(k, v)); // (B, P + T, H, D): views of the cache's storage

    const opts: AttentionOptions = {
      causal: this.causal && !o.kv && !o.crossCache,
      window: this.window,
      scale: this.scale,
      returnWeights: o.returnWeights ?? false,
      dropoutP: this.training ? this.dropoutP : 0,
    };
    if (o.keyMask !== undefined) opts.keyMask = o.keyMask;
    if (o.headMask !== undefined) opts.headMask = o.headMask;
    if (o.bias !== undefined) opts.bias = o.bias;
    if (o.rng !== undefined) opts.rng = o.rng;
    const r = attention(q, k, v, opts); // (B, T, H, D)
    let out = reshape(r.out, [B, T, inner]); // (B, T, H·D): heads side by side, a view
    if (rows) out = rows.pack(out); // (N, H·D): the real positions only
    if (this._out) out = this._out.forward(out); // (B, T, C), or (N, C)
    return r.weights ? { out, weights: r.weights } : { out };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Caches

/** A batch row's keys and values as LayerKVCache's reorder reads them: H runs of `cap` positions from `at`. */
interface SavedRow {
  k: Float32Array;
  v: Float32Array;
  at: number;
  cap: number;
  origin: Int32Array;
}

/**
 * The keys and values one self-attention layer has seen, for generation: storage for `capacity` positions
 * allocated ahead, so a new token is written in place instead of concatenating the whole cache every step;
 * attention reads views (B, length, H, D) of the first `length` positions. The storage doubles when full.
 * It is laid out (B, H, capacity, D): each head's keys one contiguous run, which is how attention reads them
 * (a head at a time). Laid out (B, capacity, H, D), a head's keys were D floats every H·D, and decoding GPT-2
 * 124M at 430 positions spent ~3.7 ms per token in attention at ~8 GB/s.
 * Values are stored detached (generation runs without gradients). The storage comes from Backend.allocate, so
 * on the WebAssembly backend it lives in the kernels' memory and attention reads it in place, with no copy of
 * the whole cache per token; and it is ordinary memory, not step memory, so it outlives each decode step
 * (which runs in step memory: see src/generate/from_model.ts).
 */
export class LayerKVCache {
  private kData: Float32Array = new Float32Array(0);
  private vData: Float32Array = new Float32Array(0);
  private batch = 0;
  private rowFloats = 0; // H·D
  private heads = 0;
  /**
   * Which write put each row's keys and values at each position: origin[b][p] is a number that no other write
   * gets, carried along when a reorder copies the position to another row. Two rows with the same origin at p
   * hold the same bytes there, so a reorder copies only the positions where they differ: beams usually share
   * all but their last few tokens. (Copying whole moved rows, every layer and step, was most of the ~9 % a
   * Marian-base beam search on two threads spent copying into its caches.)
   */
  private origin: Int32Array[] = [];
  private writes = 0;
  capacity = 0;
  length = 0;

  /** Appends k, v (B, T, H, D) and returns views (B, length, H, D) of everything cached. */
  append(k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const [B, T, H, D] = k.shape as [number, number, number, number];
    if (this.capacity === 0) {
      this.batch = B;
      this.heads = H;
      this.rowFloats = H * D;
    } else if (B !== this.batch || H * D !== this.rowFloats || H !== this.heads) {
      throw new RangeError(`LayerKVCache: appending (B ${B}, H ${H}, D ${D}) to a cache of (B ${this.batch}, H·D ${this.rowFloats})`);
    }
    if (this.length + T > this.capacity) this.grow(Math.max(this.length + T, 2 * this.capacity, this.firstCapacity()));
    writePositions(k, this.kData, this.capacity, this.length);
    writePositions(v, this.vData, this.capacity, this.length);
    for (const o of this.origin) for (let s = 0; s < T; s++) o[this.length + s] = ++this.writes;
    this.length += T;
    return { k: this.view(this.kData, D), v: this.view(this.vData, D) };
  }

  /**
   * Keep batch rows `rows` in this order (beam search reorders its hypotheses every step). In place when the
   * number of rows stays the same.
   */
  selectRows(rows: Int32Array | readonly number[]): void {
    if (this.capacity === 0) return;
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= this.batch) throw new RangeError(`LayerKVCache.selectRows: row ${r} is not in 0..${this.batch - 1}`);
    }
    if (rows.length === this.batch) {
      this.permuteRows(rows);
      return;
    }
    // A new number of rows (a prompt's row copied to its beams): new storage, every row copied whole.
    const per = this.capacity * this.rowFloats; // floats of one batch row
    const used = this.length * (this.rowFloats / this.heads); // floats of one head's cached positions
    for (const which of ['kData', 'vData'] as const) {
      const src = this[which];
      const dst = getBackend().allocate(rows.length * per, false); // positions past `length` are never read
      rows.forEach((r, i) => this.copyRow(src, r * per, dst, i * per, this.capacity, used));
      this[which] = dst;
    }
    this.origin = Array.from(rows, (r) => this.origin[r]!.slice());
    this.batch = rows.length;
  }

  /**
   * Empty the cache and give its storage back to the backend now (Backend.release): the generation loop calls
   * this when a generation ends, so the next one writes its keys and values into the same, already touched
   * memory. The views append() returned must not be read afterwards.
   */
  release(): void {
    const be = getBackend();
    be.release(this.kData);
    be.release(this.vData);
    this.kData = new Float32Array(0);
    this.vData = new Float32Array(0);
    this.origin = [];
    this.batch = 0;
    this.capacity = 0;
    this.length = 0;
  }

  /**
   * The capacity the storage starts with: 256 positions where that is at most 2 MiB per array (GPT-2 124M:
   * 0.75 MiB), fewer for wider rows or batches. Every doubling copies the cache into fresh memory, and fresh
   * memory is slow to touch the first time (on this project's VM, 16 MB took ~60 ms to first write and ~1 ms
   * after): from 16 positions, decoding GPT-2 124M's 64 tokens doubled the cache three times and spent ~4 %
   * of its time there. Positions never written are never touched, so the room ahead costs address space only.
   */
  private firstCapacity(): number {
    return Math.max(16, Math.min(256, Math.floor((2 << 20) / (4 * this.batch * this.rowFloats))));
  }

  private grow(capacity: number): void {
    const per = capacity * this.rowFloats;
    const old = this.capacity * this.rowFloats;
    const used = this.length * (this.rowFloats / this.heads);
    for (const which of ['kData', 'vData'] as const) {
      // Not zeroed: positions past `length` are written before attention reads them, and zeroing the whole new
      // capacity (fresh pages) cost ~10 % of GPT-2 124M's int8 decoding with a cache made per generate call.
      const next = getBackend().allocate(this.batch * per, false);
      for (let b = 0; b < this.batch; b++) this.copyRow(this[which], b * old, next, b * per, this.capacity, used, capacity);
      this[which] = next;
    }
    this.origin = Array.from({ length: this.batch }, (_, b) => {
      const o = new Int32Array(capacity);
      if (this.origin[b]) o.set(this.origin[b]!.subarray(0, this.length));
      return o;
    });
    this.capacity = capacity;
  }

  /**
   * Row i := row rows[i] for every i, in place. A beam that keeps its own row (rows[i] = i) is not touched; a row
   * that takes another's copies only the positions where their origins differ; and a row is overwritten only
   * once no other row still has to be copied from it, so no scratch is needed — except for rows that read each
   * other in a ring (beams 1 and 2 trading places), where one row is set aside to break it.
   */
  private permuteRows(rows: Int32Array | readonly number[]): void {
    const n = rows.length;
    const per = this.capacity * this.rowFloats;
    const readers = new Int32Array(n); // rows still to be written that read row j
    for (let i = 0; i < n; i++) if (rows[i] !== i) readers[rows[i]!]++;
    const rowOf = (r: number): SavedRow => ({ k: this.kData, v: this.vData, at: r * per, cap: this.capacity, origin: this.origin[r]! });
    const from: (number | SavedRow)[] = Array.from(rows); // where row i's new content is: a row, or a copy of one
    const pending = new Set<number>();
    const ready: number[] = [];
    for (let i = 0; i < n; i++) {
      if (rows[i] === i) continue;
      pending.add(i);
      if (readers[i] === 0) ready.push(i);
    }
    while (pending.size > 0) {
      if (ready.length === 0) {
        // Every row left is read by another: a ring. Set one aside and point its readers at the copy.
        const c = pending.values().next().value!;
        const used = this.length * (this.rowFloats / this.heads);
        const saved: SavedRow = { k: new Float32Array(this.heads * used), v: new Float32Array(this.heads * used), at: 0, cap: this.length, origin: this.origin[c]!.slice(0, this.length) };
        this.copyRow(this.kData, c * per, saved.k, 0, this.capacity, used, this.length);
        this.copyRow(this.vData, c * per, saved.v, 0, this.capacity, used, this.length);
        for (const i of pending) if (from[i] === c) from[i] = saved;
        readers[c] = 0;
        ready.push(c);
      }
      const i = ready.pop()!;
      const f = from[i]!;
      this.takeRow(i, typeof f === 'number' ? rowOf(f) : f);
      if (typeof f === 'number' && pending.has(f) && --readers[f] === 0) ready.push(f);
      pending.delete(i);
    }
  }

  /** Row i := src, copying the runs of positions whose origin differs, head by head, keys and values. */
  private takeRow(i: number, src: SavedRow): void {
    const D = this.rowFloats / this.heads;
    const mine = this.origin[i]!;
    const theirs = src.origin;
    const at = i * this.capacity * this.rowFloats;
    for (let p = 0; p < this.length; ) {
      if (mine[p] === theirs[p]) {
        p++;
        continue;
      }
      let q = p + 1;
      while (q < this.length && mine[q] !== theirs[q]) q++;
      for (const [s, d] of [[src.k, this.kData], [src.v, this.vData]] as const) {
        copyRuns(s, d, this.heads, (q - p) * D, (h) => src.at + (h * src.cap + p) * D, (h) => at + (h * this.capacity + p) * D);
      }
      p = q;
    }
    mine.set(theirs.subarray(0, this.length));
  }

  /**
   * One batch row's cached positions, head by head: the first `used` floats of each of its H runs, from a row
   * of capacity `fromCap` at src[from] to one of capacity `toCap` (default the same) at dst[to].
   */
  private copyRow(src: Float32Array, from: number, dst: Float32Array, to: number, fromCap: number, used: number, toCap = fromCap): void {
    const D = this.rowFloats / this.heads;
    copyRuns(src, dst, this.heads, used, (h) => from + h * fromCap * D, (h) => to + h * toCap * D);
  }

  private view(data: Float32Array, D: number): Tensor {
    const shape = [this.batch, this.length, this.heads, D];
    // (B, H, capacity, D) storage seen as (B, length, H, D)
    return new Tensor(data, shape, [this.capacity * this.rowFloats, D, this.capacity * D, 1]);
  }
}

/**
 * The source's keys and values for one cross-attention layer, computed once per source (B, S, H, D). They are
 * kept in the backend's memory (Backend.allocate), where attention reads them in place every decode step: as
 * ordinary arrays they were copied into the WebAssembly memory at every step (Marian base, 4 beams of a 32-token
 * source: 3 MB per step, ~2 % of a beam search on two threads).
 */
export class CrossAttentionCache {
  k: Tensor | null = null;
  v: Tensor | null = null;
  /** For each row of k and v, the row of the set() call whose keys and values it holds. */
  private origin: number[] = [];
  /** Forget the source's keys and values, giving their storage back (Backend.release). */
  clear(): void {
    const be = getBackend();
    if (this.k) be.release(this.k.data as Float32Array);
    if (this.v) be.release(this.v.data as Float32Array);
    this.k = null;
    this.v = null;
    this.origin = [];
  }
  set(k: Tensor, v: Tensor): void {
    this.clear();
    const all = Array.from({ length: k.shape[0]! }, (_, i) => i);
    this.k = selectBatchRows(k.detach(), all);
    this.v = selectBatchRows(v.detach(), all);
    this.origin = all;
  }
  /**
   * Keep batch rows `rows` in this order (beam search). The beams of one source hold the same keys and values,
   * so a reorder among them (every step of a beam search) changes nothing and copies nothing; rows are copied
   * only when some row would then hold another source's.
   */
  selectRows(rows: Int32Array | readonly number[]): void {
    if (!this.k || !this.v) return;
    const origin = Array.from(rows, (r) => {
      if (!Number.isInteger(r) || r < 0 || r >= this.origin.length) throw new RangeError(`CrossAttentionCache.selectRows: row ${r} is not in 0..${this.origin.length - 1}`);
      return this.origin[r]!;
    });
    if (origin.length === this.origin.length && origin.every((o, i) => o === this.origin[i])) return;
    const [k, v] = [selectBatchRows(this.k, rows), selectBatchRows(this.v, rows)];
    this.clear();
    [this.k, this.v, this.origin] = [k, v, origin];
  }
}

/** A model's caches: one self-attention cache per layer (and optionally one cross-attention cache per layer). */
export class KVCache {
  readonly layers: LayerKVCache[];
  readonly cross: CrossAttentionCache[];
  constructor(nLayer: number, opts: { cross?: boolean } = {}) {
    this.layers = Array.from({ length: nLayer }, () => new LayerKVCache());
    this.cross = opts.cross ? Array.from({ length: nLayer }, () => new CrossAttentionCache()) : [];
  }
  /** Positions already cached (P). */
  get length(): number {
    return this.layers[0]?.length ?? 0;
  }
  /** Keep batch rows `rows` in this order in every layer (beam search). */
  selectRows(rows: Int32Array | readonly number[]): void {
    for (const l of this.layers) l.selectRows(rows);
    for (const c of this.cross) c.selectRows(rows);
  }
  /** Empty every layer's cache and give the self-attention storage back now (LayerKVCache.release). */
  release(): void {
    for (const l of this.layers) l.release();
    for (const c of this.cross) c.clear();
  }
}

/** Write t (B, T, H, D) into storage laid out (B, H, cap, D) at positions from..from+T−1. */
function writePositions(t: Tensor, dst: Float32Array, cap: number, from: number): void {
  const [B, T, H, D] = t.shape as [number, number, number, number];
  const src = t.data as Float32Array;
  const [sb, st, sh, sd] = t.strides as [number, number, number, number];
  if (sd === 1) {
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < T; s++) {
        // head h's D floats go to the end of its run of positions in the (B, H, cap, D) storage
        const base = t.offset + b * sb + s * st;
        copyRuns(src, dst, H, D, (h) => base + h * sh, (h) => ((b * H + h) * cap + from + s) * D);
      }
    }
    return;
  }
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const run = (b * H + h) * cap * D; // this head's positions in the (B, H, cap, D) storage
      for (let s = 0; s < T; s++) {
        const base = t.offset + b * sb + s * st + h * sh;
        const o = run + (from + s) * D;
        for (let d = 0; d < D; d++) dst[o + d] = src[base + d * sd]!;
      }
    }
  }
}

/**
 * Copy `runs` runs of `len` floats, run r from src[srcAt(r)] to dst[dstAt(r)]. The cache's copies are many short
 * runs (a decode step writes 64 floats per head, row and layer); when both arrays are views of one buffer (the
 * WebAssembly memory, where the cache and a decode step's results live) one view of the whole buffer per call
 * and a copyWithin per run replace a subarray object per run (in a micro-benchmark 0.04 µs a run against 0.12,
 * and ~0.25 µs for the view).
 */
function copyRuns(src: Float32Array, dst: Float32Array, runs: number, len: number, srcAt: (r: number) => number, dstAt: (r: number) => number): void {
  if (src.buffer === dst.buffer) {
    const whole = new Float32Array(dst.buffer);
    const s0 = src.byteOffset >> 2;
    const d0 = dst.byteOffset >> 2;
    for (let r = 0; r < runs; r++) {
      const a = s0 + srcAt(r);
      whole.copyWithin(d0 + dstAt(r), a, a + len);
    }
  } else for (let r = 0; r < runs; r++) dst.set(src.subarray(srcAt(r), srcAt(r) + len), dstAt(r));
}

/** Rows `rows` of a (B, …) tensor's first dim, as a new contiguous tensor in the backend's memory. */
function selectBatchRows(t: Tensor, rows: Int32Array | readonly number[]): Tensor {
  const c = t.contiguous();
  const per = c.size / c.shape[0]!;
  const src = c.data as Float32Array;
  const out = getBackend().allocate(rows.length * per, false); // every row written below
  Array.from(rows).forEach((r, i) => {
    if (!Number.isInteger(r) || r < 0 || r >= c.shape[0]!) throw new RangeError(`CrossAttentionCache.selectRows: row ${r} is not in 0..${c.shape[0]! - 1}`);
    out.set(src.subarray(c.offset + r * per, c.offset + (r + 1) * per), i * per);
  });
  return new Tensor(out, [rows.length, ...c.shape.slice(1)]);
}
