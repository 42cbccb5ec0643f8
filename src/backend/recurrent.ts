// The time loop of a recurrent layer (LSTM or GRU) as one backend call: one or several independent directions
// (the two of a bidirectional layer), forward through time, and backward through time. This file holds the
// operands' contract, the shape checks both backends run, and the reference: the loop in plain TypeScript with
// every formula written out, which the 'js' backend runs and the WebAssembly kernels (kernels/rnn.ts) are
// tested against.
//
//   LSTM (gates i, f, g, o; W_hh (4H, H)), per step t with a = gates_t + h_{t−1}·W_hhᵀ:
//     i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)     c_t = f·c_{t−1} + i·g     h_t = o·tanh(c_t)
//   GRU (gates r, z, n; W_hh (3H, H)), with gh = h_{t−1}·W_hhᵀ:
//     r = σ(gx_r + gh_r)  z = σ(gx_z + gh_z)  hn = gh_n + b_hn  n = tanh(gx_n + r·hn)  h_t = (1 − z)·n + z·h_{t−1}
//
// What the caller (src/tensor/ops_rnn.ts) does around it: the input side of every gate for every step,
// gates = x·W_ihᵀ + biases, is one large matmul before the loop, and the weight gradients are a few large
// matmuls after it; what is left inside is inherently sequential — one small (B, H)·(H, G·H) product and one
// pass over the gates per step. As one call, W_hh is prepared once, nothing is copied per step, and the
// directions can run on different threads side by side (see src/backend/wasm/recurrent.ts).
//
// Layout (G = 4 for the LSTM, 3 for the GRU): everything time-major and contiguous; a row of gates holds the
// G gates of one batch entry side by side, H floats each (PyTorch's gate order). The state arrays have T + 1
// slots: step t reads slot t and writes slot t + 1; a reverse direction walks t = T−1 … 0, reading slot t + 1
// and writing slot t, so its initial state sits in slot T and its final one in slot 0.
//
// Padding: mask (T, B) is 1 where step t of sequence b is real and 0 past its end. A padded step leaves the
// state unchanged (h and c pass through), outputs 0 and saves zeros; in backward its gate gradients are 0 and
// the gradient of the state passes through to the previous one. That is what PyTorch computes on a packed
// sequence.

/** Which cell: torch.nn.LSTM's or torch.nn.GRU's. */
export type RecurrentCell = 'lstm' | 'gru';

/** Gates per cell. */
export const CELL_GATES: Record<RecurrentCell, number> = { lstm: 4, gru: 3 };

/** The sizes every direction of one call shares. */
export interface RecurrentSpec {
  cell: RecurrentCell;
  /** Time steps. */
  T: number;
  /** Sequences in the batch. */
  B: number;
  /** Hidden size. */
  H: number;
}

/** One direction's arrays (contiguous, row-major); "in", "out" and "in/out" say who writes what. */
export interface RecurrentOperands {
  /** Walk the steps from T−1 down to 0. */
  reverse: boolean;
  /** in: (G·H, H) weight_hh in PyTorch's layout (gate-major rows). */
  whh: Float32Array;
  /** in: (T, B) 1 for a real step, 0 for padding. */
  mask: Float32Array;
  /**
   * in/out: (T, B, G·H). In: the input side of the pre-activations, x·W_ihᵀ + b_ih (+ b_hh for every LSTM gate
   * and for the GRU's r and z; b_hn stays apart, see bhn). Out: the activations (LSTM i, f, g, o; GRU r, z, n),
   * which backward reads; 0 at padded steps.
   */
  gates: Float32Array;
  /** in/out: (T + 1, B, H) hidden states: the initial one in its slot (0, or T when reverse); forward fills the rest. */
  h: Float32Array;
  /** in/out, LSTM: (T + 1, B, H) cell states, the same slots. Null for the GRU. */
  c: Float32Array | null;
  /** GRU: in (H) b_hn (the bias inside r·(W_hn h + b_hn)). Null for the LSTM. */
  bhn: Float32Array | null;
  /** out, GRU: (T, B, H) hn = W_hn h_{t−1} + b_hn of every step (backward needs it). Null for the LSTM. */
  hn: Float32Array | null;
  /** out: (T, B, H) h_t at real steps, 0 at padded ones. */
  out: Float32Array;
}

/** One direction's gradients for recurrentBackward (with the same direction's RecurrentOperands after forward). */
export interface RecurrentGradients {
  /** in: (T, B, H) the gradient of out. */
  dy: Float32Array;
  /** in/out: (B, H) the gradient of the final hidden state; on return that of the initial one (if needDh0). */
  dh: Float32Array;
  /** in/out, LSTM: (B, H) the same for the cell state. Null for the GRU. */
  dc: Float32Array | null;
  /** out: (T, B, G·H) the gradient of the pre-activations' input side (of `gates` as forward received it). */
  dGates: Float32Array;
  /**
   * out, GRU: (T, B, 3H) the gradient of the recurrent side W_hh h + b_hh (it differs from dGates in the n
   * block, where r multiplies the recurrent part). Null for the LSTM, where the two are the same: dGates.
   */
  dRec: Float32Array | null;
  /** Whether the initial state's dh is wanted (if not, the last step's product with W_hh is skipped). */
  needDh0: boolean;
}

/** The shape rules of a recurrent call (both backends check them); errors name the array and the numbers. */
export function checkRecurrent(op: string, spec: RecurrentSpec, dirs: readonly RecurrentOperands[], grads?: readonly RecurrentGradients[]): void {
  const { cell, T, B, H } = spec;
  if (cell !== 'lstm' && cell !== 'gru') throw new RangeError(`${op}: spec.cell must be 'lstm' or 'gru', got '${String(cell)}'`);
  for (const [name, v] of [['T', T], ['B', B], ['H', H]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${op}: spec.${name} must be a positive integer, got ${v}`);
  }
  if (grads && grads.length !== dirs.length) throw new RangeError(`${op}: ${grads.length} gradient sets for ${dirs.length} directions`);
  const G = CELL_GATES[cell];
  const lstm = cell === 'lstm';
  const need = (d: number, name: string, a: Float32Array | null, n: number, dims: string): void => {
    if (!a) throw new RangeError(`${op}: direction ${d}: ${name} is missing (a ${cell.toUpperCase()} needs ${dims})`);
    if (a.length < n) throw new RangeError(`${op}: direction ${d}: ${name} has ${a.length} elements, ${dims} = ${n} needed`);
  };
  dirs.forEach((o, d) => {
    need(d, 'whh', o.whh, G * H * H, `(${G}·H, H) = (${G * H}, ${H})`);
    need(d, 'mask', o.mask, T * B, `(T, B) = (${T}, ${B})`);
    need(d, 'gates', o.gates, T * B * G * H, `(T, B, ${G}·H) = (${T}, ${B}, ${G * H})`);
    need(d, 'h', o.h, (T + 1) * B * H, `(T + 1, B, H) = (${T + 1}, ${B}, ${H})`);
    need(d, 'out', o.out, T * B * H, `(T, B, H) = (${T}, ${B}, ${H})`);
    if (lstm) need(d, 'c', o.c, (T + 1) * B * H, `(T + 1, B, H) = (${T + 1}, ${B}, ${H})`);
    else {
      need(d, 'bhn', o.bhn, H, `(H) = (${H})`);
      need(d, 'hn', o.hn, T * B * H, `(T, B, H) = (${T}, ${B}, ${H})`);
    }
    const g = grads?.[d];
    if (!g) return;
    need(d, 'dy', g.dy, T * B * H, `(T, B, H) = (${T}, ${B}, ${H})`);
    need(d, 'dh', g.dh, B * H, `(B, H) = (${B}, ${H})`);
    need(d, 'dGates', g.dGates, T * B * G * H, `(T, B, ${G}·H) = (${T}, ${B}, ${G * H})`);
    if (lstm) need(d, 'dc', g.dc, B * H, `(B, H) = (${B}, ${H})`);
    else need(d, 'dRec', g.dRec, T * B * G * H, `(T, B, 3·H) = (${T}, ${B}, ${G * H})`);
  });
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** The state slot step t reads, and the one it writes. */
function slots(reverse: boolean, t: number): { prev: number; next: number } {
  return reverse ? { prev: t + 1, next: t } : { prev: t, next: t + 1 };
}

/** pre[k] += Σ_j h[hOff + j]·W_hh[k, j] for k < G·H: one row's recurrent part h·W_hhᵀ (float64 sums). */
function addRecurrent(pre: Float64Array, h: Float32Array, hOff: number, whh: Float32Array, H: number): void {
  for (let k = 0; k < pre.length; k++) {
    let s = 0;
    for (let j = 0; j < H; j++) s += h[hOff + j]! * whh[k * H + j]!;
    pre[k] += s;
  }
}

/**
 * The forward time loop, reference version: for each direction, each step (in the direction's order), each
 * batch entry, the formulas in this file's header. Example: `recurrentForwardReference({ cell: 'lstm', T, B,
 * H }, [fwd, rev])`. Writes gates (activations), h and c (every slot), hn (GRU) and out.
 */
export function recurrentForwardReference(spec: RecurrentSpec, dirs: readonly RecurrentOperands[]): void {
  checkRecurrent('recurrentForward', spec, dirs);
  const { cell, T, B, H } = spec;
  const G = CELL_GATES[cell];
  for (const d of dirs) {
    const pre = new Float64Array(G * H); // one row's pre-activations
    for (let s = 0; s < T; s++) {
      const t = d.reverse ? T - 1 - s : s;
      const { prev, next } = slots(d.reverse, t);
      for (let b = 0; b < B; b++) {
        const hp = (prev * B + b) * H; // this row in the state read, the state written, the output
        const hq = (next * B + b) * H;
        const o = (t * B + b) * H;
        const g0 = (t * B + b) * G * H;
        if (d.mask[t * B + b] === 0) {
          // Padding: the state passes through; output, saved gates (and hn) are 0.
          for (let j = 0; j < H; j++) {
            d.h[hq + j] = d.h[hp + j]!;
            if (d.c) d.c[hq + j] = d.c[hp + j]!;
            if (d.hn) d.hn[o + j] = 0;
            d.out[o + j] = 0;
          }
          d.gates.fill(0, g0, g0 + G * H);
          continue;
        }
        if (cell === 'lstm') {
          for (let k = 0; k < G * H; k++) pre[k] = d.gates[g0 + k]!;
          addRecurrent(pre, d.h, hp, d.whh, H); // a = x·W_ihᵀ + b + h·W_hhᵀ
          const c = d.c!;
          for (let j = 0; j < H; j++) {
            const i = sigmoid(pre[j]!);
            const f = sigmoid(pre[H + j]!);
            const g = Math.tanh(pre[2 * H + j]!);
            const og = sigmoid(pre[3 * H + j]!);
            const cNew = f * c[hp + j]! + i * g;
            const hNew = og * Math.tanh(cNew);
            c[hq + j] = cNew;
            d.h[hq + j] = hNew;
            d.out[o + j] = hNew;
            d.gates[g0 + j] = i;
            d.gates[g0 + H + j] = f;
            d.gates[g0 + 2 * H + j] = g;
            d.gates[g0 + 3 * H + j] = og;
          }
        } else {
          pre.fill(0);
          addRecurrent(pre, d.h, hp, d.whh, H); // gh = h·W_hhᵀ
          for (let j = 0; j < H; j++) {
            const r = sigmoid(d.gates[g0 + j]! + pre[j]!);
            const z = sigmoid(d.gates[g0 + H + j]! + pre[H + j]!);
            const hn = pre[2 * H + j]! + d.bhn![j]!;
            const n = Math.tanh(d.gates[g0 + 2 * H + j]! + r * hn);
            const hNew = (1 - z) * n + z * d.h[hp + j]!;
            d.h[hq + j] = hNew;
            d.out[o + j] = hNew;
            d.hn![o + j] = hn;
            d.gates[g0 + j] = r;
            d.gates[g0 + H + j] = z;
            d.gates[g0 + 2 * H + j] = n;
          }
        }
      }
    }
  }
}

/**
 * The backward time loop, reference version (after recurrentForwardReference on the same operands). Steps run
 * in the reverse of the forward's order; dh is the gradient reaching h_t: dy_t plus what step t + 1 sent back.
 *   LSTM, tc = tanh(c_t):  dc_total = dc + dh·o·(1 − tc²)
 *     da_i = dc_total·g·i(1 − i)   da_f = dc_total·c_{t−1}·f(1 − f)   da_g = dc_total·i·(1 − g²)
 *     da_o = dh·tc·o(1 − o)        dc_{t−1} = dc_total·f               dh_{t−1} = da·W_hh
 *   GRU:  da_n = dh·(1 − z)·(1 − n²)   da_r = da_n·hn·r(1 − r)   da_z = dh·(h_{t−1} − n)·z(1 − z)
 *     input side (da_r, da_z, da_n), recurrent side (da_r, da_z, da_n·r),  dh_{t−1} = dh·z + dRec·W_hh
 * Padded steps: da = 0 and dh, dc pass through. Example: `recurrentBackwardReference(spec, [fwd], [grads])`.
 */
export function recurrentBackwardReference(spec: RecurrentSpec, dirs: readonly RecurrentOperands[], grads: readonly RecurrentGradients[]): void {
  checkRecurrent('recurrentBackward', spec, dirs, grads);
  const { cell, T, B, H } = spec;
  const G = CELL_GATES[cell];
  dirs.forEach((d, di) => {
    const gr = grads[di]!;
    let dh = Float64Array.from(gr.dh.subarray(0, B * H));
    const dc = cell === 'lstm' ? Float64Array.from(gr.dc!.subarray(0, B * H)) : null;
    const dRec = cell === 'lstm' ? gr.dGates : gr.dRec!;
    for (let s = T - 1; s >= 0; s--) {
      const t = d.reverse ? T - 1 - s : s;
      const { prev, next } = slots(d.reverse, t);
      const dPrev = new Float64Array(B * H); // the gradient reaching h_{t−1}
      for (let b = 0; b < B; b++) {
        const r0 = b * H;
        const g0 = (t * B + b) * G * H;
        const o = (t * B + b) * H;
        if (d.mask[t * B + b] === 0) {
          gr.dGates.fill(0, g0, g0 + G * H);
          dRec.fill(0, g0, g0 + G * H);
          for (let j = 0; j < H; j++) dPrev[r0 + j] = dh[r0 + j]!;
          continue;
        }
        for (let j = 0; j < H; j++) {
          const dhj = gr.dy[o + j]! + dh[r0 + j]!;
          if (cell === 'lstm') {
            const i = d.gates[g0 + j]!;
            const f = d.gates[g0 + H + j]!;
            const g = d.gates[g0 + 2 * H + j]!;
            const og = d.gates[g0 + 3 * H + j]!;
            const tc = Math.tanh(d.c![(next * B + b) * H + j]!);
            const dct = dc![r0 + j]! + dhj * og * (1 - tc * tc);
            gr.dGates[g0 + j] = dct * g * i * (1 - i);
            gr.dGates[g0 + H + j] = dct * d.c![(prev * B + b) * H + j]! * f * (1 - f);
            gr.dGates[g0 + 2 * H + j] = dct * i * (1 - g * g);
            gr.dGates[g0 + 3 * H + j] = dhj * tc * og * (1 - og);
            dc![r0 + j] = dct * f;
          } else {
            const r = d.gates[g0 + j]!;
            const z = d.gates[g0 + H + j]!;
            const n = d.gates[g0 + 2 * H + j]!;
            const an = dhj * (1 - z) * (1 - n * n);
            const ar = an * d.hn![o + j]! * r * (1 - r);
            const az = dhj * (d.h[(prev * B + b) * H + j]! - n) * z * (1 - z);
            gr.dGates[g0 + j] = dRec[g0 + j] = ar;
            gr.dGates[g0 + H + j] = dRec[g0 + H + j] = az;
            gr.dGates[g0 + 2 * H + j] = an;
            dRec[g0 + 2 * H + j] = an * r;
            dPrev[r0 + j] = dhj * z;
          }
        }
        // dh_{t−1} += dRec_t·W_hh: row b of the recurrent-side gradient through the (G·H, H) weight.
        for (let k = 0; k < G * H; k++) {
          const a = dRec[g0 + k]!;
          if (a === 0) continue;
          for (let j = 0; j < H; j++) dPrev[r0 + j] += a * d.whh[k * H + j]!;
        }
      }
      dh = dPrev;
    }
    gr.dh.set(dh);
    if (dc) gr.dc!.set(dc);
  });
}
