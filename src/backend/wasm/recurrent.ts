// Backend.recurrentForward/Backward on the WebAssembly kernels (kernels/rnn.ts): the whole time loop of an LSTM
// or GRU layer in one call, one task per direction.
//
//   operands ──(in place when they live in this memory, else copied)──▶ pack W_hh once per direction ──▶
//   one task per direction on the pool: T steps of  product with the packed W_hh + a pass over the gates
//
// Why not a matmul call and a row kernel per step (what the layer did before): at B 32, H 256 a step's product is
// ~17 MFLOP (~0.35 ms); per call, copying operands in and out, packing W_hh (1 MB) again and a pool round trip
// cost a large part of that, and splitting so small a product between threads cost more than it saved (2 threads
// ran slower than 1). Here each direction's loop stays on one thread, with its operands in place and W_hh packed
// once, and the two directions of a bidirectional layer run on two threads side by side with no synchronisation
// per step. A single direction uses one thread (its steps depend on each other).
//
// Each task finds its direction's arrays in a descriptor of DESC_WORDS i32 words (addresses and flags), in the
// order kernels/rnn.ts lists above each task.

import { CELL_GATES, checkRecurrent, type RecurrentGradients, type RecurrentOperands, type RecurrentSpec } from '../recurrent.js';
import type { KernelExports } from './kernels.js';
import { Layout, WasmHeap, WorkArea } from './heap.js';
import { PARALLEL_MIN_FLOPS } from './matmul.js';
import type { ThreadPool } from './pool.js';

/** Words per direction descriptor (kernels/rnn.ts, DESC_BYTES = DESC_WORDS · 4). */
const DESC_WORDS = 12;

/** An operand of one call: where it goes in the work area (-1: used in place) and which way it is copied. */
interface Staged {
  a: Float32Array;
  n: number;
  copyIn: boolean;
  copyOut: boolean;
  off: number;
}

export class WasmRecurrent {
  /** Below this many flops the directions run one after the other on the calling thread (tests set 0). */
  parallelMinFlops = PARALLEL_MIN_FLOPS;

  constructor(
    private readonly kernels: KernelExports,
    private readonly heap: WasmHeap,
    private readonly work: WorkArea,
    private readonly pool: ThreadPool,
  ) {}

  forward(spec: RecurrentSpec, dirs: readonly RecurrentOperands[]): void {
    checkRecurrent('recurrentForward (wasm)', spec, dirs);
    const { cell, T, B, H } = spec;
    const G = CELL_GATES[cell];
    const GH = G * H;
    const lstm = cell === 'lstm';
    const call = new Call(this.heap);
    const per = dirs.map((d) => ({
      whh: call.stage(d.whh, GH * H, 'in'),
      mask: call.stage(d.mask, T * B, 'in'),
      gates: call.stage(d.gates, T * B * GH, 'inout'),
      h: call.stage(d.h, (T + 1) * B * H, 'inout'),
      c: lstm ? call.stage(d.c!, (T + 1) * B * H, 'inout') : null,
      bhn: lstm ? null : call.stage(d.bhn!, H, 'in'),
      hn: lstm ? null : call.stage(d.hn!, T * B * H, 'out'),
      out: call.stage(d.out, T * B * H, 'out'),
      packed: call.space(this.kernels.packed_b_floats(H, GH) * 4), // W_hhᵀ (K = H, N = G·H)
      gh: lstm ? -1 : call.space(B * GH * 4), // the GRU's h·W_hhᵀ of one step
    }));
    this.run(call, `${cell}_sequence_forward_task`, spec, dirs.length, (ptr) => {
      const desc: number[] = [];
      per.forEach((p, i) => {
        this.pack(ptr(p.whh), true, H, GH, call.at(p.packed));
        desc.push(dirs[i]!.reverse ? 1 : 0, call.at(p.packed), ptr(p.mask), ptr(p.gates), ptr(p.h));
        desc.push(lstm ? ptr(p.c!) : ptr(p.hn!), ptr(p.out), lstm ? 0 : ptr(p.bhn!), lstm ? 0 : call.at(p.gh), 0, 0, 0);
      });
      return desc;
    });
  }

  backward(spec: RecurrentSpec, dirs: readonly RecurrentOperands[], grads: readonly RecurrentGradients[]): void {
    checkRecurrent('recurrentBackward (wasm)', spec, dirs, grads);
    const { cell, T, B, H } = spec;
    const G = CELL_GATES[cell];
    const GH = G * H;
    const lstm = cell === 'lstm';
    const call = new Call(this.heap);
    const per = dirs.map((d, i) => {
      const g = grads[i]!;
      return {
        whh: call.stage(d.whh, GH * H, 'in'),
        mask: call.stage(d.mask, T * B, 'in'),
        gates: call.stage(d.gates, T * B * GH, 'in'),
        h: lstm ? null : call.stage(d.h, (T + 1) * B * H, 'in'),
        c: lstm ? call.stage(d.c!, (T + 1) * B * H, 'in') : null,
        hn: lstm ? null : call.stage(d.hn!, T * B * H, 'in'),
        dy: call.stage(g.dy, T * B * H, 'in'),
        dh: call.stage(g.dh, B * H, 'inout'),
        dc: lstm ? call.stage(g.dc!, B * H, 'inout') : null,
        dRec: lstm ? null : call.stage(g.dRec!, T * B * GH, 'out'),
        dGates: call.stage(g.dGates, T * B * GH, 'out'),
        packed: call.space(this.kernels.packed_b_floats(GH, H) * 4), // W_hh (K = G·H, N = H)
        x: call.space(B * H * 4), // the gradient being built for the previous state
      };
    });
    this.run(call, `${cell}_sequence_backward_task`, spec, dirs.length, (ptr) => {
      const desc: number[] = [];
      per.forEach((p, i) => {
        this.pack(ptr(p.whh), false, GH, H, call.at(p.packed));
        desc.push(dirs[i]!.reverse ? 1 : 0, call.at(p.packed), ptr(p.mask), ptr(p.gates), lstm ? 0 : ptr(p.h!));
        desc.push(lstm ? ptr(p.c!) : ptr(p.hn!), ptr(p.dy), ptr(p.dh), lstm ? ptr(p.dc!) : ptr(p.dRec!), ptr(p.dGates));
        desc.push(call.at(p.x), grads[i]!.needDh0 ? 1 : 0);
      });
      return desc;
    });
  }

  /** Lay out the call (operands, descriptors, gemm scratch), copy in, write the descriptors, run, copy out. */
  private run(call: Call, task: string, spec: RecurrentSpec, ndirs: number, describe: (ptr: (s: Staged) => number) => number[]): void {
    const { cell, T, B, H } = spec;
    const flops = 2 * T * B * CELL_GATES[cell] * H * H * ndirs;
    const parallel = ndirs > 1 && this.pool.worthParallel(flops, this.parallelMinFlops);
    if (parallel) this.pool.prewake(); // workers wake while we copy and pack
    const threads = this.pool.threads;
    const scratchStride = alignUp(this.kernels.gemm_scratch_bytes());
    const scratch = call.space(threads * scratchStride);
    const descOff = call.space(ndirs * DESC_WORDS * 4);
    call.reserve(this.work);
    const desc = describe((s) => call.ptr(s));
    const words = new Int32Array(this.heap.buffer(), call.at(descOff), ndirs * DESC_WORDS);
    words.set(desc);
    this.pool.run(task, ndirs, [T, B, H, call.at(descOff), call.at(scratch), scratchStride], parallel);
    call.copyOut();
  }

  /** Pack op(B) (K, N) from W_hh at wPtr into the micro-kernel's panels at bp (on this thread: ~0.1 ms). */
  private pack(wPtr: number, transB: boolean, K: number, N: number, bp: number): void {
    const { KC, NR } = this.kernels.tile;
    const kBlocks = Math.ceil(K / KC);
    const groupCols = Math.ceil(N / NR) * NR; // one column group: every panel of a K block
    this.pool.run('pack_b_task', kBlocks, [wPtr, transB ? 1 : 0, K, N, 0, 1, bp, groupCols], false);
  }
}

/** The work-area layout of one call: staged operands (copied unless they live in this memory) and scratch. */
class Call {
  private readonly layout = new Layout();
  private readonly staged: Staged[] = [];
  private base = 0;

  constructor(private readonly heap: WasmHeap) {}

  /** An operand of n floats: 'in' is copied in, 'out' copied out, 'inout' both — unless it is in memory already. */
  stage(a: Float32Array, n: number, way: 'in' | 'out' | 'inout'): Staged {
    const inPlace = this.heap.owns(a);
    const s: Staged = { a, n, copyIn: way !== 'out', copyOut: way !== 'in', off: inPlace ? -1 : this.layout.add(n * 4) };
    if (!inPlace) this.staged.push(s);
    return s;
  }

  /** Offset of `bytes` bytes of scratch (an address once reserved: at()). */
  space(bytes: number): number {
    return this.layout.add(bytes);
  }

  /** Reserve the work area and copy the 'in' operands into it. */
  reserve(work: WorkArea): void {
    this.base = work.reserve(this.layout.size);
    const f32 = this.heap.f32;
    for (const s of this.staged) if (s.copyIn) f32.set(s.a.subarray(0, s.n), (this.base + s.off) / 4);
  }

  at(off: number): number {
    return this.base + off;
  }

  /** Byte address of an operand: where it is, or its copy. */
  ptr(s: Staged): number {
    return s.off < 0 ? s.a.byteOffset : this.base + s.off;
  }

  copyOut(): void {
    const f32 = this.heap.f32;
    for (const s of this.staged) if (s.copyOut) s.a.set(f32.subarray((this.base + s.off) / 4, (this.base + s.off) / 4 + s.n));
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / 64) * 64;
}
