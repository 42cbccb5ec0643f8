// Backend.attentionForward / attentionBackward on the WebAssembly kernels (kernels/attention.ts): check the
// spec, copy q, k, v (and for backward out, lse, dOut) into WebAssembly memory, run one task per head (or
// per block of query rows when there are fewer heads than threads), copy the results out.
//
// Shape letters: B batch, H heads, Tq query length, Tk key length, D head size.

import type { AttentionForwardResult, AttentionSpec } from '../backend.js';
import type { KernelExports } from './kernels.js';
import { Layout, WasmHeap, WorkArea } from './heap.js';
import type { ThreadPool } from './pool.js';

/**
 * Attention below this many flops (≈ 4·B·H·Tq·Tk·D for the two products) runs on the calling thread alone;
 * the same reasoning and measurement as PARALLEL_MIN_FLOPS in matmul.ts.
 */
export const ATTENTION_PARALLEL_MIN_FLOPS = 1e6;

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
    const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D } = spec;
    const qLen = B * H * Tq * D;
    const kvLen = B * H * Tk * D;
    const out = new Float32Array(qLen); // (B, H, Tq, D)
    const lse = new Float32Array(B * H * Tq); // (B, H, Tq)
    const weights = returnWeights ? new Float32Array(B * H * Tq * Tk) : undefined; // (B, H, Tq, Tk)
    if (B * H * Tq === 0) return weights ? { out, lse, weights } : { out, lse };

    const threads = this.pool.threads;
    const parallel = 4 * B * H * Tq * Tk * D >= this.parallelMinFlops;
    if (parallel) this.pool.prewake(); // workers wake while we copy
    const scratchStride = this.scratchStride(D);
    const l = new Layout();
    const qOff = l.add(qLen * 4);
    const kOff = l.add(kvLen * 4);
    const vOff = l.add(kvLen * 4);
    const maskOff = spec.keyMask ? l.add(B * Tk) : -1;
    const outOff = l.add(qLen * 4);
    const lseOff = l.add(B * H * Tq * 4);
    const wOff = weights ? l.add(B * H * Tq * Tk * 4) : -1;
    const scratchOff = l.add(threads * scratchStride);
    const base = this.work.reserve(l.size);

    const f32 = this.heap.f32;
    f32.set(q.subarray(0, qLen), (base + qOff) / 4);
    f32.set(k.subarray(0, kvLen), (base + kOff) / 4);
    f32.set(v.subarray(0, kvLen), (base + vOff) / 4);
    if (spec.keyMask) this.heap.u8.set(spec.keyMask.subarray(0, B * Tk), base + maskOff);

    // With fewer heads than ~4 per thread, split each head's queries into chunks (a multiple of 4 rows, the
    // kernel's row block) so every thread has work.
    const chunksPerHead = parallel ? Math.max(1, Math.ceil((4 * threads) / (B * H))) : 1;
    const qChunk = Math.max(4, Math.ceil(Math.ceil(Tq / chunksPerHead) / 4) * 4);
    const tasks = B * H * Math.ceil(Tq / qChunk);
    this.pool.run(
      'attention_forward_task',
      tasks,
      [
        base + qOff, base + kOff, base + vOff, base + outOff, base + lseOff, weights ? base + wOff : 0,
        spec.keyMask ? base + maskOff : 0,
        H, Tq, Tk, D, spec.scale, spec.causal ? 1 : 0, spec.window, qChunk, base + scratchOff, scratchStride,
      ],
      parallel,
    );

    const after = this.heap.f32;
    out.set(after.subarray((base + outOff) / 4, (base + outOff) / 4 + qLen));
    lse.set(after.subarray((base + lseOff) / 4, (base + lseOff) / 4 + B * H * Tq));
    if (weights) weights.set(after.subarray((base + wOff) / 4, (base + wOff) / 4 + weights.length));
    return weights ? { out, lse, weights } : { out, lse };
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
    const qLen = B * H * Tq * D;
    const kvLen = B * H * Tk * D;
    const dq = new Float32Array(qLen); // (B, H, Tq, D)
    const dk = new Float32Array(kvLen); // (B, H, Tk, D)
    const dv = new Float32Array(kvLen); // (B, H, Tk, D)
    if (B * H === 0 || Tk === 0) return { dq, dk, dv };

    const threads = this.pool.threads;
    const parallel = 10 * B * H * Tq * Tk * D >= this.parallelMinFlops && B * H > 1;
    if (parallel) this.pool.prewake(); // workers wake while we copy
    const scratchStride = this.scratchStride(D);
    const l = new Layout();
    const qOff = l.add(qLen * 4);
    const kOff = l.add(kvLen * 4);
    const vOff = l.add(kvLen * 4);
    const oOff = l.add(qLen * 4);
    const lseOff = l.add(B * H * Tq * 4);
    const gOff = l.add(qLen * 4);
    const dqOff = l.add(qLen * 4);
    const dkOff = l.add(kvLen * 4);
    const dvOff = l.add(kvLen * 4);
    const maskOff = spec.keyMask ? l.add(B * Tk) : -1;
    const scratchOff = l.add(threads * scratchStride);
    const base = this.work.reserve(l.size);

    const f32 = this.heap.f32;
    f32.set(q.subarray(0, qLen), (base + qOff) / 4);
    f32.set(k.subarray(0, kvLen), (base + kOff) / 4);
    f32.set(v.subarray(0, kvLen), (base + vOff) / 4);
    f32.set(out.subarray(0, qLen), (base + oOff) / 4);
    f32.set(lse.subarray(0, B * H * Tq), (base + lseOff) / 4);
    f32.set(dOut.subarray(0, qLen), (base + gOff) / 4);
    if (spec.keyMask) this.heap.u8.set(spec.keyMask.subarray(0, B * Tk), base + maskOff);

    // One task per head: a head's dk and dv collect contributions from all its queries, so giving each
    // head to one thread needs no atomics or reductions.
    this.pool.run(
      'attention_backward_task',
      B * H,
      [
        base + qOff, base + kOff, base + vOff, base + oOff, base + lseOff, base + gOff,
        base + dqOff, base + dkOff, base + dvOff, spec.keyMask ? base + maskOff : 0,
        H, Tq, Tk, D, spec.scale, spec.causal ? 1 : 0, spec.window, base + scratchOff, scratchStride,
      ],
      parallel,
    );

    const after = this.heap.f32;
    dq.set(after.subarray((base + dqOff) / 4, (base + dqOff) / 4 + qLen));
    dk.set(after.subarray((base + dkOff) / 4, (base + dkOff) / 4 + kvLen));
    dv.set(after.subarray((base + dvOff) / 4, (base + dvOff) / 4 + kvLen));
    return { dq, dk, dv };
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
