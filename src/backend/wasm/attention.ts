// Backend.attentionForward / attentionBackward on the WebAssembly kernels (kernels/attention.ts): check the
// call (checkAttention, the rules both backends share), copy each operand's storage into WebAssembly memory
// once (q, k and v sliced out of one fused projection arrive as three views of one array: it is copied
// once, and the kernels read the three views through their strides), run the tasks on the pool, copy the
// results out.
//
// Forward runs one task per head, or per block of query rows when there are fewer heads than ~4 per thread.
// Backward runs one task per head: a head's dk and dv collect contributions from all its queries, so giving
// each head to one thread needs no atomics or reductions (with a bias shared by the batch whose gradient is
// wanted, one task per head across the batch, for the same reason).
//
// Shape letters: B batch, H heads, Tq query length, Tk key length, D head size.

import { checkAttention, dropoutOf, type AttentionGrads, type AttentionOutputs, type AttentionSpec, type AttnOperand } from '../backend.js';
import type { KernelExports } from './kernels.js';
import { Layout, WasmHeap, WorkArea } from './heap.js';
import type { ThreadPool } from './pool.js';

/**
 * Attention below this many flops (≈ 4·B·H·Tq·Tk·D for the two products) runs on the calling thread alone;
 * the same reasoning and measurement as PARALLEL_MIN_FLOPS in matmul.ts.
 */
export const ATTENTION_PARALLEL_MIN_FLOPS = 1e6;

/**
 * The arrays one call moves into WebAssembly memory, each once: for every distinct Float32Array, the range
 * of elements its operands reach. Inputs are copied in; outputs are copied in too unless one dense operand
 * covers its range (so elements between an output's rows keep their values), and copied back out.
 */
class Staging {
  private readonly regions = new Map<Float32Array, { lo: number; hi: number; off: number; output: boolean; dense: boolean }>();

  constructor(private readonly heap: WasmHeap) {}

  /**
   * Register operand o of (B, H, T, D) (rows of D floats, (b, h, t) strides). An operand that lives in this
   * memory already (a training step's activations) is used where it is: no region, no copy.
   */
  add(o: AttnOperand, B: number, H: number, T: number, D: number, output = false): void {
    if (B * H * T * D === 0 || this.heap.owns(o.data)) return;
    const lo = o.offset;
    const hi = o.offset + (B - 1) * o.sb + (H - 1) * o.sh + (T - 1) * o.st + D;
    // Dense: the rows tile [lo, hi) exactly, in (b, t, h) order (the layout of a (B, T, H, D) result).
    const dense = o.sh === D && o.st === H * D && (B === 1 || o.sb === T * H * D);
    const r = this.regions.get(o.data);
    if (!r) this.regions.set(o.data, { lo, hi, off: -1, output, dense });
    else {
      r.lo = Math.min(r.lo, lo);
      r.hi = Math.max(r.hi, hi);
      r.output ||= output;
      r.dense = false; // several operands share this array
    }
  }

  /** Reserve space for every region in the call's layout. */
  layout(l: Layout): void {
    for (const r of this.regions.values()) r.off = l.add((r.hi - r.lo) * 4);
  }

  /** Copy the regions into memory at `base`. */
  copyIn(heap: WasmHeap, base: number): void {
    const f32 = heap.f32;
    for (const [data, r] of this.regions) {
      if (r.output && r.dense) continue; // every element will be written
      f32.set(data.subarray(r.lo, r.hi), (base + r.off) / 4);
    }
  }

  /** Copy the output regions back. */
  copyOut(heap: WasmHeap, base: number): void {
    const f32 = heap.f32;
    for (const [data, r] of this.regions) {
      if (r.output) data.set(f32.subarray((base + r.off) / 4, (base + r.off) / 4 + (r.hi - r.lo)), r.lo);
    }
  }

  /** Byte address of element 0 of an operand (its offset) in memory at `base`, or where it lives. */
  at(o: AttnOperand, base: number): number {
    if (this.heap.owns(o.data)) return o.data.byteOffset + o.offset * 4;
    const r = this.regions.get(o.data);
    return r ? base + r.off + (o.offset - r.lo) * 4 : 0;
  }
}

/** (b, h, row) strides of an operand, in floats, as the kernels take them. */
const strides = (o: AttnOperand): number[] => [o.sb, o.sh, o.st];

export class WasmAttention {
  /** Below this many flops a call runs on the calling thread alone (tests set 0 to force the pool). */
  parallelMinFlops = ATTENTION_PARALLEL_MIN_FLOPS;

  constructor(
    private readonly kernels: KernelExports,
    private readonly heap: WasmHeap,
    private readonly work: WorkArea,
    private readonly pool: ThreadPool,
  ) {}

  forward(spec: AttentionSpec, q: AttnOperand, k: AttnOperand, v: AttnOperand, res: AttentionOutputs): void {
    const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D } = spec;
    checkAttention('attentionForward (wasm)', spec, { q, k, v, out: res.out }, { lse: [res.lse, B * H * Tq], weights: [res.weights, B * H * Tq * Tk] });
    if (B * H * Tq === 0) return;
    const threads = this.pool.threads;
    const parallel = this.pool.worthParallel(4 * B * H * Tq * Tk * D, this.parallelMinFlops);
    if (parallel) this.pool.prewake(); // workers wake while we copy

    const st = new Staging(this.heap);
    st.add(q, B, H, Tq, D);
    st.add(k, B, H, Tk, D);
    st.add(v, B, H, Tk, D);
    st.add(res.out, B, H, Tq, D, true);
    const l = new Layout();
    st.layout(l);
    const common = this.layoutCommon(l, spec);
    const lseHome = this.heap.addressOf(res.lse);
    const wHome = this.heap.addressOf(res.weights);
    const lseOff = lseHome === 0 ? l.add(B * H * Tq * 4) : -1;
    const wOff = res.weights && wHome === 0 ? l.add(B * H * Tq * Tk * 4) : -1;
    const scratchStride = this.scratchStride(D);
    const scratchOff = l.add(threads * scratchStride);
    const base = this.work.reserve(l.size);
    st.copyIn(this.heap, base);
    const c = this.copyCommon(spec, base, common);
    const lsePtr = lseHome || base + lseOff;
    const wPtr = res.weights ? wHome || base + wOff : 0;

    // With fewer heads than ~4 per thread, split each head's queries into chunks (a multiple of 4 rows, the
    // kernel's row block) so every thread has work.
    const chunksPerHead = parallel ? Math.max(1, Math.ceil((4 * threads) / (B * H))) : 1;
    const qChunk = Math.max(4, Math.ceil(Math.ceil(Tq / chunksPerHead) / 4) * 4);
    const tasks = B * H * Math.ceil(Tq / qChunk);
    this.pool.run(
      'attention_forward_task',
      tasks,
      [
        st.at(q, base), st.at(k, base), st.at(v, base), st.at(res.out, base), lsePtr, wPtr,
        c.mask, c.lo, c.hi, c.bias, c.headMask,
        H, Tq, Tk, D, spec.scale, qChunk, base + scratchOff, scratchStride,
        ...strides(q), ...strides(k), ...strides(v), ...strides(res.out), ...c.biasStrides, c.hmB, ...dropArgs(spec),
      ],
      parallel,
    );

    st.copyOut(this.heap, base);
    const after = this.heap.f32;
    if (lseHome === 0) res.lse.set(after.subarray((base + lseOff) / 4, (base + lseOff) / 4 + B * H * Tq));
    if (res.weights && wHome === 0) res.weights.set(after.subarray((base + wOff) / 4, (base + wOff) / 4 + B * H * Tq * Tk));
  }

  backward(
    spec: AttentionSpec,
    q: AttnOperand,
    k: AttnOperand,
    v: AttnOperand,
    out: AttnOperand,
    lse: Float32Array,
    dOut: AttnOperand,
    grads: AttentionGrads,
  ): void {
    const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D } = spec;
    const { dq, dk, dv, dBias, dHeadMask } = grads;
    const sharedBias = spec.bias !== undefined && spec.bias.sb === 0;
    const biasB = sharedBias ? 1 : B;
    checkAttention('attentionBackward (wasm)', spec, { q, k, v, out, dOut, dq, dk, dv }, {
      lse: [lse, B * H * Tq], dBias: [dBias, biasB * H * Tq * Tk], dHeadMask: [dHeadMask, B * H],
    });
    if (B * H === 0) return;
    const threads = this.pool.threads;
    const batchLoop = sharedBias && dBias !== undefined && B > 1;
    const tasks = batchLoop ? H : B * H;
    const parallel = this.pool.worthParallel(10 * B * H * Tq * Tk * D, this.parallelMinFlops) && tasks > 1;
    if (parallel) this.pool.prewake(); // workers wake while we copy

    const st = new Staging(this.heap);
    st.add(q, B, H, Tq, D);
    st.add(k, B, H, Tk, D);
    st.add(v, B, H, Tk, D);
    st.add(out, B, H, Tq, D);
    st.add(dOut, B, H, Tq, D);
    st.add(dq, B, H, Tq, D, true);
    st.add(dk, B, H, Tk, D, true);
    st.add(dv, B, H, Tk, D, true);
    const l = new Layout();
    st.layout(l);
    const common = this.layoutCommon(l, spec);
    const lseHome = this.heap.addressOf(lse);
    const lseOff = lseHome === 0 ? l.add(B * H * Tq * 4) : -1;
    const dBiasOff = dBias ? l.add(dBias.length * 4) : -1;
    const dHmOff = dHeadMask ? l.add(B * H * 4) : -1;
    const scratchStride = this.scratchStride(D);
    const scratchOff = l.add(threads * scratchStride);
    const base = this.work.reserve(l.size);
    st.copyIn(this.heap, base);
    const c = this.copyCommon(spec, base, common);
    const f32 = this.heap.f32;
    if (lseHome === 0) f32.set(lse.subarray(0, B * H * Tq), (base + lseOff) / 4);
    const lsePtr = lseHome || base + lseOff;
    if (dBias) f32.set(dBias, (base + dBiasOff) / 4); // accumulated into

    this.pool.run(
      'attention_backward_task',
      tasks,
      [
        st.at(q, base), st.at(k, base), st.at(v, base), st.at(out, base), lsePtr, st.at(dOut, base),
        st.at(dq, base), st.at(dk, base), st.at(dv, base),
        c.mask, c.lo, c.hi, c.bias, dBias ? base + dBiasOff : 0, c.headMask, dHeadMask ? base + dHmOff : 0,
        H, B, Tq, Tk, D, spec.scale, base + scratchOff, scratchStride, batchLoop ? 1 : 0,
        ...strides(q), ...strides(k), ...strides(v), ...strides(out), ...strides(dq), ...strides(dk), ...strides(dv),
        ...c.biasStrides, c.hmB, ...dropArgs(spec),
      ],
      parallel,
    );

    st.copyOut(this.heap, base);
    const after = this.heap.f32;
    if (dBias) dBias.set(after.subarray((base + dBiasOff) / 4, (base + dBiasOff) / 4 + dBias.length));
    if (dHeadMask) dHeadMask.set(after.subarray((base + dHmOff) / 4, (base + dHmOff) / 4 + B * H));
  }

  /** Room for what both passes read besides the operands: key ranges, padding mask, bias, head mask. */
  private layoutCommon(l: Layout, spec: AttentionSpec): { lo: number; hi: number; mask: number; bias: number; biasLen: number; hm: number } {
    const { batch: B, heads: H, tq: Tq, tk: Tk } = spec;
    const bias = spec.bias;
    const biasLen = bias && B * H * Tq * Tk > 0 ? (B - 1) * bias.sb + (H - 1) * bias.sh + (Tq - 1) * bias.st + Tk : 0;
    return {
      lo: l.add(Tq * 4),
      hi: l.add(Tq * 4),
      mask: spec.keyMask ? l.add(B * Tk) : -1,
      bias: biasLen > 0 ? l.add(biasLen * 4) : -1,
      biasLen,
      hm: spec.headMask ? l.add(spec.headMask.length * 4) : -1,
    };
  }

  /** Copy the common parts in; returns their addresses (0 for absent ones) and the bias/head-mask strides. */
  private copyCommon(
    spec: AttentionSpec,
    base: number,
    c: { lo: number; hi: number; mask: number; bias: number; biasLen: number; hm: number },
  ): { lo: number; hi: number; mask: number; bias: number; headMask: number; biasStrides: number[]; hmB: number } {
    const u8 = this.heap.u8;
    const bytes = (a: Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    u8.set(bytes(spec.lo), base + c.lo);
    u8.set(bytes(spec.hi), base + c.hi);
    if (spec.keyMask) u8.set(spec.keyMask.subarray(0, spec.batch * spec.tk), base + c.mask);
    const f32 = this.heap.f32;
    const bias = spec.bias;
    if (bias && c.bias >= 0) f32.set(bias.data.subarray(bias.offset, bias.offset + c.biasLen), (base + c.bias) / 4);
    if (spec.headMask) f32.set(spec.headMask, (base + c.hm) / 4);
    return {
      lo: base + c.lo,
      hi: base + c.hi,
      mask: spec.keyMask ? base + c.mask : 0,
      bias: bias && c.bias >= 0 ? base + c.bias : 0,
      headMask: spec.headMask ? base + c.hm : 0,
      biasStrides: bias ? [bias.sb, bias.sh, bias.st] : [0, 0, 0],
      hmB: spec.headMask && spec.headMask.length !== spec.heads ? spec.heads : 0,
    };
  }

  private scratchStride(d: number): number {
    return Math.ceil(this.kernels.attention_scratch_bytes(d) / 64) * 64;
  }
}

/** The kernels' dropout arguments: threshold (0 = none), 1/(1 − p), seed hash (see dropKeeps). */
function dropArgs(spec: AttentionSpec): number[] {
  const d = dropoutOf(spec);
  return d ? [d.threshold | 0, d.scale, d.seedHash | 0] : [0, 1, 0];
}
