// Recurrent layers: LSTM and GRU as torch.nn.LSTM and torch.nn.GRU define them — the same gate order, the
// same parameter names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, and *_reverse for the backward
// direction of a bidirectional layer), the same initialisation — so a state dict saved by PyTorch loads by
// name and gives the same outputs.
//
//   input (T, B, I) ──layer 0 (forward →, backward ← when bidirectional)──▶ (T, B, D·H) ──dropout──▶
//         layer 1 ──▶ … ──▶ output (T, B, D·H),  h_n (and c_n for the LSTM) (L·D, B, H)
//
// Shapes: T time steps, B batch, I input size, H hidden size, L layers, D directions (1 or 2). The input is
// time-major (T, B, I) unless batchFirst (B, T, I), as in PyTorch. h_n[l·D + d] is the final state of layer l,
// direction d: for the forward direction the state after each sequence's last real step, for the backward
// direction the state after step 0.
//
// Padded batches: `lengths` (B) gives each sequence's real length; the padded steps of a sequence neither
// change its state nor produce output (0), exactly what PyTorch computes on a packed sequence
// (pack_padded_sequence → LSTM → pad_packed_sequence). The math of one layer, both directions, forward and
// backward through time, is one op (lstmDirections / gruDirections in src/tensor/ops_rnn.ts, which lets the
// backend run the two directions side by side); this file stacks the layers.
import { cat, dropout, fromStorage, getDefaultRng, gruDirections, lstmDirections, rand, stack, zeros, type RecurrentDirection, type Rng, Tensor } from '../tensor/index.js';
import { Module } from './module.js';
import { setInitEnabled } from './layers.js';

export interface RNNOptions {
  inputSize: number;
  hiddenSize: number;
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** bias_ih and bias_hh in every layer (default true). */
  bias?: boolean;
  /** Input and output are (B, T, ·) instead of (T, B, ·) (default false, as PyTorch). */
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last, while training (default 0). */
  dropout?: number;
  /** A second direction per layer, reading the sequence backwards; outputs are concatenated (default false). */
  bidirectional?: boolean;
  rng?: Rng;
}

export interface RNNForwardOptions {
  /** (L·D, B, H) initial hidden states; zeros when omitted. */
  h0?: Tensor | null;
  /** (L·D, B, H) initial cell states (LSTM only); zeros when omitted. */
  c0?: Tensor | null;
  /** (B) real length of each sequence (1..T); the rest is padding. Default: all T steps are real. */
  lengths?: Int32Array | readonly number[] | null;
  /** Random numbers for the dropout between layers. */
  rng?: Rng;
}

export interface RNNOutput {
  /** (T, B, D·H), or (B, T, D·H) with batchFirst: the last layer's hidden state at every step (0 at padding). */
  output: Tensor;
  /** (L·D, B, H) final hidden state of every layer and direction. */
  h_n: Tensor;
}

export interface LSTMOutput extends RNNOutput {
  /** (L·D, B, H) final cell state of every layer and direction. */
  c_n: Tensor;
}

/** A tensor of a state dict as a file reader gives it (a Tensor, read through its strides, fits too). */
export interface StateTensor {
  readonly data: Float32Array | Int32Array | Uint8Array;
  readonly shape: readonly number[];
}

type Mode = 'LSTM' | 'GRU';
const GATES: Record<Mode, { count: number; names: string }> = {
  LSTM: { count: 4, names: 'i, f, g, o' },
  GRU: { count: 3, names: 'r, z, n' },
};

/**
 * What LSTM and GRU share: the parameters under PyTorch's names, the stacking of layers and directions, and
 * state-dict loading with errors that explain gate sizes. The cell math differs and lives in the two ops.
 */
class RecurrentStack extends Module {
  readonly mode: Mode;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly hasBias: boolean;
  readonly batchFirst: boolean;
  readonly dropoutP: number;
  readonly bidirectional: boolean;
  private readonly _rng: Rng | undefined;

  constructor(mode: Mode, opts: RNNOptions) {
    super();
    const { inputSize, hiddenSize, numLayers = 1, bias = true, batchFirst = false, dropout: p = 0, bidirectional = false } = opts;
    for (const [name, v] of [['inputSize', inputSize], ['hiddenSize', hiddenSize], ['numLayers', numLayers]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${mode}: ${name} must be a positive integer, got ${v}`);
    }
    if (!(p >= 0 && p < 1)) throw new RangeError(`${mode}: dropout must be in [0, 1), got ${p}`);
    this.mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.numLayers = numLayers;
    this.hasBias = bias;
    this.batchFirst = batchFirst;
    this.dropoutP = p;
    this.bidirectional = bidirectional;
    this._rng = opts.rng;
    // PyTorch's init: every weight and bias uniform in ±1/√H. The layers' global switch (setInitEnabled)
    // leaves zeros instead, for models whose weights are loaded right after.
    const rng = opts.rng ?? getDefaultRng();
    const k = 1 / Math.sqrt(hiddenSize);
    const init = setInitEnabled(true); // read the switch (and put it back at once)
    setInitEnabled(init);
    for (const [name, shape] of this.parameterShapes()) {
      const t = init ? rand(shape, { low: -k, high: k, rng, requiresGrad: true }) : zeros(shape, { requiresGrad: true });
      (this as unknown as Record<string, Tensor>)[name] = t; // a field under the checkpoint's name
    }
  }

  /** D: 2 when bidirectional. */
  get directions(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** Every parameter's name and shape, in PyTorch's order (per layer, per direction: w_ih, w_hh, b_ih, b_hh). */
  parameterShapes(): [string, number[]][] {
    const G = GATES[this.mode].count;
    const H = this.hiddenSize;
    const out: [string, number[]][] = [];
    for (let l = 0; l < this.numLayers; l++) {
      const I = l === 0 ? this.inputSize : H * this.directions;
      for (let d = 0; d < this.directions; d++) {
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
        out.push([`weight_ih${sfx}`, [G * H, I]], [`weight_hh${sfx}`, [G * H, H]]);
        if (this.hasBias) out.push([`bias_ih${sfx}`, [G * H]], [`bias_hh${sfx}`, [G * H]]);
      }
    }
    return out;
  }

  /** The parameter called `name` (read by name each time: loading a checkpoint may replace it). */
  protected param(name: string): Tensor {
    return (this as unknown as Record<string, Tensor>)[name]!;
  }

  protected optionalParam(name: string): Tensor | null {
    return this.hasBias ? this.param(name) : null;
  }

  /** The stack of layers; `layer` runs the directions of one layer (as one op) and returns one result per direction. */
  protected runStack(
    input: Tensor,
    opts: RNNForwardOptions,
    layer: (x: Tensor, dirs: RecurrentDirection[]) => { out: Tensor; h: Tensor; c?: Tensor }[],
  ): { output: Tensor; hs: Tensor[]; cs: Tensor[] } {
    const m = this.mode;
    if (!(input instanceof Tensor) || input.ndim !== 3) {
      throw new RangeError(`${m}: input must be a 3-D Tensor (${this.batchFirst ? 'B, T, I' : 'T, B, I'}), got ${input instanceof Tensor ? `shape [${input.shape.join(', ')}]` : typeof input}`);
    }
    const x = this.batchFirst ? input.transpose(0, 1) : input; // (T, B, I)
    const [, B, I] = x.shape as [number, number, number];
    if (I !== this.inputSize) throw new RangeError(`${m}: input has ${I} features per step, the layer was built for inputSize ${this.inputSize}`);
    const LD = this.numLayers * this.directions;
    for (const [name, s] of [['h0', opts.h0], ['c0', opts.c0]] as const) {
      if (s === null || s === undefined) continue;
      if (s.ndim !== 3 || s.shape[0] !== LD || s.shape[1] !== B || s.shape[2] !== this.hiddenSize) {
        throw new RangeError(`${m}: ${name} has shape [${s.shape.join(', ')}], expected (L·D, B, H) = [${LD}, ${B}, ${this.hiddenSize}]`);
      }
    }
    const hs: Tensor[] = [];
    const cs: Tensor[] = [];
    let layerIn = x;
    for (let l = 0; l < this.numLayers; l++) {
      const dirs: RecurrentDirection[] = [];
      for (let d = 0; d < this.directions; d++) {
        const k = l * this.directions + d; // this direction's index in h0, c0, h_n, c_n
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
        dirs.push({
          wIh: this.param(`weight_ih${sfx}`), wHh: this.param(`weight_hh${sfx}`),
          bIh: this.optionalParam(`bias_ih${sfx}`), bHh: this.optionalParam(`bias_hh${sfx}`),
          h0: this.stateAt(opts.h0, k), c0: this.stateAt(opts.c0, k), reverse: d === 1,
        });
      }
      const outs: Tensor[] = [];
      for (const r of layer(layerIn, dirs)) {
        outs.push(r.out); // (T, B, H)
        hs.push(r.h);
        if (r.c) cs.push(r.c);
      }
      layerIn = outs.length === 1 ? outs[0]! : cat(outs, 2); // (T, B, D·H)
      if (this.training && this.dropoutP > 0 && l < this.numLayers - 1) {
        layerIn = dropout(layerIn, this.dropoutP, { rng: opts.rng ?? this._rng ?? getDefaultRng(), training: true });
      }
    }
    return { output: this.batchFirst ? layerIn.transpose(0, 1) : layerIn, hs, cs };
  }

  /** State k (B, H) of an (L·D, B, H) initial state, or null. */
  protected stateAt(s: Tensor | null | undefined, k: number): Tensor | null {
    if (!s) return null;
    return s.slice(0, k, k + 1).reshape([s.shape[1]!, s.shape[2]!]);
  }

  /** The parameters by PyTorch name (what `torch.nn.LSTM.state_dict()` holds). */
  stateDict(): Map<string, Tensor> {
    return new Map(this.namedParameters());
  }

  /**
   * Copy a PyTorch state dict (name → tensor or { data, shape }) into this layer, checking every name and
   * shape first. A tensor with the wrong number of gate rows gets an error that says how many gates the
   * shape implies (an LSTM's state dict given to a GRU, or a different hidden size).
   * Example: `lstm.loadStateDict(loadSafetensorsFile('lstm.safetensors').tensors)`.
   */
  loadStateDict(dict: ReadonlyMap<string, StateTensor> | Readonly<Record<string, StateTensor>>, source = 'state dict'): void {
    const entries: Map<string, StateTensor> = dict instanceof Map ? new Map(dict) : new Map(Object.entries(dict as Record<string, StateTensor>));
    const want = new Map(this.parameterShapes());
    const G = GATES[this.mode].count;
    const H = this.hiddenSize;
    const problems: string[] = [];
    for (const [name, shape] of want) {
      const got = entries.get(name);
      if (!got) {
        problems.push(`missing ${name} (expected shape [${shape.join(', ')}])`);
        continue;
      }
      if (got.shape.length !== shape.length || got.shape.some((n: number, i: number) => n !== shape[i])) {
        let why = '';
        const rows = got.shape[0]!;
        if (rows !== shape[0] && rows % H === 0) {
          const g = rows / H;
          const other = g === 4 ? ' — an LSTM has 4 (i, f, g, o)' : g === 3 ? ' — a GRU has 3 (r, z, n)' : '';
          why = `: ${rows} rows are ${g} gates of ${H}, a ${this.mode} stacks ${G} gates (${GATES[this.mode].names})${other}`;
        } else if (rows !== shape[0]) {
          why = `: a ${this.mode} with hiddenSize ${H} has ${G}·${H} = ${G * H} gate rows`;
        }
        problems.push(`${name} has shape [${got.shape.join(', ')}], expected [${shape.join(', ')}]${why}`);
        continue;
      }
      if (!(got.data instanceof Float32Array)) problems.push(`${name} is not float32`);
    }
    for (const name of entries.keys()) if (!want.has(name)) problems.push(`unexpected key ${name}`);
    if (problems.length) throw new Error(`${this.mode} ${source} does not fit this layer (inputSize ${this.inputSize}, hiddenSize ${H}, numLayers ${this.numLayers}, bidirectional ${this.bidirectional}, bias ${this.hasBias}):\n  ${problems.join('\n  ')}`);
    for (const [name, shape] of want) {
      const src = entries.get(name)!;
      const data = src instanceof Tensor ? src.toFloat32Array().slice() : (src.data as Float32Array).slice();
      this.setParameter(name, fromStorage(data, shape, { requiresGrad: true }));
    }
  }
}

/**
 * torch.nn.LSTM: `new LSTM({ inputSize: 32, hiddenSize: 64, numLayers: 2, bidirectional: true })`, then
 * `const { output, h_n, c_n } = lstm.forward(x, { lengths })`. Does not handle proj_size.
 */
export class LSTM extends RecurrentStack {
  constructor(opts: RNNOptions) {
    super('LSTM', opts);
  }

  forward(input: Tensor, opts: RNNForwardOptions = {}): LSTMOutput {
    const r = this.runStack(input, opts, (x, dirs) => lstmDirections(x, dirs, { lengths: opts.lengths ?? null }));
    return { output: r.output, h_n: stack(r.hs, 0), c_n: stack(r.cs, 0) };
  }
}

/** torch.nn.GRU: as LSTM, without a cell state. `const { output, h_n } = gru.forward(x, { h0 })`. */
export class GRU extends RecurrentStack {
  constructor(opts: RNNOptions) {
    super('GRU', opts);
  }

  forward(input: Tensor, opts: RNNForwardOptions = {}): RNNOutput {
    if (opts.c0) throw new RangeError('GRU: c0 was given, but a GRU has no cell state (only h0)');
    const r = this.runStack(input, opts, (x, dirs) => gruDirections(x, dirs, { lengths: opts.lengths ?? null }));
    return { output: r.output, h_n: stack(r.hs, 0) };
  }
}
