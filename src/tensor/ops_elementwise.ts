// Elementwise ops: arithmetic with broadcasting, activations, maskedFill and where.
// Each op is one loop over a Float32Array; its backward sits right below its forward.
//
// Broadcasting follows PyTorch/NumPy: shapes align on the right and size-1 dims repeat, so
// (B, T, C) + (C) adds the bias to every row. The gradient of a broadcast operand is the output gradient
// summed over the dims it was repeated along (reduceTo).
import { getBackend, type RowKernel } from '../backend/index.js';
import { addArrays, fromOp, type GradSink } from './autograd.js';
import {
  broadcastShapes,
  broadcastStrides,
  contiguousView,
  expectFloat,
  fmtShape,
  isContiguous,
  readContiguous,
  reduceTo,
  rowPlan,
  sameShape,
  shapeSize,
  type Strided,
} from './shape.js';
import { Tensor } from './tensor.js';
import { floats, floatsToWrite } from './step.js';

// ---------------------------------------------------------------------------------------------------------
// Binary arithmetic: add, sub, mul, div
// ---------------------------------------------------------------------------------------------------------

const ADD = 0;
const SUB = 1;
const MUL = 2;
const DIV = 3;
type BinaryOp = typeof ADD | typeof SUB | typeof MUL | typeof DIV;

/** A number operand becomes a 0-d array that broadcasts against anything. */
function operand(op: string, x: Tensor | number, arg: string): Strided {
  if (typeof x === 'number') return { data: new Float32Array([x]), shape: [], strides: [], offset: 0 };
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${arg} must be a Tensor or a number, got ${typeof x}`);
  expectFloat(op, x, arg);
  return x;
}

/** out = a ∘ b over the broadcast shape, reading both operands through their strides. */
function binaryKernel(op: BinaryOp, a: Strided, b: Strided, outShape: readonly number[]): Float32Array {
  const n = shapeSize(outShape);
  const A = a.data as Float32Array;
  const B = b.data as Float32Array;
  if (op === ADD && sameShape(a.shape, b.shape) && isContiguous(a.shape, a.strides) && isContiguous(b.shape, b.strides)) {
    // The residual stream's x + f(x): two contiguous arrays of one shape, one pass (no row plan), on the
    // backend's kernel when it is large.
    const y = floatsToWrite(n);
    addArrays(A, a.offset, B, b.offset, y);
    return y;
  }
  const out = floats(n);
  const plan = rowPlan(outShape, [
    { strides: broadcastStrides(a.shape, a.strides, outShape), offset: a.offset },
    { strides: broadcastStrides(b.shape, b.strides, outShape), offset: b.offset },
  ]);
  const { rows, inner } = plan;
  const [sa, sb] = plan.innerStrides;
  const [aStarts, bStarts] = plan.starts;
  for (let r = 0; r < rows; r++) {
    const o = r * inner;
    const ao = aStarts[r];
    const bo = bStarts[r];
    // One switch per row, not per element: the inner loops stay monomorphic and tight.
    switch (op) {
      case ADD:
        for (let j = 0; j < inner; j++) out[o + j] = A[ao + j * sa] + B[bo + j * sb];
        break;
      case SUB:
        for (let j = 0; j < inner; j++) out[o + j] = A[ao + j * sa] - B[bo + j * sb];
        break;
      case MUL:
        for (let j = 0; j < inner; j++) out[o + j] = A[ao + j * sa] * B[bo + j * sb];
        break;
      case DIV:
        for (let j = 0; j < inner; j++) out[o + j] = A[ao + j * sa] / B[bo + j * sb];
        break;
    }
  }
  return out;
}

/** Passes g (shape `from`) to t summed down to t's shape: g itself when the shapes match (no copy). */
function addReduced(sink: GradSink, t: Tensor, g: Float32Array, from: readonly number[]): void {
  const gt = reduceTo(g, from, t.shape);
  sink.add(t, gt, gt !== g);
}

function negated(g: Float32Array): Float32Array {
  const out = floats(g.length);
  for (let i = 0; i < g.length; i++) out[i] = -g[i];
  return out;
}

function binary(name: string, op: BinaryOp, a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof a === 'number' && typeof b === 'number') {
    throw new TypeError(`${name}: at least one argument must be a Tensor, got two numbers (${a}, ${b})`);
  }
  const A = operand(name, a, 'first argument');
  const B = operand(name, b, 'second argument');
  const shape = sameShape(A.shape, B.shape) ? A.shape : broadcastShapes(name, A.shape, B.shape);
  const out = binaryKernel(op, A, B, shape);
  const inputs = [a, b].filter((t): t is Tensor => t instanceof Tensor);
  return fromOp(name, out, shape, inputs, (g, sink) => {
    const gv = contiguousView(g, shape);
    const ta = a instanceof Tensor && a.requiresGrad ? a : null;
    const tb = b instanceof Tensor && b.requiresGrad ? b : null;
    switch (op) {
      case ADD: // d(a+b) = da + db
        if (ta) addReduced(sink, ta, g, shape);
        if (tb) addReduced(sink, tb, g, shape);
        break;
      case SUB: // d(a-b) = da - db
        if (ta) addReduced(sink, ta, g, shape);
        if (tb) sink.add(tb, negated(reduceTo(g, shape, tb.shape)), true);
        break;
      case MUL: // d(a·b) = b·da + a·db
        if (ta) sink.add(ta, reduceTo(binaryKernel(MUL, gv, B, shape), shape, ta.shape), true);
        if (tb) sink.add(tb, reduceTo(binaryKernel(MUL, gv, A, shape), shape, tb.shape), true);
        break;
      case DIV: // d(a/b) = da/b - (a/b)·db/b
        if (ta) sink.add(ta, reduceTo(binaryKernel(DIV, gv, B, shape), shape, ta.shape), true);
        if (tb) {
          const gOut = binaryKernel(MUL, gv, contiguousView(out, shape), shape); // g · (a/b)
          sink.add(tb, negated(reduceTo(binaryKernel(DIV, contiguousView(gOut, shape), B, shape), shape, tb.shape)), true);
        }
        break;
    }
  });
}

/** a + b with broadcasting; either may be a number. `add(x, bias)` */
export function add(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('add', ADD, a, b);
}
/** a - b with broadcasting. */
export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('sub', SUB, a, b);
}
/** a · b elementwise with broadcasting. */
export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('mul', MUL, a, b);
}
/** a / b elementwise with broadcasting. */
export function div(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('div', DIV, a, b);
}

// ---------------------------------------------------------------------------------------------------------
// Unary ops. Each reads x once (contiguously; a strided x is copied first) and writes a new array.
// ---------------------------------------------------------------------------------------------------------

function unaryInput(op: string, x: Tensor): Float32Array {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${typeof x}`);
  expectFloat(op, x);
  return readContiguous(x) as Float32Array;
}

/** −x */
export function neg(x: Tensor): Tensor {
  const X = unaryInput('neg', x);
  const out = floats(X.length);
  for (let i = 0; i < X.length; i++) out[i] = -X[i];
  return fromOp('neg', out, x.shape, [x], (g, sink) => sink.add(x, negated(g), true));
}

/** eˣ;  d/dx = eˣ (the output itself). */
export function exp(x: Tensor): Tensor {
  const X = unaryInput('exp', x);
  const out = floats(X.length);
  for (let i = 0; i < X.length; i++) out[i] = Math.exp(X[i]);
  return fromOp('exp', out, x.shape, [x], (g, sink) => {
    const gx = floats(g.length);
    for (let i = 0; i < g.length; i++) gx[i] = g[i] * out[i];
    sink.add(x, gx, true);
  });
}

/** ln x;  d/dx = 1/x. */
export function log(x: Tensor): Tensor {
  const X = unaryInput('log', x);
  const out = floats(X.length);
  for (let i = 0; i < X.length; i++) out[i] = Math.log(X[i]);
  return fromOp('log', out, x.shape, [x], (g, sink) => {
    const gx = floats(g.length);
    for (let i = 0; i < g.length; i++) gx[i] = g[i] / X[i];
    sink.add(x, gx, true);
  });
}

/** √x;  d/dx = 1 / (2√x). */
export function sqrt(x: Tensor): Tensor {
  const X = unaryInput('sqrt', x);
  const out = floats(X.length);
  for (let i = 0; i < X.length; i++) out[i] = Math.sqrt(X[i]);
  return fromOp('sqrt', out, x.shape, [x], (g, sink) => {
    const gx = floats(g.length);
    for (let i = 0; i < g.length; i++) gx[i] = (0.5 * g[i]) / out[i];
    sink.add(x, gx, true);
  });
}

/** xᵖ for a constant exponent p;  d/dx = p·xᵖ⁻¹. */
export function pow(x: Tensor, p: number): Tensor {
  if (typeof p !== 'number') throw new TypeError(`pow: exponent must be a number, got ${typeof p}`);
  const X = unaryInput('pow', x);
  const out = floats(X.length);
  if (p === 2) for (let i = 0; i < X.length; i++) out[i] = X[i] * X[i];
  else for (let i = 0; i < X.length; i++) out[i] = Math.pow(X[i], p);
  return fromOp('pow', out, x.shape, [x], (g, sink) => {
    const gx = floats(g.length);
    if (p === 2) for (let i = 0; i < g.length; i++) gx[i] = 2 * X[i] * g[i];
    else for (let i = 0; i < g.length; i++) gx[i] = p * Math.pow(X[i], p - 1) * g[i];
    sink.add(x, gx, true);
  });
}

/** tanh x;  d/dx = 1 − tanh²x. */
export function tanh(x: Tensor): Tensor {
  const X = unaryInput('tanh', x);
  const n = X.length;
  const out = floatsToWrite(n);
  const be = getBackend();
  be.runRows(TANH_FORWARD, n, 1, [X], [out]);
  return fromOp('tanh', out, x.shape, [x], (g, sink) => {
    const gx = sink.alloc(n, false); // the backend writes every element
    be.runRows(TANH_BACKWARD, n, 1, [out, g], [gx]); // from the output: 1 − y², no second tanh
    sink.add(x, gx, true);
  });
}

/** max(x, 0);  d/dx = 1 where x > 0, else 0. */
export function relu(x: Tensor): Tensor {
  return unaryKernelOp('relu', x, RELU_FORWARD, RELU_BACKWARD);
}

/** σ(x) = 1 / (1 + e⁻ˣ);  d/dx = σ(x)(1 − σ(x)). */
export function sigmoid(x: Tensor): Tensor {
  const X = unaryInput('sigmoid', x);
  const out = floats(X.length);
  for (let i = 0; i < X.length; i++) out[i] = 1 / (1 + Math.exp(-X[i]));
  return fromOp('sigmoid', out, x.shape, [x], (g, sink) => {
    const gx = floats(g.length);
    for (let i = 0; i < g.length; i++) gx[i] = g[i] * out[i] * (1 - out[i]);
    sink.add(x, gx, true);
  });
}

const INV_SQRT_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * erf(x) from the Chebyshev fit of erfc in Numerical Recipes (§6.2), fractional error < 1.2e-7 everywhere —
 * below float32's resolution, which is all GELU needs.
 */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const erfcZ =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfcZ : erfcZ - 1;
}

/**
 * tanh(c) as the rational function Eigen uses for float32 (odd degree-13 over even degree-6 polynomial),
 * exactly ±1 beyond |c| ≥ 7.9988 where float32 tanh rounds to ±1 — the same function the SIMD kernel
 * computes, within a few float32 ulps of Math.tanh.
 */
function tanhRational(c: number): number {
  if (c >= 7.99881172180175781) return 1;
  if (c <= -7.99881172180175781) return -1;
  const c2 = c * c;
  const p =
    c *
    (4.89352455891786e-3 +
      c2 * (6.37261928875436e-4 + c2 * (1.48572235717979e-5 + c2 * (5.12229709037114e-8 + c2 * (-8.60467152213735e-11 + c2 * (2.00018790482477e-13 + c2 * -2.76076847742355e-16))))));
  const q = 4.89352518554385e-3 + c2 * (2.268434632439e-3 + c2 * (1.18534705686654e-4 + c2 * 1.19825839466702e-6));
  return p / q;
}

/**
 * An elementwise op as a row kernel (one element per row). The reference is the scalar formula `f`
 * applied to each element (with the output gradient g as a second argument for backward kernels); the
 * WebAssembly build has a SIMD task of the same name in kernels/elementwise.ts.
 */
function mapKernel(name: string, f: (x: number) => number): RowKernel {
  return {
    name,
    inputs: ['rows'],
    outputs: ['rows'],
    reference(rows, cols, [x], [y]) {
      for (let i = 0; i < rows * cols; i++) y![i] = f(x![i]!);
    },
  };
}
function mapGradKernel(name: string, f: (x: number, g: number) => number): RowKernel {
  return {
    name,
    inputs: ['rows', 'rows'],
    outputs: ['rows'],
    reference(rows, cols, [x, g], [gx]) {
      for (let i = 0; i < rows * cols; i++) gx![i] = f(x![i]!, g![i]!);
    },
  };
}

/**
 * An op y = f(x) whose forward and backward are row kernels on the backend: the backward kernel gets x and
 * the output gradient g and writes gx (nothing is saved but x).
 */
function unaryKernelOp(name: string, x: Tensor, forward: RowKernel, backward: RowKernel): Tensor {
  const X = unaryInput(name, x);
  const n = X.length;
  const out = floats(n);
  const be = getBackend();
  be.runRows(forward, n, 1, [X], [out]);
  return fromOp(name, out, x.shape, [x], (g, sink) => {
    const gx = sink.alloc(n, false); // the backend writes every element
    be.runRows(backward, n, 1, [X, g], [gx]);
    sink.add(x, gx, true);
  });
}

/**
 * ReLU: y = max(x, 0), dy/dx = 1 for x > 0, else 0 (0 at x = 0, as PyTorch). On the backend although it is
 * one comparison: in TypeScript the sign test of random activations mispredicts half the time (~7 ns an
 * element, 14 % of a G2P Transformer's training step), where the SIMD kernel is branch-free.
 */
export const RELU_FORWARD = mapKernel('relu_forward', (x) => (x > 0 ? x : 0));
export const RELU_BACKWARD = mapGradKernel('relu_backward', (x, g) => (x > 0 ? g : 0));

/**
 * tanh on the row kernels (the SIMD kernel is a rational approximation a few ulps from Math.tanh): in
 * TypeScript it cost ~3 % of a Bahdanau G2P training step. The backward kernel reads the output y, not x.
 */
export const TANH_FORWARD = mapKernel('tanh_forward', Math.tanh);
export const TANH_BACKWARD = mapGradKernel('tanh_backward', (y, g) => g * (1 - y * y));

/** s = ½(1 + tanh u), u = √(2/π)(x + 0.044715x³): the gate of GELU's tanh form (y = x·s). */
function geluTanhGate(x: number): number {
  return 0.5 + 0.5 * tanhRational(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
}

/** GELU, tanh form: y = x·s.  dy/dx = s + x·½(1 − tanh²u)·du/dx = s + 2x·s(1 − s)·√(2/π)(1 + 3·0.044715x²). */
export const GELU_TANH_FORWARD = mapKernel('gelu_tanh_forward', (x) => x * geluTanhGate(x));
export const GELU_TANH_BACKWARD = mapGradKernel('gelu_tanh_backward', (x, g) => {
  const s = geluTanhGate(x);
  return g * (s + 2 * x * s * (1 - s) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x));
});

/** GELU, exact: y = x·Φ(x) = ½x(1 + erf(x/√2)).  dy/dx = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π). */
export const GELU_ERF_FORWARD = mapKernel('gelu_erf_forward', (x) => 0.5 * x * (1 + erf(x * INV_SQRT_2)));
export const GELU_ERF_BACKWARD = mapGradKernel('gelu_erf_backward', (x, g) => g * (0.5 * (1 + erf(x * INV_SQRT_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x)));

/**
 * GELU(x) = x·Φ(x). approximate 'tanh' (GPT-2's "gelu_new", the default here) or 'none' (exact, BERT's
 * "gelu", PyTorch's default); formulas beside the kernels above. Both run on the backend: a tanh or an erf
 * per element made GELU a sixth of a training step in plain TypeScript; the WebAssembly backend does it four
 * lanes at a time on every thread.
 */
export function gelu(x: Tensor, approximate: 'tanh' | 'none' = 'tanh'): Tensor {
  if (approximate === 'tanh') return unaryKernelOp('gelu', x, GELU_TANH_FORWARD, GELU_TANH_BACKWARD);
  if (approximate === 'none') return unaryKernelOp('gelu', x, GELU_ERF_FORWARD, GELU_ERF_BACKWARD);
  throw new RangeError(`gelu: approximate must be 'tanh' or 'none', got '${String(approximate)}'`);
}

/** σ(x) = 1 / (1 + e^−x), in float64 (the SIMD kernel computes the same in float32). */
function sigmoid64(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** SiLU: y = x·σ(x).  dy/dx = σ(x)(1 + x(1 − σ(x))). */
export const SILU_FORWARD = mapKernel('silu_forward', (x) => x * sigmoid64(x));
export const SILU_BACKWARD = mapGradKernel('silu_backward', (x, g) => {
  const s = sigmoid64(x);
  return g * s * (1 + x * (1 - s));
});

/**
 * SiLU / swish (Marian's "swish", BART/Llama's "silu"): y = x·σ(x), on the backend's row kernels like GELU (an
 * exp per element: in TypeScript, Math.exp cost ~25 ns an element, 3–4 % of a Marian decoding step).
 */
export function silu(x: Tensor): Tensor {
  return unaryKernelOp('silu', x, SILU_FORWARD, SILU_BACKWARD);
}

// ---------------------------------------------------------------------------------------------------------
// Selection: maskedFill and where
// ---------------------------------------------------------------------------------------------------------

/**
 * out = value where mask ≠ 0, else x. mask (any dtype) must broadcast to x's shape, e.g. a causal mask
 * (T, T) over scores (B, nh, T, T). The gradient flows to x only where it was not filled.
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  expectFloat('maskedFill', x);
  if (!(mask instanceof Tensor)) throw new TypeError(`maskedFill: mask must be a Tensor, got ${typeof mask}`);
  const shape = broadcastShapes('maskedFill', x.shape, mask.shape);
  if (!sameShape(shape, x.shape)) {
    throw new RangeError(`maskedFill: mask of shape ${fmtShape(mask.shape)} must broadcast to the input's shape ${fmtShape(x.shape)}`);
  }
  const X = x.data as Float32Array;
  const M = mask.data;
  const plan = rowPlan(shape, [
    { strides: x.strides, offset: x.offset },
    { strides: broadcastStrides(mask.shape, mask.strides, shape), offset: mask.offset },
  ]);
  const { rows, inner } = plan;
  const [sx, sm] = plan.innerStrides;
  const out = floats(x.size);
  for (let r = 0; r < rows; r++) {
    const o = r * inner;
    const xo = plan.starts[0][r];
    const mo = plan.starts[1][r];
    for (let j = 0; j < inner; j++) out[o + j] = M[mo + j * sm] !== 0 ? value : X[xo + j * sx];
  }
  return fromOp('maskedFill', out, shape, [x], (g, sink) => {
    const gx = floats(g.length);
    for (let r = 0; r < rows; r++) {
      const o = r * inner;
      const mo = plan.starts[1][r];
      for (let j = 0; j < inner; j++) gx[o + j] = M[mo + j * sm] !== 0 ? 0 : g[o + j];
    }
    sink.add(x, gx, true);
  });
}

/** out = cond ≠ 0 ? a : b, all three broadcast together (a and b may be numbers). Like torch.where. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  if (!(cond instanceof Tensor)) throw new TypeError(`where: cond must be a Tensor, got ${typeof cond}`);
  const A = operand('where', a, 'a');
  const B = operand('where', b, 'b');
  const shape = broadcastShapes('where', cond.shape, A.shape, B.shape);
  const plan = rowPlan(shape, [
    { strides: broadcastStrides(cond.shape, cond.strides, shape), offset: cond.offset },
    { strides: broadcastStrides(A.shape, A.strides, shape), offset: A.offset },
    { strides: broadcastStrides(B.shape, B.strides, shape), offset: B.offset },
  ]);
  const { rows, inner } = plan;
  const [sc, sa, sb] = plan.innerStrides;
  const C = cond.data;
  const AD = A.data as Float32Array;
  const BD = B.data as Float32Array;
  const out = floats(shapeSize(shape));
  const pick = new Uint8Array(out.length); // 1 where the value came from a
  for (let r = 0; r < rows; r++) {
    const o = r * inner;
    const co = plan.starts[0][r];
    const ao = plan.starts[1][r];
    const bo = plan.starts[2][r];
    for (let j = 0; j < inner; j++) {
      if (C[co + j * sc] !== 0) {
        out[o + j] = AD[ao + j * sa];
        pick[o + j] = 1;
      } else {
        out[o + j] = BD[bo + j * sb];
      }
    }
  }
  const inputs = [a, b].filter((t): t is Tensor => t instanceof Tensor);
  return fromOp('where', out, shape, inputs, (g, sink) => {
    if (a instanceof Tensor && a.requiresGrad) {
      const ga = floats(g.length);
      for (let i = 0; i < g.length; i++) ga[i] = pick[i] ? g[i] : 0;
      sink.add(a, reduceTo(ga, shape, a.shape), true);
    }
    if (b instanceof Tensor && b.requiresGrad) {
      const gb = floats(g.length);
      for (let i = 0; i < g.length; i++) gb[i] = pick[i] ? 0 : g[i];
      sink.add(b, reduceTo(gb, shape, b.shape), true);
    }
  });
}
