// Matrix products: matmul (batched, broadcasting) and linear (x·W + b in either weight layout).
// Both hand the O(n³) work to the backend; this file only decides how to describe the operands.
//
// The backend reads row-major matrices, optionally transposed, with one stride between batch entries.
// A transposed view (w.transpose(0, 1)) is such a matrix read with a transpose flag, so no copy is made;
// only layouts the backend cannot describe (e.g. a slice of columns) are copied first.
//
// Gradients of C = A·B (per batch entry):  dA = dC·Bᵀ,  dB = Aᵀ·dC — two more backend matmuls, again with
// transpose flags instead of transposed copies. When B is shared by every batch entry (a weight), dB sums
// over the batch; if A's batch is laid out row after row, that is one matmul with K = batch·M.
import { getBackend, type LinearSpec, type MatmulSpec } from '../backend/index.js';
import { fromOp, type GradSink } from './autograd.js';
import { expand, reshape, squeeze, unsqueeze } from './ops_shape.js';
import { broadcastShapes, expectFloat, fmtShape, readContiguous, sameShape, shapeSize } from './shape.js';
import { Tensor } from './tensor.js';
import { asQuantized, quantizedLinear } from '../quant/ops.js';
import { floats, floatsToWrite } from './step.js';
import { gelu, relu, silu, GELU_ERF_FORWARD, GELU_TANH_FORWARD, RELU_FORWARD, SILU_FORWARD } from './ops_elementwise.js';
import { needsGrad } from './autograd.js';
import type { RowKernel } from '../backend/index.js';

/** An activation linear() can apply to its result: 'gelu' is the exact (erf) form, 'gelu_tanh' GPT-2's. */
export type LinearActivation = 'relu' | 'gelu' | 'gelu_tanh' | 'silu';

/**
 * An activation as the backend kernel a product ends with (inference) and as the op autograd records; null for
 * an unknown name. (A function, not a table: ops_elementwise and this module import each other.)
 */
function activationOf(a: LinearActivation): { kernel: RowKernel; op: (t: Tensor) => Tensor } | null {
  if (a === 'relu') return { kernel: RELU_FORWARD, op: relu };
  if (a === 'gelu') return { kernel: GELU_ERF_FORWARD, op: (t) => gelu(t, 'none') };
  if (a === 'gelu_tanh') return { kernel: GELU_TANH_FORWARD, op: (t) => gelu(t, 'tanh') };
  if (a === 'silu') return { kernel: SILU_FORWARD, op: silu };
  return null;
}

/** How the backend sees one operand: (rows, cols) per batch entry, maybe stored transposed. */
interface MatOperand {
  /** Storage starting at the operand's first element. */
  data: Float32Array;
  /** Stored as (cols, rows) and read transposed. */
  trans: boolean;
  /** Elements between batch entries; 0 = the same matrix for every entry. */
  batchStride: number;
}

/**
 * Describes x, logically (...batch, R, C) broadcast to `batchShape`, as a MatOperand, or returns null when its
 * layout needs a copy first.
 */
function describe(x: Tensor, batchShape: readonly number[]): MatOperand | null {
  const nd = x.ndim;
  const R = x.shape[nd - 2];
  const C = x.shape[nd - 1];
  const sR = x.strides[nd - 2];
  const sC = x.strides[nd - 1];
  let trans: boolean;
  if ((sC === 1 || C === 1) && (sR === C || R === 1)) trans = false;
  else if ((sR === 1 || R === 1) && (sC === R || C === 1)) trans = true;
  else return null;

  // Batch dims: broadcast ones read with stride 0; the rest must collapse to one stride.
  const lead = batchShape.length - (nd - 2);
  let batchStride = 0;
  let expected = -1; // stride the next-outer real batch dim must have
  let broadcastSeen = false;
  let realSeen = false;
  for (let i = batchShape.length - 1; i >= 0; i--) {
    const n = batchShape[i];
    if (n === 1) continue;
    const xi = i - lead;
    const own = xi >= 0 ? x.shape[xi] : 1;
    if (own === 1) {
      broadcastSeen = true;
      continue;
    }
    const s = x.strides[xi];
    if (!realSeen) {
      batchStride = s;
      realSeen = true;
    } else if (s !== expected) {
      return null;
    }
    expected = s * n;
  }
  if (broadcastSeen && realSeen) return null; // partly broadcast: needs expand + copy
  const start = x.offset;
  const storage = x.data as Float32Array;
  return { data: start === 0 ? storage : storage.subarray(start), trans, batchStride };
}

/**
 * The version to pass as MatmulSpec.bVersion: set only when x reads a parameter's storage from its start
 * (x is a leaf requiring grad, or a view of one), so a backend may cache x in packed form per version.
 */
function paramVersion(x: Tensor): number | undefined {
  const owner = x._base ?? x;
  if (owner.isLeaf && owner.requiresGrad && x.offset === 0) return owner.version;
  return undefined;
}

function spec(
  batch: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  aBatchStride: number,
  bBatchStride: number,
  accumulate: boolean,
  bVersion?: number,
): MatmulSpec {
  const s: MatmulSpec = { batch, m, n, k, transA, transB, aBatchStride, bBatchStride, accumulate };
  if (bVersion !== undefined) s.bVersion = bVersion;
  return s;
}

/**
 * Matrix product with PyTorch semantics: (…, M, K)·(…, K, N) → (…, M, N), batch dims broadcast.
 * A 1-D operand is a vector: (K)·(K, N) → (N), (M, K)·(K) → (M).
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) throw new TypeError('matmul: both arguments must be Tensors');
  expectFloat('matmul', a, 'first argument');
  expectFloat('matmul', b, 'second argument');
  if (a.ndim === 0 || b.ndim === 0) throw new RangeError(`matmul: both arguments need at least 1 dim, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  // Vectors become matrices for the product, and their extra dim is dropped from the result.
  if (a.ndim === 1 && b.ndim === 1) return reshape(matmul(unsqueeze(a, 0), unsqueeze(b, 1)), []); // (K)·(K) → ()
  if (a.ndim === 1) return squeeze(matmul(unsqueeze(a, 0), b), -2); // (1, K)·(…, K, N) → (…, N)
  if (b.ndim === 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1); // (…, M, K)·(K, 1) → (…, M)

  const M = a.shape[a.ndim - 2];
  const K = a.shape[a.ndim - 1];
  const N = b.shape[b.ndim - 1];
  if (b.shape[b.ndim - 2] !== K) {
    throw new RangeError(`matmul: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be multiplied (${K} columns vs ${b.shape[b.ndim - 2]} rows)`);
  }
  let batchShape: number[];
  try {
    batchShape = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new RangeError(`matmul: batch dims of ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be broadcast together`);
  }
  const batch = shapeSize(batchShape);
  const outShape = [...batchShape, M, N];

  // Operands the backend cannot read as they are get copied (through the graph, so gradients still flow).
  const A = operandFor(a, batchShape);
  const B = operandFor(b, batchShape);
  const pa = describe(A, batchShape) as MatOperand;
  const pb = describe(B, batchShape) as MatOperand;
  const bVersion = paramVersion(B);

  // A batched A times a shared B is one tall matrix times B: fold the batch into M when A's rows are
  // stored one after another.
  const fold = batch > 1 && pb.batchStride === 0 && !pa.trans && pa.batchStride === M * K;
  const out = floatsToWrite(batch * M * N); // every element written by the product
  const be = getBackend();
  if (fold) be.matmul(pa.data, pb.data, out, spec(1, batch * M, N, K, false, pb.trans, 0, 0, false, bVersion));
  else be.matmul(pa.data, pb.data, out, spec(batch, M, N, K, pa.trans, pb.trans, pa.batchStride, pb.batchStride, false, bVersion));

  return fromOp('matmul', out, outShape, [A, B], (g, sink) => {
    if (A.requiresGrad) matmulGradA(g, pa, pb, batch, M, N, K, A, sink, fold, bVersion);
    if (B.requiresGrad) matmulGradB(g, pa, pb, batch, M, N, K, B, sink, fold);
  });
}

/** a itself when the backend can read it; else a contiguous copy, expanded over the batch if needed. */
function operandFor(x: Tensor, batchShape: readonly number[]): Tensor {
  if (describe(x, batchShape)) return x;
  const R = x.shape[x.ndim - 2];
  const C = x.shape[x.ndim - 1];
  const c = x.contiguous();
  if (describe(c, batchShape)) return c;
  return expand(c, [...batchShape, R, C]).contiguous();
}

/** dA = dC·op(B)ᵀ, (batch, M, K). */
function matmulGradA(
  g: Float32Array,
  pa: MatOperand,
  pb: MatOperand,
  batch: number,
  M: number,
  N: number,
  K: number,
  A: Tensor,
  sink: GradSink,
  fold: boolean,
  bVersion: number | undefined,
): void {
  const be = getBackend();
  // op(B)ᵀ is B read with the opposite transpose flag.
  if (fold) {
    const dA = floats(A.size); // (batch·M, K) = dC (batch·M, N) · op(B)ᵀ
    be.matmul(g, pb.data, dA, spec(1, batch * M, K, N, false, !pb.trans, 0, 0, false, bVersion));
    sink.add(A, dA, true);
  } else if (pa.batchStride !== 0 || batch === 1) {
    const dA = floats(A.size);
    be.matmul(g, pb.data, dA, spec(batch, M, K, N, false, !pb.trans, M * N, pb.batchStride, false, bVersion));
    sink.add(A, dA, true);
  } else {
    // A was shared across the batch (B was not): sum the per-entry gradients.
    const dA = floats(M * K);
    for (let i = 0; i < batch; i++) {
      be.matmul(g.subarray(i * M * N), pb.data.subarray(i * pb.batchStride), dA, spec(1, M, K, N, false, !pb.trans, 0, 0, true));
    }
    sink.add(A, dA, true);
  }
}

/** dB = op(A)ᵀ·dC, (batch, K, N). */
function matmulGradB(
  g: Float32Array,
  pa: MatOperand,
  pb: MatOperand,
  batch: number,
  M: number,
  N: number,
  K: number,
  B: Tensor,
  sink: GradSink,
  fold: boolean,
): void {
  const be = getBackend();
  const dB = floats(pb.batchStride === 0 ? K * N : batch * K * N);
  if (pb.batchStride !== 0 || batch === 1) {
    be.matmul(pa.data, g, dB, spec(batch, K, N, M, !pa.trans, false, pa.batchStride, M * N, false));
  } else if (fold) {
    // Aᵀ·dC over the folded (batch·M) rows sums over the batch in one product.
    be.matmul(pa.data, g, dB, spec(1, K, N, batch * M, true, false, 0, 0, false));
  } else {
    for (let i = 0; i < batch; i++) {
      be.matmul(pa.data.subarray(i * pa.batchStride), g.subarray(i * M * N), dB, spec(1, K, N, M, !pa.trans, false, 0, 0, true));
    }
  }
  sink.add(B, dB, true);
}

/**
 * y = act(x·W + b) over the last dim of x (…, in) → (…, out), act optional. layout says how W is stored:
 *   'out_in' (torch.nn.Linear, the default): W is (out, in), y = x·Wᵀ + b
 *   'in_out' (GPT-2's Conv1D):               W is (in, out), y = x·W + b
 * The bias goes to the backend with the product (MatmulSpec.bias), which starts its sums from it.
 * W may be a QuantizedTensor (src/quant): then Backend.quantizedMatmul computes y, and there is no backward.
 * Backward: dx = dy·op(W)ᵀ, dW = xᵀ·dy ('in_out') or dyᵀ·x ('out_in'), db = Σ_rows dy.
 * With `activation` and no gradient to compute (inference), the backend applies it to the product where the
 * product is made (MatmulSpec.epilogue): the pre-activation, the FFN's widest array, is never an array of its
 * own. With gradients it is the activation op on the product, as written out (the same numbers).
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, layout: 'in_out' | 'out_in' = 'out_in', activation?: LinearActivation): Tensor {
  if (activation !== undefined) {
    const act = activationOf(activation);
    if (!act) throw new RangeError(`linear: activation must be one of relu, gelu, gelu_tanh, silu, got '${String(activation)}'`);
    if (asQuantized(weight) || needsGrad(bias ? [x, weight, bias] : [x, weight])) return act.op(linear(x, weight, bias, layout));
  }
  // A quantised weight (src/quant: int8/int4 values + scales) goes to its own kernels; inference only.
  const q = asQuantized(weight);
  if (q) return quantizedLinear(x, q, bias, layout);
  expectFloat('linear', x, 'input');
  expectFloat('linear', weight, 'weight');
  if (layout !== 'in_out' && layout !== 'out_in') throw new RangeError(`linear: layout must be 'in_out' or 'out_in', got '${String(layout)}'`);
  if (weight.ndim !== 2) throw new RangeError(`linear: weight must be 2-D, got shape ${fmtShape(weight.shape)}`);
  const [inF, outF] = layout === 'in_out' ? weight.shape : [weight.shape[1], weight.shape[0]];
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) {
    throw new RangeError(`linear: input ${fmtShape(x.shape)} does not match weight ${fmtShape(weight.shape)} (layout '${layout}' expects last dim ${inF})`);
  }
  if (bias) {
    expectFloat('linear', bias, 'bias');
    if (!sameShape(bias.shape, [outF])) throw new RangeError(`linear: bias has shape ${fmtShape(bias.shape)}, expected [${outF}]`);
  }
  const rows = x.size / inF;
  const X = readContiguous(x) as Float32Array; // (rows, in)
  const wContig = weight.isContiguous();
  const W = readContiguous(weight) as Float32Array; // (in, out) or (out, in)
  const wVersion = wContig ? paramVersion(weight) : undefined;
  const transW = layout === 'out_in';

  const out = floatsToWrite(rows * outF); // (rows, out), every element written by the product
  const be = getBackend();
  const mm = spec(1, rows, outF, inF, false, transW, 0, 0, false, wVersion);
  if (bias) mm.bias = readContiguous(bias) as Float32Array; // added by the backend as part of the product
  if (activation !== undefined) {
    mm.epilogue = activationOf(activation)!.kernel; // no gradient wanted (above): the result is all there is
    be.matmul(X, W, out, mm);
    return new Tensor(out, [...x.shape.slice(0, -1), outF]);
  }
  be.matmul(X, W, out, mm);

  const inputs = bias ? [x, weight, bias] : [x, weight];
  return fromOp('linear', out, [...x.shape.slice(0, -1), outF], inputs, (g, sink) => {
    // dx = dy·op(W)ᵀ, dW = xᵀ·dy ('in_out') or dyᵀ·x ('out_in'), db = Σ_rows dy: one backend call, so dy
    // is handed over once for all three.
    const dx = x.requiresGrad ? sink.alloc(x.size, false) : null; // the backend writes every element
    const dW = weight.requiresGrad ? floats(weight.size) : null;
    const db = bias && bias.requiresGrad ? floats(outF) : null;
    const ls: LinearSpec = { rows, inF, outF, layout };
    if (wVersion !== undefined) ls.wVersion = wVersion;
    be.linearBackward(X, W, g, ls, dx, dW, db);
    if (dx) sink.add(x, dx, true);
    if (dW) sink.add(weight, dW, true);
    if (db && bias) sink.add(bias, db, true);
  });
}
