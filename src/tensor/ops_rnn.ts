// Recurrent layers as ops: one LSTM or GRU layer over a whole (padded) batch of sequences, forward and
// backward through time, in PyTorch's gate order and weight layout (torch.nn.LSTM / torch.nn.GRU).
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
// Shapes: T time steps, B batch, I input size, H hidden size, G gates (4 or 3). Everything is time-major:
// x (T, B, I), out (T, B, H), so the rows one time step touches are contiguous.
//
// How a step is computed (the layout is chosen so a step is two backend calls):
//   1. Once per layer: the input part of every gate for every step, Gx = x·W_ihᵀ, as ONE batched matmul
//      with the gates as the batch: W_ih (G·H, I) is G matrices (H, I) one after another, so the output
//      comes out gate-major, Gx (G, T, B, H), and gate g of step t is the contiguous block Gx[g, t].
//   2. Per step: the recurrent part, Gh = h·W_hhᵀ (G, B, H), again one batched matmul over the gates;
//   3. Per step: one row kernel (LSTM_CELL_FORWARD / GRU_CELL_FORWARD) adds Gx[·, t] + Gh + biases, applies
//      the activations, writes the new state and keeps the gate activations for backward.
// Backward walks the steps in reverse with the mirror image (a backward row kernel, then one batched matmul
// for the gradient flowing into the previous state), and computes the weight gradients after the loop as a
// few large matmuls over all T·B rows at once (dW_hh = Σ_t dGhᵀ·h_{t−1} is one product, not T).
//
// Padded batches: `lengths[b]` real steps for sequence b (the rest of its T steps is padding). A padded step
// leaves the state unchanged and outputs 0, as PyTorch's packed sequences do: the final state of a sequence
// is its state after its last real step, and nothing leaks past a sequence's end. The reverse direction
// starts each sequence at its own last real step. Masks are per row (a 'perRow' operand of the kernels), so
// the matmuls still run over the whole batch (simple, and the work a packed batch would save is small when
// lengths are close).
//
// Why a row kernel and not a chain of ops: one LSTM step as ops is ~15 small ops (slice, add, 3 sigmoids,
// tanh, 4 muls, ...) each with its own pass over memory and its own autograd node; fused it is one pass, on
// the backend (SIMD in kernels/rnn.ts), and backward needs only the saved gate activations.
import { getBackend, type MatmulSpec, type RowKernel } from '../backend/index.js';
import { fromOp, type GradSink } from './autograd.js';
import { expectFloat, fmtShape, readContiguous } from './shape.js';
import { Tensor } from './tensor.js';

// ---------------------------------------------------------------------------------------------------------
// The row kernels: one time step of a cell for a (B, H) block of rows (rows = batch entries, cols = hidden
// units). Gate operands are passed one (B, H) block per gate, since the gates are separate blocks in the
// gate-major layout above. mask (perRow) is 1 for a real step of that sequence and 0 for padding.

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * LSTM step, per element (b, j), with a_k = gx_k + gh_k + b_k for k in i, f, g, o:
 *   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o),  c = f·c_prev + i·g,  h = o·tanh(c),  y = h
 * and on a padded step (mask 0): c = c_prev, h = h_prev, y = 0 (the saved gates are then 0).
 * inputs  gx_i gx_f gx_g gx_o (rows), gh_i gh_f gh_g gh_o (rows), b_i b_f b_g b_o (perCol), c_prev, h_prev
 *         (rows), mask (perRow);
 * outputs h, c, y, and the activations i, f, g, o (rows) saved for backward.
 */
export const LSTM_CELL_FORWARD: RowKernel = {
  name: 'lstm_cell_forward',
  inputs: ['rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'perCol', 'perCol', 'perCol', 'perCol', 'rows', 'rows', 'perRow'],
  outputs: ['rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows'],
  reference(rows, H, [xi, xf, xg, xo, hi, hf, hg, ho, bi, bf, bg, bo, cPrev, hPrev, mask], [h, c, y, si, sf, sg, so]) {
    for (let r = 0; r < rows; r++) {
      const real = mask![r] !== 0;
      for (let j = 0; j < H; j++) {
        const e = r * H + j;
        if (!real) {
          c![e] = cPrev![e]!;
          h![e] = hPrev![e]!;
          y![e] = 0;
          si![e] = sf![e] = sg![e] = so![e] = 0;
          continue;
        }
        const i = sigmoid(xi![e]! + hi![e]! + bi![j]!);
        const f = sigmoid(xf![e]! + hf![e]! + bf![j]!);
        const g = Math.tanh(xg![e]! + hg![e]! + bg![j]!);
        const o = sigmoid(xo![e]! + ho![e]! + bo![j]!);
        const cNew = f * cPrev![e]! + i * g;
        const hNew = o * Math.tanh(cNew);
        c![e] = cNew;
        h![e] = hNew;
        y![e] = hNew;
        si![e] = i;
        sf![e] = f;
        sg![e] = g;
        so![e] = o;
      }
    }
  },
};

/**
 * LSTM step backward. The gradient reaching h_t is dh = dy (the output's gradient, real steps only)
 * + Σ_k p_k (the next step's Σ_k da_k·W_hk, as G partial products) + dhPass (passed through padded steps).
 * With tc = tanh(c):
 *   do = dh·tc,  dc_total = dc + dh·o·(1 − tc²),  di = dc_total·g,  dg = dc_total·i,  df = dc_total·c_prev,
 *   dc_prev = dc_total·f,  and through the activations da_i = di·i(1−i), da_f = df·f(1−f),
 *   da_g = dg·(1−g²), da_o = do·o(1−o).
 * On a padded step nothing happened: da = 0, dc_prev = dc, dhPassOut = dh (else dhPassOut = 0: the whole
 * gradient to h_{t−1} then flows through the da's and W_hh).
 * inputs  i f g o (rows, saved), c_prev c (rows), dy (rows), p_i p_f p_g p_o (rows), dhPass dc (rows),
 *         mask (perRow);
 * outputs da_i da_f da_g da_o (rows), dc_prev (rows), dhPassOut (rows).
 */
export const LSTM_CELL_BACKWARD: RowKernel = {
  name: 'lstm_cell_backward',
  inputs: ['rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'perRow'],
  outputs: ['rows', 'rows', 'rows', 'rows', 'rows', 'rows'],
  reference(rows, H, [si, sf, sg, so, cPrev, c, dy, pi, pf, pg, po, dhPass, dc, mask], [dai, daf, dag, dao, dcPrev, dhOut]) {
    for (let r = 0; r < rows; r++) {
      const real = mask![r] !== 0;
      for (let j = 0; j < H; j++) {
        const e = r * H + j;
        const carried = pi![e]! + pf![e]! + pg![e]! + po![e]! + dhPass![e]!;
        if (!real) {
          dai![e] = daf![e] = dag![e] = dao![e] = 0;
          dcPrev![e] = dc![e]!;
          dhOut![e] = carried;
          continue;
        }
        const dh = dy![e]! + carried;
        const i = si![e]!;
        const f = sf![e]!;
        const g = sg![e]!;
        const o = so![e]!;
        const tc = Math.tanh(c![e]!);
        const dct = dc![e]! + dh * o * (1 - tc * tc);
        dai![e] = dct * g * i * (1 - i);
        daf![e] = dct * cPrev![e]! * f * (1 - f);
        dag![e] = dct * i * (1 - g * g);
        dao![e] = dh * tc * o * (1 - o);
        dcPrev![e] = dct * f;
        dhOut![e] = 0;
      }
    }
  },
};

/**
 * GRU step, per element, with b_r = b_ir + b_hr and b_z = b_iz + b_hz folded together beforehand:
 *   r = σ(gx_r + gh_r + b_r),  z = σ(gx_z + gh_z + b_z),  hn = gh_n + b_hn,  n = tanh(gx_n + b_in + r·hn),
 *   h = (1 − z)·n + z·h_prev,  y = h;   padded step: h = h_prev, y = 0 (saved values 0).
 * inputs  gx_r gx_z gx_n (rows), gh_r gh_z gh_n (rows), b_r b_z b_in b_hn (perCol), h_prev (rows), mask
 *         (perRow);
 * outputs h, y, and r, z, n, hn (rows) saved for backward.
 */
export const GRU_CELL_FORWARD: RowKernel = {
  name: 'gru_cell_forward',
  inputs: ['rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'perCol', 'perCol', 'perCol', 'perCol', 'rows', 'perRow'],
  outputs: ['rows', 'rows', 'rows', 'rows', 'rows', 'rows'],
  reference(rows, H, [xr, xz, xn, hr, hz, hnIn, br, bz, bin, bhn, hPrev, mask], [h, y, sr, sz, sn, shn]) {
    for (let r = 0; r < rows; r++) {
      const real = mask![r] !== 0;
      for (let j = 0; j < H; j++) {
        const e = r * H + j;
        if (!real) {
          h![e] = hPrev![e]!;
          y![e] = 0;
          sr![e] = sz![e] = sn![e] = shn![e] = 0;
          continue;
        }
        const rg = sigmoid(xr![e]! + hr![e]! + br![j]!);
        const zg = sigmoid(xz![e]! + hz![e]! + bz![j]!);
        const hn = hnIn![e]! + bhn![j]!;
        const n = Math.tanh(xn![e]! + bin![j]! + rg * hn);
        const hNew = (1 - zg) * n + zg * hPrev![e]!;
        h![e] = hNew;
        y![e] = hNew;
        sr![e] = rg;
        sz![e] = zg;
        sn![e] = n;
        shn![e] = hn;
      }
    }
  },
};

/**
 * GRU step backward, with dh = dy (real steps) + p_r + p_z + p_n + dhPass as for the LSTM:
 *   dn = dh·(1 − z),  dz = dh·(h_prev − n),  dhPassOut = dh·z  (the direct path h_prev → h),
 *   da_n = dn·(1 − n²)   (the gradient of n's pre-activation: also that of gx_n and b_in),
 *   dgh_n = da_n·r       (that of the recurrent part W_hn h + b_hn),
 *   da_r = da_n·hn·r(1 − r),  da_z = dz·z(1 − z).
 * Padded step: all da = 0 and dhPassOut = dh.
 * inputs  r z n hn (rows, saved), h_prev (rows), dy (rows), p_r p_z p_n (rows), dhPass (rows), mask (perRow);
 * outputs da_r da_z da_n (rows), dgh_n (rows), dhPassOut (rows).
 */
export const GRU_CELL_BACKWARD: RowKernel = {
  name: 'gru_cell_backward',
  inputs: ['rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'rows', 'perRow'],
  outputs: ['rows', 'rows', 'rows', 'rows', 'rows'],
  reference(rows, H, [sr, sz, sn, shn, hPrev, dy, pr, pz, pn, dhPass, mask], [dar, daz, dan, dghn, dhOut]) {
    for (let r = 0; r < rows; r++) {
      const real = mask![r] !== 0;
      for (let j = 0; j < H; j++) {
        const e = r * H + j;
        const carried = pr![e]! + pz![e]! + pn![e]! + dhPass![e]!;
        if (!real) {
          dar![e] = daz![e] = dan![e] = dghn![e] = 0;
          dhOut![e] = carried;
          continue;
        }
        const dh = dy![e]! + carried;
        const rg = sr![e]!;
        const zg = sz![e]!;
        const n = sn![e]!;
        const an = dh * (1 - zg) * (1 - n * n);
        dan![e] = an;
        dghn![e] = an * rg;
        dar![e] = an * shn![e]! * rg * (1 - rg);
        daz![e] = dh * (hPrev![e]! - n) * zg * (1 - zg);
        dhOut![e] = dh * zg;
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------------------
// The layer ops

export interface RecurrentLayerOptions {
  /**
   * (B) the real length of each sequence, 1 ≤ lengths[b] ≤ T; steps at and after lengths[b] are padding
   * (state unchanged, output 0). Default: every sequence has all T steps.
   */
  lengths?: Int32Array | readonly number[] | null;
  /** Walk the sequence from its last real step to its first (the second direction of a bidirectional layer). */
  reverse?: boolean;
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
  const L = prepare('lstmLayer', 4, x, wIh, wHh, bIh, bHh, { h0, c0 }, opts);
  const { T, B, H } = L;
  const all = fromOp('lstm', runLSTM(L), [T + 2, B, H], L.inputs, (g, sink) => backwardLSTM(L, g, sink));
  // One op, three results: out is rows 0..T-1 of the op's output, h and c rows T and T + 1 (views).
  return {
    out: all.slice(0, 0, T),
    h: all.slice(0, T, T + 1).reshape([B, H]),
    c: all.slice(0, T + 1, T + 2).reshape([B, H]),
  };
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
  const L = prepare('gruLayer', 3, x, wIh, wHh, bIh, bHh, { h0, c0: null }, opts);
  const { T, B, H } = L;
  const all = fromOp('gru', runGRU(L), [T + 1, B, H], L.inputs, (g, sink) => backwardGRU(L, g, sink));
  return { out: all.slice(0, 0, T), h: all.slice(0, T, T + 1).reshape([B, H]) };
}

// ---------------------------------------------------------------------------------------------------------
// Shared preparation: checks, contiguous operands, masks, and the buffers forward fills for backward.

interface Layer {
  G: number;
  T: number;
  B: number;
  I: number;
  H: number;
  reverse: boolean;
  x: Tensor;
  X: Float32Array; // (T, B, I)
  wIh: Tensor;
  wHh: Tensor;
  bIh: Tensor | null;
  bHh: Tensor | null;
  h0: Tensor | null;
  c0: Tensor | null;
  WIH: Float32Array; // (G·H, I)
  WHH: Float32Array; // (G·H, H)
  wIhVersion: number | undefined;
  wHhVersion: number | undefined;
  /** (T, B) 1 for real steps, 0 for padding. */
  masks: Float32Array;
  /** Inputs of the autograd op. */
  inputs: Tensor[];
  // Filled by forward, read by backward:
  /** (T + 1, B, H) hidden states: the state before step t is slot t (forward) or t + 1 (reverse). */
  S: Float32Array;
  /** (T + 1, B, H) cell states (LSTM), same slots. */
  C: Float32Array;
  /** (G, T, B, H) saved gate values (LSTM i, f, g, o; GRU r, z, n). */
  saved: Float32Array;
  /** (T, B, H) GRU: W_hn h + b_hn of every step. */
  savedHn: Float32Array;
}

function prepare(
  op: string,
  G: number,
  x: Tensor,
  wIh: Tensor,
  wHh: Tensor,
  bIh: Tensor | null,
  bHh: Tensor | null,
  state: { h0: Tensor | null; c0: Tensor | null },
  opts: RecurrentLayerOptions,
): Layer {
  for (const [name, t] of [['x', x], ['weight_ih', wIh], ['weight_hh', wHh]] as const) {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor, got ${typeof t}`);
    expectFloat(op, t, name);
  }
  if (x.ndim !== 3) throw new RangeError(`${op}: x must be (T, B, I) time-major, got shape ${fmtShape(x.shape)}`);
  const [T, B, I] = x.shape as [number, number, number];
  const gates = G === 4 ? 'i, f, g, o' : 'r, z, n';
  if (wHh.ndim !== 2 || wHh.shape[0] !== G * wHh.shape[1]!) {
    throw new RangeError(`${op}: weight_hh has shape ${fmtShape(wHh.shape)}, expected (${G}·H, H) for ${G} gates (${gates})`);
  }
  const H = wHh.shape[1]!;
  if (wIh.ndim !== 2 || wIh.shape[0] !== G * H || wIh.shape[1] !== I) {
    throw new RangeError(`${op}: weight_ih has shape ${fmtShape(wIh.shape)}, expected (${G}·H, I) = [${G * H}, ${I}] (H = ${H} from weight_hh, I = ${I} from x ${fmtShape(x.shape)})`);
  }
  for (const [name, b] of [['bias_ih', bIh], ['bias_hh', bHh]] as const) {
    if (b === null || b === undefined) continue;
    expectFloat(op, b, name);
    if (b.ndim !== 1 || b.shape[0] !== G * H) throw new RangeError(`${op}: ${name} has shape ${fmtShape(b.shape)}, expected [${G * H}] (${G} gates × H = ${H})`);
  }
  for (const [name, s] of [['h0', state.h0], ['c0', state.c0]] as const) {
    if (s === null || s === undefined) continue;
    expectFloat(op, s, name);
    if (s.ndim !== 2 || s.shape[0] !== B || s.shape[1] !== H) throw new RangeError(`${op}: ${name} has shape ${fmtShape(s.shape)}, expected (B, H) = [${B}, ${H}]`);
  }
  if (T === 0) throw new RangeError(`${op}: x has no time steps (shape ${fmtShape(x.shape)}); an empty sequence has nothing to run`);
  const masks = stepMasks(op, T, B, opts.lengths ?? null);
  const h0 = state.h0 ?? null;
  const c0 = state.c0 ?? null;
  const inputs = [x, wIh, wHh, ...[bIh, bHh, h0, c0].filter((t): t is Tensor => t !== null && t !== undefined)];
  const weight = (w: Tensor): { data: Float32Array; version: number | undefined } => {
    const data = readContiguous(w) as Float32Array;
    // A parameter's own storage may be cached packed by the backend (see MatmulSpec.bVersion).
    const owner = w._base ?? w;
    const version = data === w.data && owner.isLeaf && owner.requiresGrad ? owner.version : undefined;
    return { data, version };
  };
  const wi = weight(wIh);
  const wh = weight(wHh);
  return {
    G, T, B, I, H, reverse: opts.reverse ?? false,
    x, X: readContiguous(x) as Float32Array,
    wIh, wHh, bIh: bIh ?? null, bHh: bHh ?? null, h0, c0,
    WIH: wi.data, WHH: wh.data, wIhVersion: wi.version, wHhVersion: wh.version,
    masks, inputs,
    S: new Float32Array((T + 1) * B * H),
    C: G === 4 ? new Float32Array((T + 1) * B * H) : new Float32Array(0),
    saved: new Float32Array(G * T * B * H),
    savedHn: G === 3 ? new Float32Array(T * B * H) : new Float32Array(0),
  };
}

/** (T, B) masks from the lengths: 1 where t < lengths[b]. Lengths outside 1..T are errors naming the entry. */
function stepMasks(op: string, T: number, B: number, lengths: Int32Array | readonly number[] | null): Float32Array {
  const m = new Float32Array(T * B);
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

/** The state slot read before step t, and the one written by it (see Layer.S). */
function slots(L: Layer, t: number): { prev: number; next: number } {
  return L.reverse ? { prev: t + 1, next: t } : { prev: t, next: t + 1 };
}

/** The step processed s-th (s = 0 first). */
function stepAt(L: Layer, s: number): number {
  return L.reverse ? L.T - 1 - s : s;
}

function mm(batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number, bVersion?: number): MatmulSpec {
  const s: MatmulSpec = { batch, m, n, k, transA, transB, aBatchStride, bBatchStride, accumulate: false };
  if (bVersion !== undefined) s.bVersion = bVersion;
  return s;
}

/** Gx (G, T·B, H) = x·W_ihᵀ per gate: W_ih is G matrices (H, I), read transposed, one batch entry each. */
function inputProjection(L: Layer): Float32Array {
  const { G, T, B, I, H } = L;
  const gx = new Float32Array(G * T * B * H);
  getBackend().matmul(L.X, L.WIH, gx, mm(G, T * B, H, I, false, true, 0, H * I, L.wIhVersion));
  return gx;
}

/** The per-gate bias blocks (H each) the forward kernels add, from bias_ih + bias_hh (GRU: b_in, b_hn apart). */
function gateBiases(L: Layer): Float32Array[] {
  const { G, H } = L;
  const bi = L.bIh ? (readContiguous(L.bIh) as Float32Array) : new Float32Array(G * H);
  const bh = L.bHh ? (readContiguous(L.bHh) as Float32Array) : new Float32Array(G * H);
  const out: Float32Array[] = [];
  const folded = G === 4 ? 4 : 2; // LSTM: every gate's two biases add up; GRU: only r and z
  for (let g = 0; g < folded; g++) {
    const b = new Float32Array(H);
    for (let j = 0; j < H; j++) b[j] = bi[g * H + j]! + bh[g * H + j]!;
    out.push(b);
  }
  if (G === 3) out.push(bi.slice(2 * H, 3 * H), bh.slice(2 * H, 3 * H)); // b_in, b_hn
  return out;
}

/** Block k of n-float blocks of a. */
function block(a: Float32Array, k: number, n: number): Float32Array {
  return a.subarray(k * n, (k + 1) * n);
}

/** Puts the initial state in its slot (zeros when none). */
function initState(L: Layer, buf: Float32Array, s0: Tensor | null): void {
  const slot = L.reverse ? L.T : 0;
  if (s0) buf.set(readContiguous(s0) as Float32Array, slot * L.B * L.H);
}

// ---------------------------------------------------------------------------------------------------------
// LSTM forward and backward

function runLSTM(L: Layer): Float32Array {
  const { T, B, H } = L;
  const BH = B * H;
  const TBH = T * BH;
  const be = getBackend();
  const gx = inputProjection(L); // (4, T, B, H)
  const [bi, bf, bg, bo] = gateBiases(L) as [Float32Array, Float32Array, Float32Array, Float32Array];
  initState(L, L.S, L.h0);
  initState(L, L.C, L.c0);
  const out = new Float32Array((T + 2) * BH); // y (T, B, H), then h_n, c_n
  const gh = new Float32Array(4 * BH); // (4, B, H) the recurrent part of one step
  const recurrent = mm(4, B, H, H, false, true, 0, H * H, L.wHhVersion); // h (B, H)·W_hgᵀ for each gate
  for (let s = 0; s < T; s++) {
    const t = stepAt(L, s);
    const { prev, next } = slots(L, t);
    const hPrev = block(L.S, prev, BH);
    if (s === 0 && L.h0 === null) gh.fill(0);
    else be.matmul(hPrev, L.WHH, gh, recurrent);
    be.runRows(
      LSTM_CELL_FORWARD, B, H,
      [
        block(gx, t, BH), block(gx, T + t, BH), block(gx, 2 * T + t, BH), block(gx, 3 * T + t, BH),
        block(gh, 0, BH), block(gh, 1, BH), block(gh, 2, BH), block(gh, 3, BH),
        bi, bf, bg, bo, block(L.C, prev, BH), hPrev, block(L.masks, t, B),
      ],
      [
        block(L.S, next, BH), block(L.C, next, BH), block(out, t, BH),
        block(L.saved, t, BH), block(L.saved, T + t, BH), block(L.saved, 2 * T + t, BH), block(L.saved, 3 * T + t, BH),
      ],
    );
  }
  const last = L.reverse ? 0 : T; // the slot written by the last step
  out.set(block(L.S, last, BH), TBH);
  out.set(block(L.C, last, BH), TBH + BH);
  return out;
}

function backwardLSTM(L: Layer, g: Float32Array, sink: GradSink): void {
  const { T, B, H } = L;
  const BH = B * H;
  const TBH = T * BH;
  const be = getBackend();
  const da = sink.alloc(4 * TBH, false); // (4, T, B, H) gradients of the gate pre-activations; every block is written
  const p = new Float32Array(4 * BH); // (4, B, H) partial products da_k·W_hk reaching the previous state
  const dk = new Float32Array(4 * BH); // (4, B, H) one step's da, contiguous for the matmul
  let dhPass = g.slice(TBH, TBH + BH); // the gradient of h_n enters at the last processed step
  let dc = g.slice(TBH + BH, TBH + 2 * BH);
  let dhPassNext = new Float32Array(BH);
  let dcNext = new Float32Array(BH);
  const back = mm(4, B, H, H, false, false, BH, H * H, L.wHhVersion); // da_k (B, H)·W_hk (H, H)
  const needH0 = L.h0 !== null && L.h0.requiresGrad;
  for (let s = T - 1; s >= 0; s--) {
    const t = stepAt(L, s);
    const { prev, next } = slots(L, t);
    be.runRows(
      LSTM_CELL_BACKWARD, B, H,
      [
        block(L.saved, t, BH), block(L.saved, T + t, BH), block(L.saved, 2 * T + t, BH), block(L.saved, 3 * T + t, BH),
        block(L.C, prev, BH), block(L.C, next, BH), block(g, t, BH),
        block(p, 0, BH), block(p, 1, BH), block(p, 2, BH), block(p, 3, BH), dhPass, dc, block(L.masks, t, B),
      ],
      [block(da, t, BH), block(da, T + t, BH), block(da, 2 * T + t, BH), block(da, 3 * T + t, BH), dcNext, dhPassNext],
    );
    [dc, dcNext] = [dcNext, dc];
    [dhPass, dhPassNext] = [dhPassNext, dhPass];
    if (s > 0 || needH0) {
      for (let k = 0; k < 4; k++) dk.set(block(da, k * T + t, BH), k * BH);
      be.matmul(dk, L.WHH, p, back);
    }
  }
  if (L.h0?.requiresGrad) {
    const dh0 = new Float32Array(BH);
    for (let e = 0; e < BH; e++) dh0[e] = p[e]! + p[BH + e]! + p[2 * BH + e]! + p[3 * BH + e]! + dhPass[e]!;
    sink.add(L.h0, dh0, true);
  }
  if (L.c0?.requiresGrad) sink.add(L.c0, dc, true);
  weightGradients(L, da, da, sink);
}

// ---------------------------------------------------------------------------------------------------------
// GRU forward and backward

function runGRU(L: Layer): Float32Array {
  const { T, B, H } = L;
  const BH = B * H;
  const be = getBackend();
  const gx = inputProjection(L); // (3, T, B, H)
  const [br, bz, bin, bhn] = gateBiases(L) as [Float32Array, Float32Array, Float32Array, Float32Array];
  initState(L, L.S, L.h0);
  const out = new Float32Array((T + 1) * BH); // y (T, B, H), then h_n
  const gh = new Float32Array(3 * BH);
  const recurrent = mm(3, B, H, H, false, true, 0, H * H, L.wHhVersion);
  for (let s = 0; s < T; s++) {
    const t = stepAt(L, s);
    const { prev, next } = slots(L, t);
    const hPrev = block(L.S, prev, BH);
    if (s === 0 && L.h0 === null) gh.fill(0);
    else be.matmul(hPrev, L.WHH, gh, recurrent);
    be.runRows(
      GRU_CELL_FORWARD, B, H,
      [
        block(gx, t, BH), block(gx, T + t, BH), block(gx, 2 * T + t, BH),
        block(gh, 0, BH), block(gh, 1, BH), block(gh, 2, BH),
        br, bz, bin, bhn, hPrev, block(L.masks, t, B),
      ],
      [
        block(L.S, next, BH), block(out, t, BH),
        block(L.saved, t, BH), block(L.saved, T + t, BH), block(L.saved, 2 * T + t, BH), block(L.savedHn, t, BH),
      ],
    );
  }
  out.set(block(L.S, L.reverse ? 0 : T, BH), T * BH);
  return out;
}

function backwardGRU(L: Layer, g: Float32Array, sink: GradSink): void {
  const { T, B, H } = L;
  const BH = B * H;
  const TBH = T * BH;
  const be = getBackend();
  // Gradients of the input-side pre-activations (3, T, B, H) and of the recurrent side. The two agree for r
  // and z; for n the recurrent side is da_n·r (r multiplies W_hn h + b_hn), kept in its own block.
  const dx3 = sink.alloc(3 * TBH, false);
  const dh3 = new Float32Array(3 * TBH);
  const p = new Float32Array(3 * BH);
  const dk = new Float32Array(3 * BH);
  let dhPass = g.slice(TBH, TBH + BH);
  let dhPassNext = new Float32Array(BH);
  const back = mm(3, B, H, H, false, false, BH, H * H, L.wHhVersion);
  const needH0 = L.h0 !== null && L.h0.requiresGrad;
  for (let s = T - 1; s >= 0; s--) {
    const t = stepAt(L, s);
    const { prev } = slots(L, t);
    be.runRows(
      GRU_CELL_BACKWARD, B, H,
      [
        block(L.saved, t, BH), block(L.saved, T + t, BH), block(L.saved, 2 * T + t, BH), block(L.savedHn, t, BH),
        block(L.S, prev, BH), block(g, t, BH), block(p, 0, BH), block(p, 1, BH), block(p, 2, BH), dhPass, block(L.masks, t, B),
      ],
      [block(dx3, t, BH), block(dx3, T + t, BH), block(dx3, 2 * T + t, BH), block(dh3, 2 * T + t, BH), dhPassNext],
    );
    [dhPass, dhPassNext] = [dhPassNext, dhPass];
    dh3.set(block(dx3, t, BH), t * BH);
    dh3.set(block(dx3, T + t, BH), TBH + t * BH);
    if (s > 0 || needH0) {
      for (let k = 0; k < 3; k++) dk.set(block(dh3, k * T + t, BH), k * BH);
      be.matmul(dk, L.WHH, p, back);
    }
  }
  if (L.h0?.requiresGrad) {
    const dh0 = new Float32Array(BH);
    for (let e = 0; e < BH; e++) dh0[e] = p[e]! + p[BH + e]! + p[2 * BH + e]! + dhPass[e]!;
    sink.add(L.h0, dh0, true);
  }
  weightGradients(L, dx3, dh3, sink);
}

// ---------------------------------------------------------------------------------------------------------
// Gradients of x and the weights, from every step's gate gradients at once

/**
 * With dIn (G, T·B, H) the gradients of the input-side pre-activations and dRec those of the recurrent side
 * (the same array for the LSTM):
 *   dW_ih[g] = dIn[g]ᵀ·x  (H, I)         dW_hh[g] = dRec[g]ᵀ·h_prev  (H, H), h_prev the state before each step
 *   db_ih[g] = Σ_rows dIn[g]             db_hh[g] = Σ_rows dRec[g]
 *   dx = Σ_g dIn[g]·W_ih[g]  (T·B, I)
 * Each is one batched matmul over the gates (plus a sum over them for dx).
 */
function weightGradients(L: Layer, dIn: Float32Array, dRec: Float32Array, sink: GradSink): void {
  const { G, T, B, I, H } = L;
  const TB = T * B;
  const TBH = TB * H;
  const be = getBackend();
  if (L.wIh.requiresGrad) {
    const dW = new Float32Array(G * H * I);
    be.matmul(dIn, L.X, dW, mm(G, H, I, TB, true, false, TBH, 0));
    sink.add(L.wIh, dW, true);
  }
  if (L.wHh.requiresGrad) {
    const hPrev = L.S.subarray(L.reverse ? B * H : 0, (L.reverse ? B * H : 0) + TBH); // (T, B, H) state before step t
    const dW = new Float32Array(G * H * H);
    be.matmul(dRec, hPrev, dW, mm(G, H, H, TB, true, false, TBH, 0));
    sink.add(L.wHh, dW, true);
  }
  const colSums = (d: Float32Array): Float32Array => {
    const acc = new Float64Array(G * H);
    for (let k = 0; k < G; k++) {
      for (let r = 0; r < TB; r++) {
        const o = k * TBH + r * H;
        for (let j = 0; j < H; j++) acc[k * H + j] += d[o + j]!;
      }
    }
    return Float32Array.from(acc);
  };
  if (L.bIh?.requiresGrad) sink.add(L.bIh, colSums(dIn), true);
  if (L.bHh?.requiresGrad) sink.add(L.bHh, colSums(dRec), true); // its own array: the sink may add into it
  if (L.x.requiresGrad) {
    const parts = new Float32Array(G * TB * I); // (G, T·B, I): dIn[g]·W_ih[g], W_ih[g] (H, I) read as it is
    be.matmul(dIn, L.WIH, parts, mm(G, TB, I, H, false, false, TBH, H * I, L.wIhVersion));
    const dx = sink.alloc(TB * I, false);
    const n = TB * I;
    for (let e = 0; e < n; e++) {
      let s = parts[e]!;
      for (let k = 1; k < G; k++) s += parts[k * n + e]!;
      dx[e] = s;
    }
    sink.add(L.x, dx, true);
  }
}
