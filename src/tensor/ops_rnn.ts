// Recurrent layers as ops: one LSTM or GRU layer over a whole (padded) batch of sequences, in one or both
// directions, forward and backward through time, in PyTorch's gate order and weight layout (torch.nn.LSTM /
// torch.nn.GRU).
//
//   LSTM (gates i, f, g, o; weight_ih (4H, I), weight_hh (4H, H)):
//     i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
//     g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
//     c' = f·c + i·g                             h' = o·tanh(c')
//   GRU (gates r, z, n; weight_ih (3H, I), weight_hh (3H, H)):
//     r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
//     n = tanh(W_in x + b_in + r·(W_hn h + b_hn))                 (r multiplies the recurrent part only)
//     h' = (1 − z)·n + z·h
//
// Shapes: T time steps, B batch, I input size, H hidden size, G gates (4 or 3), D directions. Everything is
// time-major: x (T, B, I), out (T, B, H), so the rows one time step touches are contiguous.
//
// How a layer is computed — three parts, of which only the middle one is sequential:
//   1. Before the loop, the input side of every gate for every step: gates = x·W_ihᵀ + biases, (T·B, G·H), ONE
//      large matmul per direction (T·B rows instead of B per step: the efficient shape for a GEMM).
//   2. The time loop, one backend call for all steps and all directions (Backend.recurrentForward; the formulas
//      are in src/backend/recurrent.ts): per step the small product h·W_hhᵀ and one fused pass over the gates.
//      The WebAssembly backend runs the two directions of a bidirectional layer on two threads at once.
//   3. Backward is the mirror image: one call walks the steps in reverse (Backend.recurrentBackward) and leaves
//      the gradient of every step's gates, da (T·B, G·H); then the weight gradients are large products over all
//      T·B rows at once — dW_ih = daᵀ·x, dW_hh = daᵀ·h_prev (one product, not T), dx = da·W_ih — two
//      Backend.linearBackward calls per direction.
//
// Padded batches: `lengths[b]` real steps for sequence b (the rest of its T steps is padding). A padded step
// leaves the state unchanged and outputs 0, as PyTorch's packed sequences do: the final state of a sequence
// is its state after its last real step, and nothing leaks past a sequence's end. The reverse direction
// starts each sequence at its own last real step. The masks are per (step, sequence), so the products still
// run over the whole batch (simple, and the work a packed batch would save is small when lengths are close).
import { getBackend, type Backend, type LinearSpec, type MatmulSpec, type RecurrentCell, type RecurrentGradients, type RecurrentOperands, type RecurrentSpec } from '../backend/index.js';
import { fromOp, needsGrad, type GradSink } from './autograd.js';
import { expectFloat, fmtShape, readContiguous } from './shape.js';
import { Tensor } from './tensor.js';
import { floats, floatsToWrite } from './step.js';

export interface RecurrentLayerOptions {
  /**
   * (B) the real length of each sequence, 1 ≤ lengths[b] ≤ T; steps at and after lengths[b] are padding
   * (state unchanged, output 0). Default: every sequence has all T steps.
   */
  lengths?: Int32Array | readonly number[] | null;
  /** Walk the sequence from its last real step to its first (the second direction of a bidirectional layer). */
  reverse?: boolean;
}

/** One direction of a layer: its weights (PyTorch's names and shapes), initial state and walking order. */
export interface RecurrentDirection {
  /** (G·H, I) weight_ih. */
  wIh: Tensor;
  /** (G·H, H) weight_hh. */
  wHh: Tensor;
  /** (G·H) bias_ih and bias_hh, or null for none. */
  bIh: Tensor | null;
  bHh: Tensor | null;
  /** (B, H) initial hidden state, or null for zeros. */
  h0: Tensor | null;
  /** (B, H) initial cell state (LSTM only), or null for zeros. */
  c0?: Tensor | null;
  /** Walk from each sequence's last real step to its first. */
  reverse: boolean;
}

export interface LSTMLayerResult {
  /** (T, B, H) the hidden state after every step (0 at padded steps). */
  out: Tensor;
  /** (B, H) the final hidden state (after each sequence's last real step; after step 0 when reversed). */
  h: Tensor;
  /** (B, H) the final cell state. */
  c: Tensor;
}

export interface GRULayerResult {
  out: Tensor;
  h: Tensor;
}

/**
 * One LSTM layer, one direction: x (T, B, I) time-major, h0 and c0 (B, H) or null for zeros, PyTorch's
 * weight_ih (4H, I), weight_hh (4H, H), bias_ih and bias_hh (4H) or null. Differentiable in every input.
 * `const { out, h, c } = lstmLayer(x, null, null, wIh, wHh, bIh, bHh, { lengths: [5, 3] })`.
 * Does not handle projections (PyTorch's proj_size) or several layers (src/nn/rnn.ts stacks them).
 */
export function lstmLayer(
  x: Tensor,
  h0: Tensor | null,
  c0: Tensor | null,
  wIh: Tensor,
  wHh: Tensor,
  bIh: Tensor | null,
  bHh: Tensor | null,
  opts: RecurrentLayerOptions = {},
): LSTMLayerResult {
  return lstmDirections(x, [{ wIh, wHh, bIh, bHh, h0, c0, reverse: opts.reverse ?? false }], opts)[0]!;
}

/**
 * One GRU layer, one direction: as lstmLayer with weight_ih (3H, I), weight_hh (3H, H), biases (3H), no
 * cell state. `const { out, h } = gruLayer(x, h0, wIh, wHh, bIh, bHh)`.
 */
export function gruLayer(
  x: Tensor,
  h0: Tensor | null,
  wIh: Tensor,
  wHh: Tensor,
  bIh: Tensor | null,
  bHh: Tensor | null,
  opts: RecurrentLayerOptions = {},
): GRULayerResult {
  return gruDirections(x, [{ wIh, wHh, bIh, bHh, h0, reverse: opts.reverse ?? false }], opts)[0]!;
}

/**
 * Several directions of one LSTM layer over the same input, as one op (a bidirectional layer: a forward and
 * a reverse direction), so that the backend can run them side by side. Results in the order given.
 * `const [fwd, bwd] = lstmDirections(x, [{ wIh, wHh, bIh, bHh, h0: null, reverse: false }, { ...rev, reverse: true }], { lengths })`.
 */
export function lstmDirections(x: Tensor, dirs: readonly RecurrentDirection[], opts: Pick<RecurrentLayerOptions, 'lengths'> = {}): LSTMLayerResult[] {
  const L = prepare('lstm', x, dirs, opts);
  const { T, B, H } = L;
  const S = T + 2; // rows of one direction's block in the op's output: out (T), h_n, c_n
  const all = fromOp('lstm', runLayer(L), [dirs.length * S, B, H], L.inputs, (g, sink) => backwardLayer(L, g, sink));
  // One op, three results per direction: views of its block.
  return dirs.map((_, d) => ({
    out: all.slice(0, d * S, d * S + T),
    h: all.slice(0, d * S + T, d * S + T + 1).reshape([B, H]),
    c: all.slice(0, d * S + T + 1, d * S + T + 2).reshape([B, H]),
  }));
}

/** As lstmDirections, for a GRU layer (directions without c0). `const [fwd, bwd] = gruDirections(x, dirs, { lengths })`. */
export function gruDirections(x: Tensor, dirs: readonly RecurrentDirection[], opts: Pick<RecurrentLayerOptions, 'lengths'> = {}): GRULayerResult[] {
  const L = prepare('gru', x, dirs, opts);
  const { T, B, H } = L;
  const S = T + 1; // out (T), h_n
  const all = fromOp('gru', runLayer(L), [dirs.length * S, B, H], L.inputs, (g, sink) => backwardLayer(L, g, sink));
  return dirs.map((_, d) => ({ out: all.slice(0, d * S, d * S + T), h: all.slice(0, d * S + T, d * S + T + 1).reshape([B, H]) }));
}

// ---------------------------------------------------------------------------------------------------------
// Checks and contiguous operands

interface Direction extends RecurrentDirection {
  WIH: Float32Array; // (G·H, I)
  WHH: Float32Array; // (G·H, H)
  wIhVersion: number | undefined;
  wHhVersion: number | undefined;
  /** The arrays of the time loop; forward fills them, backward reads them. */
  ops: RecurrentOperands | null;
}

interface Layer {
  cell: RecurrentCell;
  G: number;
  T: number;
  B: number;
  I: number;
  H: number;
  x: Tensor;
  X: Float32Array; // (T, B, I)
  /** (T, B) 1 for real steps, 0 for padding. */
  masks: Float32Array;
  dirs: Direction[];
  /** Inputs of the autograd op. */
  inputs: Tensor[];
}

function prepare(cell: RecurrentCell, x: Tensor, dirs: readonly RecurrentDirection[], opts: Pick<RecurrentLayerOptions, 'lengths'>): Layer {
  const G = cell === 'lstm' ? 4 : 3;
  const op = `${cell}Layer`;
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: x must be a Tensor, got ${typeof x}`);
  expectFloat(op, x, 'x');
  if (x.ndim !== 3) throw new RangeError(`${op}: x must be (T, B, I) time-major, got shape ${fmtShape(x.shape)}`);
  const [T, B, I] = x.shape as [number, number, number];
  if (T === 0) throw new RangeError(`${op}: x has no time steps (shape ${fmtShape(x.shape)}); an empty sequence has nothing to run`);
  if (dirs.length === 0) throw new RangeError(`${op}: no directions given`);
  const gates = G === 4 ? 'i, f, g, o' : 'r, z, n';
  const H = dirs[0]!.wHh instanceof Tensor ? dirs[0]!.wHh.shape[1]! : 0;
  const inputs: Tensor[] = [x];
  const checked = dirs.map((dir, d): Direction => {
    const where = dirs.length > 1 ? `${op} (direction ${d})` : op;
    const { wIh, wHh, bIh, bHh } = dir;
    for (const [name, t] of [['weight_ih', wIh], ['weight_hh', wHh]] as const) {
      if (!(t instanceof Tensor)) throw new TypeError(`${where}: ${name} must be a Tensor, got ${typeof t}`);
      expectFloat(where, t, name);
    }
    if (wHh.ndim !== 2 || wHh.shape[0] !== G * wHh.shape[1]! || wHh.shape[1] !== H) {
      throw new RangeError(`${where}: weight_hh has shape ${fmtShape(wHh.shape)}, expected (${G}·H, H) for ${G} gates (${gates})${d > 0 ? `, H = ${H} as in direction 0` : ''}`);
    }
    if (wIh.ndim !== 2 || wIh.shape[0] !== G * H || wIh.shape[1] !== I) {
      throw new RangeError(`${where}: weight_ih has shape ${fmtShape(wIh.shape)}, expected (${G}·H, I) = [${G * H}, ${I}] (H = ${H} from weight_hh, I = ${I} from x ${fmtShape(x.shape)})`);
    }
    for (const [name, b] of [['bias_ih', bIh], ['bias_hh', bHh]] as const) {
      if (b === null || b === undefined) continue;
      expectFloat(where, b, name);
      if (b.ndim !== 1 || b.shape[0] !== G * H) throw new RangeError(`${where}: ${name} has shape ${fmtShape(b.shape)}, expected [${G * H}] (${G} gates × H = ${H})`);
    }
    const c0 = dir.c0 ?? null;
    if (cell === 'gru' && c0) throw new RangeError(`${where}: c0 was given, but a GRU has no cell state`);
    for (const [name, s] of [['h0', dir.h0], ['c0', c0]] as const) {
      if (s === null || s === undefined) continue;
      expectFloat(where, s, name);
      if (s.ndim !== 2 || s.shape[0] !== B || s.shape[1] !== H) throw new RangeError(`${where}: ${name} has shape ${fmtShape(s.shape)}, expected (B, H) = [${B}, ${H}]`);
    }
    inputs.push(wIh, wHh, ...[bIh, bHh, dir.h0, c0].filter((t): t is Tensor => t !== null && t !== undefined));
    const wi = weight(wIh);
    const wh = weight(wHh);
    return {
      ...dir, bIh: bIh ?? null, bHh: bHh ?? null, h0: dir.h0 ?? null, c0,
      WIH: wi.data, WHH: wh.data, wIhVersion: wi.version, wHhVersion: wh.version, ops: null,
    };
  });
  return { cell, G, T, B, I, H, x, X: readContiguous(x) as Float32Array, masks: stepMasks(op, T, B, opts.lengths ?? null), dirs: checked, inputs };
}

/** A weight's contiguous data, and its version when the backend may keep a packed copy (see MatmulSpec.bVersion). */
function weight(w: Tensor): { data: Float32Array; version: number | undefined } {
  const data = readContiguous(w) as Float32Array;
  const owner = w._base ?? w;
  const version = data === w.data && owner.isLeaf && owner.requiresGrad ? owner.version : undefined;
  return { data, version };
}

/** (T, B) masks from the lengths: 1 where t < lengths[b]. Lengths outside 1..T are errors naming the entry. */
function stepMasks(op: string, T: number, B: number, lengths: Int32Array | readonly number[] | null): Float32Array {
  const m = floats(T * B);
  if (lengths === null) return m.fill(1);
  if (lengths.length !== B) throw new RangeError(`${op}: lengths has ${lengths.length} entries, expected one per sequence (B = ${B})`);
  for (let b = 0; b < B; b++) {
    const n = lengths[b]!;
    if (!Number.isInteger(n)) throw new RangeError(`${op}: lengths[${b}] = ${n} is not an integer`);
    if (n > T) throw new RangeError(`${op}: lengths[${b}] = ${n} is longer than the padded batch (T = ${T} steps)`);
    if (n < 1) throw new RangeError(`${op}: lengths[${b}] = ${n}: sequence ${b} is empty (every sequence needs at least one step; drop empty ones from the batch)`);
    for (let t = 0; t < n; t++) m[t * B + b] = 1;
  }
  return m;
}

/** The bias the input projection adds: b_ih + b_hh for every LSTM gate; for the GRU only r and z fold (b_hn stays apart). */
function foldedBias(L: Layer, d: Direction): Float32Array | undefined {
  if (!d.bIh && !d.bHh) return undefined;
  const { G, H } = L;
  const out = floats(G * H);
  if (d.bIh) out.set(readContiguous(d.bIh) as Float32Array);
  if (d.bHh) {
    const bh = readContiguous(d.bHh) as Float32Array;
    const folded = G === 4 ? 4 * H : 2 * H;
    for (let k = 0; k < folded; k++) out[k] += bh[k]!;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The layer's large buffers, reused

/**
 * Spare buffers for the time loop, by length. A training step needs the same large arrays (saved gates, states,
 * gate gradients: tens of MB for a 2-layer bidirectional LSTM) in every layer, step after step. They come from
 * Backend.allocate (inside the WebAssembly memory, so the kernels use them in place), and a fresh block there
 * costs more than the layer's work (zeroing it touches new pages); so backward hands them back here when it is
 * done (and forward at once when nothing will run backward), and the next layer or step takes them again. At
 * most SPARE_BYTES are kept; a spare that is not taken again is an ordinary array the garbage collector frees.
 */
const SPARE_BYTES = 256 * 1024 * 1024;
const spares = { backend: null as Backend | null, bytes: 0, byLength: new Map<number, Float32Array[]>() };

/** n floats of the backend's memory, contents undefined (a spare, or a new block). */
function take(be: Backend, n: number): Float32Array {
  if (spares.backend !== be) {
    spares.backend = be; // a new backend: the old one's spares are of no use to it
    spares.bytes = 0;
    spares.byLength.clear();
  }
  const a = spares.byLength.get(n)?.pop();
  if (!a) return be.allocate(n, false);
  spares.bytes -= 4 * n;
  return a;
}

/** Hand buffers back for reuse (nothing may read them afterwards). */
function giveBack(be: Backend, arrays: readonly (Float32Array | null)[]): void {
  if (spares.backend !== be) return;
  for (const a of arrays) {
    if (!a || spares.bytes + 4 * a.length > SPARE_BYTES) continue;
    const list = spares.byLength.get(a.length) ?? [];
    list.push(a);
    spares.byLength.set(a.length, list);
    spares.bytes += 4 * a.length;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Forward and backward

/** The op's output: per direction a block of out (T, B, H), then h_n (B, H) and, for the LSTM, c_n. */
function runLayer(L: Layer): Float32Array {
  const { cell, G, T, B, I, H } = L;
  const BH = B * H;
  const TBH = T * BH;
  const lstm = cell === 'lstm';
  const block = (lstm ? T + 2 : T + 1) * BH;
  const be = getBackend();
  const all = floats(L.dirs.length * block);
  const ops = L.dirs.map((d, i): RecurrentOperands => {
    // 1. gates = x·W_ihᵀ + biases for all T·B rows at once.
    const gates = take(be, T * B * G * H);
    const bias = foldedBias(L, d);
    const spec: MatmulSpec = { batch: 1, m: T * B, n: G * H, k: I, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0, accumulate: false };
    if (bias) spec.bias = bias;
    if (d.wIhVersion !== undefined) spec.bVersion = d.wIhVersion;
    be.matmul(L.X, d.WIH, gates, spec);
    const h = take(be, (T + 1) * BH);
    const c = lstm ? take(be, (T + 1) * BH) : null;
    const first = d.reverse ? T : 0; // the initial state's slot (the loop writes every other one)
    if (d.h0) h.set(readContiguous(d.h0) as Float32Array, first * BH);
    else h.fill(0, first * BH, first * BH + BH);
    if (c && d.c0) c.set(readContiguous(d.c0) as Float32Array, first * BH);
    else c?.fill(0, first * BH, first * BH + BH);
    const bhn = lstm ? null : d.bHh ? (readContiguous(d.bHh) as Float32Array).slice(2 * H, 3 * H) : floats(H);
    const o: RecurrentOperands = {
      reverse: d.reverse, whh: d.WHH, mask: L.masks, gates, h, c, bhn,
      hn: lstm ? null : take(be, TBH), out: all.subarray(i * block, i * block + TBH),
    };
    d.ops = o;
    return o;
  });
  // 2. Every step of every direction.
  be.recurrentForward(recurrentSpec(L), ops);
  ops.forEach((o, i) => {
    const last = o.reverse ? 0 : T; // the slot the last step wrote
    all.set(o.h.subarray(last * BH, last * BH + BH), i * block + TBH);
    if (o.c) all.set(o.c.subarray(last * BH, last * BH + BH), i * block + TBH + BH);
  });
  if (!needsGrad(L.inputs)) releaseSaved(L, be); // no backward will read them
  return all;
}

function recurrentSpec(L: Layer): RecurrentSpec {
  return { cell: L.cell, T: L.T, B: L.B, H: L.H };
}

function backwardLayer(L: Layer, g: Float32Array, sink: GradSink): void {
  const { cell, G, T, B, I, H } = L;
  const BH = B * H;
  const TBH = T * BH;
  const lstm = cell === 'lstm';
  const block = (lstm ? T + 2 : T + 1) * BH;
  const be = getBackend();
  if (L.dirs.some((d) => d.ops === null)) throw new Error(`${L.cell}Layer: backward ran twice through the same layer (its saved activations are released after the first)`);
  const ops = L.dirs.map((d) => d.ops!);
  // 3a. Backward through time: the gradient of every step's gates (input side, and for the GRU the recurrent side).
  const grads = L.dirs.map((d, i): RecurrentGradients => ({
    dy: g.subarray(i * block, i * block + TBH),
    dh: g.slice(i * block + TBH, i * block + TBH + BH), // the gradient of h_n enters at the last step
    dc: lstm ? g.slice(i * block + TBH + BH, i * block + TBH + 2 * BH) : null,
    dGates: take(be, T * B * G * H),
    dRec: lstm ? null : take(be, T * B * G * H),
    needDh0: d.h0 !== null && d.h0.requiresGrad,
  }));
  be.recurrentBackward(recurrentSpec(L), ops, grads);
  // 3b. The weight gradients and dx, over all T·B rows at once.
  L.dirs.forEach((d, i) => {
    const gr = grads[i]!;
    if (d.h0?.requiresGrad) sink.add(d.h0, gr.dh, true);
    if (d.c0?.requiresGrad) sink.add(d.c0, gr.dc!, true);
    // Input side: with da (T·B, G·H), dx = da·W_ih, dW_ih = daᵀ·x, db_ih = Σ_rows da.
    const dx = L.x.requiresGrad ? sink.alloc(T * B * I, false) : null;
    const dWih = d.wIh.requiresGrad ? floatsToWrite(G * H * I) : null; // linearBackward writes every element
    const wantDbIh = d.bIh?.requiresGrad ?? false;
    const wantDbHh = d.bHh?.requiresGrad ?? false;
    const dbIh = wantDbIh || (lstm && wantDbHh) ? floatsToWrite(G * H) : null;
    if (dx || dWih || dbIh) be.linearBackward(L.X, d.WIH, gr.dGates, linear(T * B, I, G * H, d.wIhVersion), dx, dWih, dbIh);
    if (dx) sink.add(L.x, dx, true);
    if (dWih) sink.add(d.wIh, dWih, true);
    if (wantDbIh) sink.add(d.bIh!, dbIh!, true);
    // Recurrent side, with dRec the gradient of W_hh h + b_hh (the LSTM's is da itself): dW_hh = dRecᵀ·h_prev,
    // h_prev (T·B, H) being the state before each step: slots 0..T−1, or 1..T when reversed.
    const hPrev = d.ops!.h.subarray(d.reverse ? BH : 0, (d.reverse ? BH : 0) + TBH);
    const dWhh = d.wHh.requiresGrad ? floatsToWrite(G * H * H) : null;
    const dbHh = wantDbHh ? (lstm ? dbIh!.slice() : floatsToWrite(G * H)) : null;
    const dRec = gr.dRec ?? gr.dGates;
    if (dWhh || (dbHh && !lstm)) be.linearBackward(hPrev, d.WHH, dRec, linear(T * B, H, G * H, d.wHhVersion), null, dWhh, lstm ? null : dbHh);
    if (dWhh) sink.add(d.wHh, dWhh, true);
    if (dbHh) sink.add(d.bHh!, dbHh, true);
  });
  releaseSaved(L, be);
  giveBack(be, grads.flatMap((gr) => [gr.dGates, gr.dRec]));
}

/** Hand the forward's buffers back for reuse; the layer cannot run backward afterwards. */
function releaseSaved(L: Layer, be: Backend): void {
  for (const d of L.dirs) {
    if (d.ops) giveBack(be, [d.ops.gates, d.ops.h, d.ops.c, d.ops.hn]);
    d.ops = null;
  }
}

/** The gradients of y (rows, out) = x (rows, in)·Wᵀ with W stored (out, in), as linearBackward takes them. */
function linear(rows: number, inF: number, outF: number, wVersion: number | undefined): LinearSpec {
  const spec: LinearSpec = { rows, inF, outF, layout: 'out_in' };
  if (wVersion !== undefined) spec.wVersion = wVersion;
  return spec;
}
