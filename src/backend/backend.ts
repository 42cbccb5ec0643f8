// The Backend: the small set of heavy kernels the tensor engine composes everything from.
//
// Tensors keep their data in ordinary (garbage-collected) Float32Arrays, so users never free anything. A
// backend reads the caller's arrays and writes its results into arrays the caller allocated (one memory
// convention for every method: results go into caller buffers, nothing is returned). The plain-TS backend
// (js/) is the readable oracle; the WebAssembly backend (wasm/) copies operands into its shared memory,
// runs SIMD kernels there on a worker pool, and copies results out. That copy is O(n²) next to the O(n³) of a
// matmul or attention.
//
// Five kinds of work, and only five:
//   matmul / linearBackward   the products (weights packed once and cached by the tensor's version);
//                             quantizedMatmul, the product with an int8/int4 weight (inference)
//   attentionForward/Backward one fused attention for every model: q, k, v, out are strided views, masks
//                             are per-query key ranges + padding + head mask, an optional additive bias
//   runRows                   every elementwise or row-wise op with real arithmetic per element (GELU,
//                             layer/RMS norm, log-softmax, ...): a RowKernel names its operands and carries its
//                             plain-TS reference; the WebAssembly build has a task of the same name
//   recurrentForward/Backward the time loop of an LSTM or GRU layer, every step in one call (a step is too small
//                             to pay for a call of its own; src/backend/recurrent.ts)
// Adding such an op means writing its RowKernel (reference math) beside the op in src/tensor and its SIMD
// task in kernels/ — no new Backend method (docs/ENGINE_API.md walks through an example).
//
// Shape letters: B batch, M/N/K matmul dims, H heads, Tq query length, Tk key length, D head size.
import type { RecurrentGradients, RecurrentOperands, RecurrentSpec } from './recurrent.js';

/**
 * out[b] = op(A[b]) · op(B[b]) (+ out[b] when accumulate), for b in 0..batch-1, all row-major.
 * op(A) is (M, K): A is stored (M, K), or (K, M) when transA. op(B) is (K, N): B is stored (K, N), or (N, K)
 * when transB. aBatchStride / bBatchStride are in elements; 0 broadcasts one matrix over the batch (a weight).
 * out is (batch, M, N), contiguous.
 */
export interface MatmulSpec {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aBatchStride: number;
  bBatchStride: number;
  /** Add into `out` instead of overwriting it (gradient accumulation). */
  accumulate: boolean;
  /** N floats added to every row of every out[b] (nn.Linear's bias), fused into the product. */
  bias?: Float32Array;
  /**
   * Set when B is a parameter whose contents only change when this number changes (the tensor's version).
   * A backend may then cache B in packed form and reuse it until the version moves (weights packed once).
   * The same storage array arrives read both ways (forward reads W with one transB, backward with the other),
   * so a cache key needs the array, transB, k, n and bBatchStride as well as the version. The tensor layer
   * passes it only when B is a parameter's storage (a leaf with requiresGrad, or a view of one at offset 0).
   */
  bVersion?: number;
  /**
   * A map kernel (one 'rows' input, one 'rows' output: an activation such as GELU) applied to the result in
   * place after the product and the bias, before it leaves the backend: inference's linear + activation in one
   * call, so the pre-activation never becomes an array of its own. Not with `accumulate`.
   */
  epilogue?: RowKernel;
}

/** A linear layer y = x·op(W) + b over `rows` rows: W is (in, out) for 'in_out' (GPT-2's Conv1D) or (out, in)
 * for 'out_in' (torch.nn.Linear). wVersion: W's version, as MatmulSpec.bVersion (packed W may be cached). */
export interface LinearSpec {
  rows: number;
  inF: number;
  outF: number;
  layout: 'in_out' | 'out_in';
  wVersion?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Attention

/**
 * Where the rows of an attention operand live: element (b, h, t, d) of a (B, H, T, D) operand is
 * data[offset + b·sb + h·sh + t·st + d] (strides in floats; each row of D floats is contiguous). The same
 * storage read through different strides covers every layout models use:
 *   (B, T, H, D) contiguous (a projection's output, heads side by side):  sb = T·H·D, st = H·D, sh = D
 *   q, k, v inside GPT-2's fused c_attn output (B, T, 3C), C = H·D:       sb = 3·T·C, st = 3C, sh = D,
 *                                                                          offset 0, C, 2C
 *   a KV cache preallocated for `cap` positions (B, cap, H, D):            sb = cap·H·D, st = H·D, sh = D
 */
export interface AttnOperand {
  data: Float32Array;
  offset: number;
  sb: number;
  sh: number;
  st: number;
}

/**
 * One attention call: out = softmax(scale·q·kᵀ + bias + mask)·v per (batch entry, head), then × headMask.
 *
 * Masks are given in the form every kernel uses, built once by attentionMaskRanges() below (the rules are
 * written there and nowhere else): query i may see keys lo[i] ≤ j ≤ hi[i], except padded keys
 * (keyMask[b, j] = 0). lo and hi never decrease with i (true for causal masks, sliding windows and no
 * mask), so a block of queries sees a contiguous block of keys and kernels can skip the rest.
 */
export interface AttentionSpec {
  batch: number; // B
  heads: number; // H
  tq: number; // Tq
  tk: number; // Tk
  headDim: number; // D
  /** Multiplies q·kᵀ; usually 1/sqrt(D) (T5 uses 1). */
  scale: number;
  /** (Tq) first visible key of each query. */
  lo: Int32Array;
  /** (Tq) last visible key of each query (< lo: the query sees nothing). */
  hi: Int32Array;
  /** (B, Tk), 1 = attend, 0 = padding. Omitted = every key is real. */
  keyMask?: Uint8Array;
  /**
   * Additive bias on the scores (after scaling): element (b, h, i, j) at data[offset + b·sb + h·sh + i·st + j]
   * (rows of Tk floats contiguous; sb = 0 shares one bias across the batch, as T5's position bias).
   */
  bias?: AttnOperand;
  /** (H) or (B, H): multiplies each head's output (and returned weights), Hugging Face's head_mask. */
  headMask?: Float32Array;
  /**
   * Attention dropout (training): each probability p_ij is dropped with probability `p` and the survivors
   * are scaled by 1/(1 − p). Which ones is decided by dropKeeps(seed, index) below, a hash of the
   * probability's index, so the backward pass (and every backend) rebuilds exactly the forward's mask with
   * nothing stored. lse and the returned weights are those before dropout.
   */
  dropout?: { p: number; seed: number };
}

/** The mask settings a model asks for, before they are turned into per-query key ranges. */
export interface AttentionMaskOptions {
  /** Hide keys after the query's position. */
  causal: boolean;
  /** Absolute position of query 0 in the key sequence (query i sits at queryOffset + i); see below. */
  queryOffset: number;
  /** Sliding window: a query at position p sees keys p − window < j ≤ p. 0 = unlimited. */
  window: number;
}

/**
 * The one place the mask rules live. Query i sits at position pos = queryOffset + i (with a KV cache the new
 * queries come after the cached keys: queryOffset = Tk − Tq) and sees keys j in [lo, hi]:
 *   lo = max(0, pos − window + 1) with a window, else 0;
 *   hi = min(pos, Tk − 1) when causal, else Tk − 1.
 * Padding (keyMask) is applied per key on top of these ranges by the kernels.
 * Example: causal self-attention of 3 queries over 3 keys gives lo = [0, 0, 0], hi = [0, 1, 2].
 */
export function attentionMaskRanges(tq: number, tk: number, m: AttentionMaskOptions): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(tq);
  const hi = new Int32Array(tq);
  for (let i = 0; i < tq; i++) {
    const pos = m.queryOffset + i;
    lo[i] = m.window > 0 ? Math.max(0, pos - m.window + 1) : 0;
    hi[i] = m.causal ? Math.min(pos, tk - 1) : tk - 1;
  }
  return { lo, hi };
}

/** The threshold p·2³² that a probability's hash must reach to be kept (see dropKeeps). */
export function dropThreshold(p: number): number {
  return Math.min(0xffffffff, Math.floor(p * 4294967296)) >>> 0;
}

/**
 * The attention dropout mask: probability (b, h, i, j) with flat index ((b·H + h)·Tq + i)·Tk + j is kept when
 * the 32-bit hash of (index, seed) is at least the threshold p·2³². The hash is "lowbias32" (Chris
 * Wellons' integer hash, two multiply-xorshift rounds) of index + hash(seed), which kernels/attention.ts
 * computes four lanes at a time with the same 32-bit integer arithmetic.
 */
export function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}
export function dropKeeps(seedHash: number, index: number, threshold: number): boolean {
  return lowbias32((index + seedHash) >>> 0) >= threshold;
}

/** An attention call's dropout in the form the mask takes (seed hashed once), or null for none. */
export function dropoutOf(spec: AttentionSpec): { seedHash: number; threshold: number; scale: number } | null {
  const d = spec.dropout;
  if (!d || !(d.p > 0)) return null;
  return { seedHash: lowbias32(d.seed >>> 0), threshold: dropThreshold(d.p), scale: 1 / (1 - d.p) };
}

/** The results of attentionForward, written into these caller-allocated arrays. */
export interface AttentionOutputs {
  /** (B, Tq, H, D) in out's strides (usually contiguous: heads side by side, what an output projection reads). */
  out: AttnOperand;
  /** (B, H, Tq) contiguous: log Σ_j exp(s_ij) over visible keys; what backward needs to rebuild the weights. */
  lse: Float32Array;
  /** (B, H, Tq, Tk) contiguous softmax probabilities (× headMask), when wanted. */
  weights?: Float32Array;
}

/** The gradients attentionBackward writes (into caller-allocated arrays). */
export interface AttentionGrads {
  /** dq, dk, dv: written row by row in their own strides (every row of the operand; nothing else is touched). */
  dq: AttnOperand;
  dk: AttnOperand;
  dv: AttnOperand;
  /** (Bb, H, Tq, Tk) contiguous, Bb = 1 when the bias is shared across the batch (sb = 0): accumulated (+=). */
  dBias?: Float32Array;
  /** (B, H) contiguous: Σ over the head's output of dOut·(output before the head mask); overwritten. */
  dHeadMask?: Float32Array;
}

/** Index of the last float an operand of (B, H, T, D) reaches, plus one: its array must be at least this long. */
export function operandEnd(o: AttnOperand, B: number, H: number, T: number, D: number): number {
  if (B === 0 || H === 0 || T === 0 || D === 0) return 0;
  return o.offset + (B - 1) * o.sb + (H - 1) * o.sh + (T - 1) * o.st + D;
}

/**
 * The shape rules of an attention call, checked once for both backends: sizes are non-negative integers,
 * the key ranges have one entry per query and never decrease, masks have their shapes, and every operand's
 * rows lie inside its array. Errors name the op, the field, the value and what was expected.
 */
export function checkAttention(op: string, spec: AttentionSpec, operands: Record<string, AttnOperand | undefined>, arrays: Record<string, [Float32Array | undefined, number]> = {}): void {
  const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D, scale, lo, hi, keyMask, headMask, bias, dropout } = spec;
  for (const [name, v] of [['batch', B], ['heads', H], ['tq', Tq], ['tk', Tk], ['headDim', D]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${op}: spec.${name} must be a non-negative integer, got ${v}`);
  }
  if (!Number.isFinite(scale)) throw new RangeError(`${op}: spec.scale must be a finite number, got ${scale}`);
  if (lo.length !== Tq || hi.length !== Tq) throw new RangeError(`${op}: spec.lo and spec.hi need one entry per query (${Tq}), got ${lo.length} and ${hi.length}`);
  for (let i = 1; i < Tq; i++) {
    if (lo[i]! < lo[i - 1]! || hi[i]! < hi[i - 1]!) {
      throw new RangeError(`${op}: key ranges must not decrease with the query index; query ${i} has [${lo[i]}, ${hi[i]}] after [${lo[i - 1]}, ${hi[i - 1]}]`);
    }
  }
  if (keyMask && keyMask.length !== B * Tk) throw new RangeError(`${op}: keyMask has ${keyMask.length} entries, expected (B, Tk) = (${B}, ${Tk}) = ${B * Tk}`);
  if (headMask && headMask.length !== H && headMask.length !== B * H) {
    throw new RangeError(`${op}: headMask has ${headMask.length} entries, expected (H) = ${H} or (B, H) = ${B * H}`);
  }
  if (dropout && !(dropout.p >= 0 && dropout.p < 1)) throw new RangeError(`${op}: spec.dropout.p must be in [0, 1), got ${dropout.p}`);
  if (bias && B * H * Tq * Tk > 0 && operandEnd(bias, B, H, Tq, Tk) > bias.data.length) {
    throw new RangeError(`${op}: bias rows reach element ${operandEnd(bias, B, H, Tq, Tk)} of a ${bias.data.length}-element array (B ${B}, H ${H}, Tq ${Tq}, Tk ${Tk}, strides b ${bias.sb} h ${bias.sh} q ${bias.st})`);
  }
  for (const [name, o] of Object.entries(operands)) {
    if (!o) continue;
    const T = name === 'k' || name === 'v' || name === 'dk' || name === 'dv' ? Tk : Tq;
    for (const [s, v] of [['sb', o.sb], ['sh', o.sh], ['st', o.st], ['offset', o.offset]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`${op}: ${name}.${s} must be a non-negative integer, got ${v}`);
    }
    const end = operandEnd(o, B, H, T, D);
    if (end > o.data.length) {
      throw new RangeError(`${op}: ${name} (B ${B}, H ${H}, T ${T}, D ${D}; offset ${o.offset}, strides b ${o.sb} h ${o.sh} t ${o.st}) reaches element ${end} of a ${o.data.length}-element array`);
    }
  }
  for (const [name, [a, n]] of Object.entries(arrays)) {
    if (a && a.length < n) throw new RangeError(`${op}: ${name} has ${a.length} elements, needs ${n}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Row kernels: elementwise and row-wise ops

/**
 * How an operand of a row kernel is laid out, for a job of `rows` rows of `cols` floats:
 *   'rows'   rows·cols floats, row-major (the data being transformed: x, y, gradients)
 *   'perRow' one float per row (a row's mean, rstd, log-sum-exp)
 *   'perCol' one float per column, shared by every row (a norm's weight and bias)
 *   'colSum' an output of one float per column summed over all rows (a norm weight's gradient); a
 *            parallel backend has each task write its own partial row and adds them after.
 * An elementwise op is a row kernel with cols = 1 (each element its own row).
 */
export type RowOperand = 'rows' | 'perRow' | 'perCol';
export type RowOutput = 'rows' | 'perRow' | 'colSum';

/**
 * A row-wise computation the backends run. `reference` is the plain-TypeScript definition (the oracle the
 * WebAssembly task is tested against, and what the 'js' backend runs): it computes the whole job, writing
 * every given output (outputs passed as null are optional ones the caller does not want, e.g. gx when x
 * needs no gradient). The WebAssembly build has an export `${name}_task(t, thread, rows, cols, rowsPerTask,
 * ...input pointers, ...output pointers (0 for null), ...params)` that computes rows
 * [t·rowsPerTask, (t+1)·rowsPerTask) and, for a 'colSum' output, writes that task's partial sums (cols
 * floats) at pointer + t·cols·4.
 */
export interface RowKernel {
  readonly name: string;
  readonly inputs: readonly RowOperand[];
  readonly outputs: readonly RowOutput[];
  reference(rows: number, cols: number, inputs: readonly Float32Array[], outputs: readonly (Float32Array | null)[], params: readonly number[]): void;
}

/** Elements each operand kind needs for a (rows, cols) job. */
export function rowOperandLength(kind: RowOperand | RowOutput, rows: number, cols: number): number {
  return kind === 'rows' ? rows * cols : kind === 'perRow' ? rows : cols;
}

// ---------------------------------------------------------------------------------------------------------
// Quantised weights (inference): see src/quant/format.ts for how they are made and kernels/quant.ts for the math

/**
 * A weight matrix stored quantised, as N rows (outputs) of K inputs — torch.nn.Linear's (out, in) layout,
 * whatever layout the float weight had — with one float32 scale per `groupSize` consecutive inputs of a row:
 *   weight (j, k) = scales[j·G + ⌊k / groupSize⌋] · q(j, k),   G = K / groupSize  (groupSize = K: per row)
 *   bits 8: q(j, k) = data[j·K + k] read as a signed byte (−127..127)
 *   bits 4: q(j, k) = nibble − 8, the low nibble of data[j·K/2 + ⌊k/2⌋] for even k, the high one for odd k
 * data and scales are best allocated with Backend.allocate (then the WebAssembly kernels read them in place).
 */
export interface QuantizedWeight {
  readonly bits: 4 | 8;
  /** Outputs: rows of the stored matrix. */
  readonly n: number;
  /** Inputs: weights per row. */
  readonly k: number;
  /** Inputs sharing one scale (divides K; K itself for one scale per row). */
  readonly groupSize: number;
  /** N·K bytes (int8) or N·K/2 (int4), row-major. */
  readonly data: Uint8Array;
  /** (N, K / groupSize) float32. */
  readonly scales: Float32Array;
}

/** out (rows, N) = a (rows, K) · Wᵀ (+ bias (N)), W dequantised as QuantizedWeight describes. */
export interface QuantizedMatmulSpec {
  rows: number;
  bias?: Float32Array;
}

/**
 * Row j of a quantised weight as numbers: into[k] = scale[j, ⌊k / groupSize⌋] · q(j, k) for k < K. The
 * definition every quantised kernel is tested against. Example: `dequantizeRow(w, 0, new Float32Array(w.k))`.
 */
export function dequantizeRow(w: QuantizedWeight, j: number, into: Float32Array | Float64Array): void {
  const { k: K, groupSize, data, scales } = w;
  const G = K / groupSize;
  if (w.bits === 8) {
    const q = new Int8Array(data.buffer, data.byteOffset + j * K, K); // the bytes as signed values
    for (let k = 0; k < K; k++) into[k] = scales[j * G + Math.floor(k / groupSize)]! * q[k]!;
  } else {
    const row = j * (K / 2);
    for (let k = 0; k < K; k++) {
      const byte = data[row + (k >> 1)]!;
      const nibble = k % 2 === 0 ? byte & 15 : byte >> 4;
      into[k] = scales[j * G + Math.floor(k / groupSize)]! * (nibble - 8);
    }
  }
}

/** The shape rules of a quantised product (both backends check them); errors name the field and the numbers. */
export function checkQuantized(op: string, a: Float32Array, w: QuantizedWeight, out: Float32Array, spec: QuantizedMatmulSpec): void {
  const { rows } = spec;
  const { bits, n, k, groupSize } = w;
  if (bits !== 8 && bits !== 4) throw new RangeError(`${op}: weight bits must be 8 or 4, got ${String(bits)}`);
  for (const [name, v] of [['rows', rows], ['n', n], ['k', k], ['groupSize', groupSize]] as const) {
    if (!Number.isInteger(v) || v < (name === 'rows' ? 0 : 1)) throw new RangeError(`${op}: ${name} must be a ${name === 'rows' ? 'non-negative' : 'positive'} integer, got ${v}`);
  }
  if (k % groupSize !== 0) throw new RangeError(`${op}: groupSize ${groupSize} does not divide K = ${k}`);
  if (bits === 4 && k % 2 !== 0) throw new RangeError(`${op}: int4 weights need an even K (two per byte), got ${k}`);
  const bytes = bits === 8 ? n * k : (n * k) / 2;
  if (w.data.length < bytes) throw new RangeError(`${op}: weight data has ${w.data.length} bytes, (N, K) = (${n}, ${k}) at ${bits} bits needs ${bytes}`);
  if (w.scales.length < n * (k / groupSize)) throw new RangeError(`${op}: weight scales have ${w.scales.length} values, (N, K / groupSize) = (${n}, ${k / groupSize}) needs ${n * (k / groupSize)}`);
  if (a.length < rows * k) throw new RangeError(`${op}: A has ${a.length} elements, (rows, K) = (${rows}, ${k}) needs ${rows * k}`);
  if (out.length < rows * n) throw new RangeError(`${op}: out has ${out.length} elements, (rows, N) = (${rows}, ${n}) needs ${rows * n}`);
  if (spec.bias && spec.bias.length < n) throw new RangeError(`${op}: bias has ${spec.bias.length} elements, N = ${n} needed`);
}

// ---------------------------------------------------------------------------------------------------------

export interface Backend {
  readonly name: string;
  /** Threads this backend uses for large kernels (1 for the reference backend). */
  readonly threads: number;

  matmul(a: Float32Array, b: Float32Array, out: Float32Array, spec: MatmulSpec): void;

  /**
   * The gradients of a linear layer y = x·op(W) + b from dy (rows, out): dx = dy·op(W)ᵀ (rows, in), dW (W's
   * layout) and db = Σ_rows dy (out), each written only when its array is given. One call for the three, so
   * a backend that copies operands (WebAssembly) moves dy once.
   */
  linearBackward(x: Float32Array, w: Float32Array, dy: Float32Array, spec: LinearSpec, dx: Float32Array | null, dw: Float32Array | null, db: Float32Array | null): void;

  /**
   * softmax(scale·q·kᵀ + bias + mask)·v × headMask, with q (B, H, Tq, D) and k, v (B, H, Tk, D) read through
   * their strides. A query that sees no key at all gets out = 0 and lse = −Infinity (its weights row is 0).
   */
  attentionForward(spec: AttentionSpec, q: AttnOperand, k: AttnOperand, v: AttnOperand, res: AttentionOutputs): void;

  /** Gradients of attentionForward, given the forward's out and lse and dOut (laid out like out). */
  attentionBackward(
    spec: AttentionSpec,
    q: AttnOperand,
    k: AttnOperand,
    v: AttnOperand,
    out: AttnOperand,
    lse: Float32Array,
    dOut: AttnOperand,
    grads: AttentionGrads,
  ): void;

  /**
   * out (rows, N) = a (rows, K) · Wᵀ (+ bias) for a quantised weight W (inference only: there is no backward).
   * The reference dequantises each weight as it goes; the WebAssembly backend quantises each row of `a` to int8
   * in blocks of 32 and multiplies with integer dot products (a few rows), or dequantises W a block of rows
   * at a time for its GEMM (many rows). See kernels/quant.ts.
   */
  quantizedMatmul(a: Float32Array, w: QuantizedWeight, out: Float32Array, spec: QuantizedMatmulSpec): void;

  /**
   * The time loop of a recurrent layer, every step of every given direction (src/backend/recurrent.ts has the
   * operands' contract and the formulas). Directions are independent: a parallel backend runs them side by side.
   */
  recurrentForward(spec: RecurrentSpec, dirs: readonly RecurrentOperands[]): void;

  /** Backward through time of recurrentForward, on the same operands (as forward left them) and their gradients. */
  recurrentBackward(spec: RecurrentSpec, dirs: readonly RecurrentOperands[], grads: readonly RecurrentGradients[]): void;

  /** Run a row kernel over (rows, cols); inputs and outputs in the kernel's operand order (see RowKernel). */
  runRows(kernel: RowKernel, rows: number, cols: number, inputs: readonly Float32Array[], outputs: readonly (Float32Array | null)[], params?: readonly number[]): void;

  /**
   * A zeroed Float32Array of n floats where this backend's kernels read and write fastest: inside the
   * WebAssembly memory for the WebAssembly backend (then matmul uses a weight stored there in place, with no
   * copy and no second packed copy), an ordinary array for the reference. Parameters are allocated here.
   * Freed by the garbage collector like any array. Falls back to an ordinary array when the memory is full.
   * `zero` false: the contents are undefined (the WebAssembly backend skips zeroing, whose first touch of
   * fresh pages costs ~0.5 ms per MB), for storage that is always written before it is read, like a KV cache.
   */
  allocate(n: number, zero?: boolean): Float32Array;

  /**
   * Give back now an array that allocate() returned, instead of when the garbage collector finds it: it must
   * not be read or written afterwards. For the engine's own storage whose end it knows, and which nothing
   * outside holds — a generation's KV cache when the generation ends — so that the next one reuses the same
   * memory rather than touching fresh pages while the collector has not yet run (within one synchronous run
   * of code it cannot: see WasmHeap). Anything else (an ordinary array, one given back already) is ignored.
   */
  release(a: Float32Array): void;

  /**
   * Memory for a training step's activations and gradients, all given back when the step ends
   * (src/tensor/step.ts); null where ordinary arrays serve as well (the reference backend).
   */
  readonly stepMemory: StepMemory | null;

  /** Stop any worker threads (a later call starts them again). Backends without threads do nothing. */
  close(): void;
}

/**
 * A backend's memory for one training step (the WebAssembly backend: a bump allocator inside its memory, so
 * kernels use the arrays in place). Arrays from take() are valid until the next reset().
 */
export interface StepMemory {
  /** n floats, contents undefined; null when the step memory is full (the caller makes an ordinary array). */
  take(n: number): Float32Array | null;
  /** Set `a` (from take(), or any array) to zeros, the fastest way the backend has. */
  zero(a: Float32Array): void;
  /** Whether `a` came from take() (since any reset: the chunks are reused). */
  holds(a: Float32Array): boolean;
  /** The step is over: every array handed out may be overwritten. */
  reset(): void;
  /** Where the next take() cuts (for rewindKeeping). */
  mark(): StepMark;
  /**
   * Give back what was taken since `mark` except the arrays in `keep`, which move down to the mark; returns
   * their new views in keep's order (arrays taken before the mark come back as they are).
   */
  rewindKeeping(mark: StepMark, keep: readonly Float32Array[]): Float32Array[];
}

/** A position in step memory (StepMemory.mark); only the memory that made it reads it. */
export interface StepMark {
  readonly chunk: number;
  readonly used: number;
}

/** The shape rules of a row-kernel call (both backends check them): arity and each operand's length. */
export function checkRows(kernel: RowKernel, rows: number, cols: number, inputs: readonly Float32Array[], outputs: readonly (Float32Array | null)[]): void {
  const op = `${kernel.name} (rows ${rows}, cols ${cols})`;
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new RangeError(`${kernel.name}: rows and cols must be integers ≥ 0, got rows ${rows}, cols ${cols}`);
  }
  if (inputs.length !== kernel.inputs.length || outputs.length !== kernel.outputs.length) {
    throw new RangeError(`${op}: takes ${kernel.inputs.length} inputs and ${kernel.outputs.length} outputs, got ${inputs.length} and ${outputs.length}`);
  }
  const check = (kind: RowOperand | RowOutput, a: Float32Array | null, what: string): void => {
    const n = rowOperandLength(kind, rows, cols);
    if (a && a.length < n) throw new RangeError(`${op}: ${what} ('${kind}') has ${a.length} elements, needs ${n}`);
  };
  kernel.inputs.forEach((kind, i) => check(kind, inputs[i]!, `input ${i}`));
  kernel.outputs.forEach((kind, i) => check(kind, outputs[i]!, `output ${i}`));
}
