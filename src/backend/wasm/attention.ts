// Backend.attentionForward / attentionBackward (and their packed forms) on the WebAssembly kernels
// (kernels/attention.ts): check the spec, copy q, k, v (and for backward out, lse, dOut) into WebAssembly
// memory, run one task per head (or per block of query rows when there are fewer heads than threads), copy
// the results out.
//
// The kernels find rows through (batch, head, row) strides, so the packed forms copy c_attn's (B, T, 3C)
// output in as it is, and write out (B, T, C) and dqkv (B, T, 3C) in the layouts the neighbouring linear
// layers use: no head split or merge copies on either side.
//
// Shape letters: B batch, H heads, Tq query length, Tk key length, D head size.

import { dropoutOf, type AttentionForwardResult, type AttentionSpec } from '../backend.js';
import type { KernelExports } from './kernels.js';
import { Layout, WasmHeap, WorkArea } from './heap.js';
import type { ThreadPool } from './pool.js';

/**
 * Attention below this many flops (≈ 4·B·H·Tq·Tk·D for the two products) runs on the calling thread alone;
 * the same reasoning and measurement as PARALLEL_MIN_FLOPS in matmul.ts.
 */
export const ATTENTION_PARALLEL_MIN_FLOPS = 1e6;

/** Where the rows of one (B, H, T, D) operand are: strides in floats between batch entries, heads and rows. */
interface Strides {
  b: number;
  h: number;
  r: number;
}

/** The plain layout: (B, H, T, D) contiguous. */
function contiguous(H: number, T: number, D: number): Strides {
  return { b: H * T * D, h: T * D, r: D };
}

/**
 * Where a call's q, k, v and out live: each an operand array copied into the work area (or a result array
 * taken out of it) plus an offset in floats inside it, and the strides of q, of k and v, and of out.
 */
interface Placement {
  /** Arrays copied in, one after another: q, k, v (plain) or qkv (packed). */
  inputs: Float32Array[];
  /** [index into inputs, offset in floats] of q, k and v. */
  q: [number, number];
  k: [number, number];
  v: [number, number];
  qS: Strides;
  kS: Strides;
  oS: Strides;
}

function plainPlacement(q: Float32Array, k: Float32Array, v: Float32Array, spec: AttentionSpec): Placement {
  const { heads: H, tq: Tq, tk: Tk, headDim: D } = spec;
  return { inputs: [q, k, v], q: [0, 0], k: [1, 0], v: [2, 0], qS: contiguous(H, Tq, D), kS: contiguous(H, Tk, D), oS: contiguous(H, Tq, D) };
}

/** qkv (B, T, 3C) with C = H·D: q, k, v side by side in each row, heads side by side in each; out (B, T, C). */
function packedPlacement(qkv: Float32Array, spec: AttentionSpec): Placement {
  const { heads: H, tq: T, headDim: D } = spec;
  const C = H * D;
  const inS = { b: T * 3 * C, h: D, r: 3 * C };
  return { inputs: [qkv], q: [0, 0], k: [0, C], v: [0, 2 * C], qS: inS, kS: inS, oS: { b: T * C, h: D, r: C } };
}

const strideArgs = (p: Placement): number[] => [p.qS.b, p.qS.h, p.qS.r, p.kS.b, p.kS.h, p.kS.r, p.oS.b, p.oS.h, p.oS.r];

/** The kernels' dropout arguments: threshold (0 = none), 1/(1 − p), seed hash (see dropKeeps). */
function dropArgs(spec: AttentionSpec): number[] {
  const d = dropoutOf(spec);
  return d ? [d.threshold, d.scale, d.seedHash] : [0, 1, 0];
}

export class WasmAttention {
  /** Below this many flops a call runs on the calling thread alone (tests set 0 to force the pool). */
  parallelMinFlops = ATTENTION_PARALLEL_MIN_FLOPS;

  constructor(
    private readonly kernels: KernelExports,
    private readonly heap: WasmHeap,
    private readonly work: WorkArea,
    private readonly pool: ThreadPool,
  ) {}

  forward(q: Float32Array, k: Float32Array, v: Float32Array, spec: AttentionSpec, returnWeights: boolean): AttentionForwardResult {
    checkSpec('attentionForward', spec, { q, k, v });
    return this.runForward(spec, plainPlacement(q, k, v, spec), returnWeights);
  }

  /** Self-attention from c_attn's qkv (B, T, 3C); out is (B, T, C). */
  forwardPacked(qkv: Float32Array, spec: AttentionSpec, returnWeights: boolean): AttentionForwardResult {
    checkPackedSpec('attentionPackedForward', spec, { qkv });
    return this.runForward(spec, packedPlacement(qkv, spec), returnWeights);
  }

  backward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    lse: Float32Array,
    dOut: Float32Array,
    spec: AttentionSpec,
  ): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
    checkSpec('attentionBackward', spec, { q, k, v, out, dOut, lse });
    const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D } = spec;
    const dq = new Float32Array(B * H * Tq * D); // (B, H, Tq, D)
    const dk = new Float32Array(B * H * Tk * D); // (B, H, Tk, D)
    const dv = new Float32Array(B * H * Tk * D); // (B, H, Tk, D)
    this.runBackward(spec, plainPlacement(q, k, v, spec), out, lse, dOut, [dq, dk, dv]);
    return { dq, dk, dv };
  }

  /** Gradient of forwardPacked: dqkv (B, T, 3C) from dOut (B, T, C), every element written. */
  backwardPacked(qkv: Float32Array, out: Float32Array, lse: Float32Array, dOut: Float32Array, spec: AttentionSpec, dqkv: Float32Array): void {
    checkPackedSpec('attentionPackedBackward', spec, { qkv, out, dOut, lse, dqkv });
    if (spec.batch * spec.heads === 0 || spec.tk === 0) dqkv.fill(0);
    this.runBackward(spec, packedPlacement(qkv, spec), out, lse, dOut, [dqkv]);
  }

  private runForward(spec: AttentionSpec, p: Placement, returnWeights: boolean): AttentionForwardResult {
    const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D } = spec;
    const outLen = B * H * Tq * D;
    const out = new Float32Array(outLen); // in p.oS's layout
    const lse = new Float32Array(B * H * Tq); // (B, H, Tq)
    const weights = returnWeights ? new Float32Array(B * H * Tq * Tk) : undefined; // (B, H, Tq, Tk)
    if (B * H * Tq === 0) return weights ? { out, lse, weights } : { out, lse };

    const threads = this.pool.threads;
    const parallel = 4 * B * H * Tq * Tk * D >= this.parallelMinFlops;
    if (parallel) this.pool.prewake(); // workers wake while we copy
    const scratchStride = this.scratchStride(D);
    const l = new Layout();
    const inOffs = p.inputs.map((a) => l.add(a.length * 4));
    const maskOff = spec.keyMask ? l.add(B * Tk) : -1;
    const outOff = l.add(outLen * 4);
    const lseOff = l.add(B * H * Tq * 4);
    const wOff = weights ? l.add(B * H * Tq * Tk * 4) : -1;
    const scratchOff = l.add(threads * scratchStride);
    const base = this.work.reserve(l.size);

    const f32 = this.heap.f32;
    p.inputs.forEach((a, i) => f32.set(a, (base + inOffs[i]!) / 4));
    if (spec.keyMask) this.heap.u8.set(spec.keyMask.subarray(0, B * Tk), base + maskOff);
    const at = ([i, off]: [number, number]): number => base + inOffs[i]! + off * 4;

    // With fewer heads than ~4 per thread, split each head's queries into chunks (a multiple of 4 rows, the
    // kernel's row block) so every thread has work.
    const chunksPerHead = parallel ? Math.max(1, Math.ceil((4 * threads) / (B * H))) : 1;
    const qChunk = Math.max(4, Math.ceil(Math.ceil(Tq / chunksPerHead) / 4) * 4);
    const tasks = B * H * Math.ceil(Tq / qChunk);
    this.pool.run(
      'attention_forward_task',
      tasks,
      [
        at(p.q), at(p.k), at(p.v), base + outOff, base + lseOff, weights ? base + wOff : 0,
        spec.keyMask ? base + maskOff : 0,
        H, Tq, Tk, D, spec.scale, spec.causal ? 1 : 0, spec.window, qChunk, base + scratchOff, scratchStride,
        ...strideArgs(p), ...dropArgs(spec),
      ],
      parallel,
    );

    const after = this.heap.f32;
    out.set(after.subarray((base + outOff) / 4, (base + outOff) / 4 + outLen));
    lse.set(after.subarray((base + lseOff) / 4, (base + lseOff) / 4 + B * H * Tq));
    if (weights) weights.set(after.subarray((base + wOff) / 4, (base + wOff) / 4 + weights.length));
    return weights ? { out, lse, weights } : { out, lse };
  }

  /** Writes the gradients into `grads`: [dq, dk, dv] (plain) or [dqkv] (packed), laid out like the inputs. */
  private runBackward(spec: AttentionSpec, p: Placement, out: Float32Array, lse: Float32Array, dOut: Float32Array, grads: Float32Array[]): void {
    const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D } = spec;
    if (B * H === 0 || Tk === 0) return;
    const threads = this.pool.threads;
    const parallel = 10 * B * H * Tq * Tk * D >= this.parallelMinFlops && B * H > 1;
    if (parallel) this.pool.prewake(); // workers wake while we copy
    const scratchStride = this.scratchStride(D);
    const l = new Layout();
    const inOffs = p.inputs.map((a) => l.add(a.length * 4));
    const oOff = l.add(out.length * 4);
    const lseOff = l.add(B * H * Tq * 4);
    const gOff = l.add(dOut.length * 4);
    const gradOffs = grads.map((a) => l.add(a.length * 4)); // same shapes and layouts as p.inputs
    const maskOff = spec.keyMask ? l.add(B * Tk) : -1;
    const scratchOff = l.add(threads * scratchStride);
    const base = this.work.reserve(l.size);

    const f32 = this.heap.f32;
    p.inputs.forEach((a, i) => f32.set(a, (base + inOffs[i]!) / 4));
    f32.set(out, (base + oOff) / 4);
    f32.set(lse.subarray(0, B * H * Tq), (base + lseOff) / 4);
    f32.set(dOut, (base + gOff) / 4);
    if (spec.keyMask) this.heap.u8.set(spec.keyMask.subarray(0, B * Tk), base + maskOff);
    const at = ([i, off]: [number, number]): number => base + inOffs[i]! + off * 4;
    const gradAt = ([i, off]: [number, number]): number => base + gradOffs[i]! + off * 4;

    // One task per head: a head's dk and dv collect contributions from all its queries, so giving each
    // head to one thread needs no atomics or reductions.
    this.pool.run(
      'attention_backward_task',
      B * H,
      [
        at(p.q), at(p.k), at(p.v), base + oOff, base + lseOff, base + gOff,
        gradAt(p.q), gradAt(p.k), gradAt(p.v), spec.keyMask ? base + maskOff : 0,
        H, Tq, Tk, D, spec.scale, spec.causal ? 1 : 0, spec.window, base + scratchOff, scratchStride,
        ...strideArgs(p), ...dropArgs(spec),
      ],
      parallel,
    );

    const after = this.heap.f32;
    grads.forEach((g, i) => g.set(after.subarray((base + gradOffs[i]!) / 4, (base + gradOffs[i]!) / 4 + g.length)));
  }

  private scratchStride(d: number): number {
    return Math.ceil(this.kernels.attention_scratch_bytes(d) / 64) * 64;
  }
}

/** Shapes, lengths and mask settings must agree; errors name the op, the field, the value and the expectation. */
function checkSpec(op: string, spec: AttentionSpec, arrays: Record<string, Float32Array>): void {
  const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D, scale, window, keyMask } = spec;
  for (const [name, v] of [['batch', B], ['heads', H], ['tq', Tq], ['tk', Tk], ['headDim', D], ['window', window]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${op} (wasm): spec.${name} must be a non-negative integer, got ${v}`);
  }
  if (Tq > Tk) {
    throw new Error(`${op} (wasm): tq=${Tq} > tk=${Tk}; queries sit at positions tk − tq + i, so there must be at least as many keys as queries`);
  }
  if (!Number.isFinite(scale)) throw new Error(`${op} (wasm): spec.scale must be a finite number, got ${scale}`);
  if (spec.dropout && !(spec.dropout.p >= 0 && spec.dropout.p < 1)) {
    throw new Error(`${op} (wasm): spec.dropout.p must be in [0, 1), got ${spec.dropout.p}`);
  }
  const want: Record<string, number> = { q: B * H * Tq * D, k: B * H * Tk * D, v: B * H * Tk * D, out: B * H * Tq * D, dOut: B * H * Tq * D, lse: B * H * Tq };
  const dims: Record<string, string> = { q: '(B, H, Tq, D)', k: '(B, H, Tk, D)', v: '(B, H, Tk, D)', out: '(B, H, Tq, D)', dOut: '(B, H, Tq, D)', lse: '(B, H, Tq)' };
  for (const [name, arr] of Object.entries(arrays)) {
    if (arr.length !== want[name]) {
      throw new Error(`${op} (wasm): ${name} has ${arr.length} elements, expected ${dims[name]} = (${B}, ${H}, ${name === 'q' || name === 'out' || name === 'dOut' || name === 'lse' ? Tq : Tk}${name === 'lse' ? '' : `, ${D}`}) = ${want[name]}`);
    }
  }
  if (keyMask && keyMask.length !== B * Tk) {
    throw new Error(`${op} (wasm): keyMask has ${keyMask.length} entries, expected (B, Tk) = (${B}, ${Tk}) = ${B * Tk}`);
  }
}

/** The packed forms: self-attention (tq = tk = T), qkv (B, T, 3·H·D), out and dOut (B, T, H·D), lse (B, H, T). */
function checkPackedSpec(op: string, spec: AttentionSpec, arrays: Record<string, Float32Array>): void {
  checkSpec(op, spec, {});
  const { batch: B, heads: H, tq: T, tk, headDim: D } = spec;
  if (tk !== T) throw new Error(`${op} (wasm): packed qkv is self-attention, so spec.tq and spec.tk must be equal, got ${T} and ${tk}`);
  const C = H * D;
  const want: Record<string, [number, string]> = {
    qkv: [B * T * 3 * C, `(B, T, 3·H·D) = (${B}, ${T}, ${3 * C})`],
    dqkv: [B * T * 3 * C, `(B, T, 3·H·D) = (${B}, ${T}, ${3 * C})`],
    out: [B * T * C, `(B, T, H·D) = (${B}, ${T}, ${C})`],
    dOut: [B * T * C, `(B, T, H·D) = (${B}, ${T}, ${C})`],
    lse: [B * H * T, `(B, H, T) = (${B}, ${H}, ${T})`],
  };
  for (const [name, arr] of Object.entries(arrays)) {
    const [n, dims] = want[name]!;
    if (arr.length !== n) throw new Error(`${op} (wasm): ${name} has ${arr.length} elements, expected ${dims} = ${n}`);
  }
}
