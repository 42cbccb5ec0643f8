// Kernel timing for the `--breakdown` benches (train, bert): the backend's entry points wrapped with timers, and
// the shape of one breakdown. Measurement only — it patches the bench's own backend instance.
import type { AttentionSpec, Backend, LinearSpec, MatmulSpec, RowKernel } from '../src/backend/backend.js';

/** Seconds, FLOPs and calls per kernel name, filled while a step runs. */
export type KernelTimes = Map<string, { s: number; flops: number; calls: number }>;

/**
 * Wrap the backend's kernel entry points with timers (measurement only: the bench's own backend instance).
 * GEMM FLOPs: 2·m·n·k per product; a linear layer's backward does up to two (dx and dW). Attention FLOPs:
 * 4·B·H·D per visible (query, key) pair forward (q·kᵀ and p·v) — Tq·Tk pairs, about half that when causal —
 * and 2.5 times that backward (the scores again, then dv, dp, dq, dk).
 */
export function instrument(be: Backend, times: KernelTimes): void {
  const add = (name: string, s: number, flops: number): void => {
    const e = times.get(name) ?? { s: 0, flops: 0, calls: 0 };
    e.s += s;
    e.flops += flops;
    e.calls++;
    times.set(name, e);
  };
  const timed = <A extends unknown[]>(fn: (...a: A) => void, name: (...a: A) => string, flops: (...a: A) => number) =>
    (...a: A): void => {
      const t0 = performance.now();
      fn(...a);
      add(name(...a), (performance.now() - t0) / 1000, flops(...a));
    };
  const mm = be.matmul.bind(be);
  be.matmul = timed(mm, () => 'gemm (forward)', (_a, _b, _o, sp: MatmulSpec) => 2 * sp.batch * sp.m * sp.n * sp.k);
  const lb = be.linearBackward.bind(be);
  be.linearBackward = timed(lb, () => 'gemm (linear backward)', (_x, _w, _dy, sp: LinearSpec, dx, dw) => 2 * sp.rows * sp.inF * sp.outF * ((dx ? 1 : 0) + (dw ? 1 : 0)));
  const attnFlops = (sp: AttentionSpec): number => {
    let pairs = 0;
    for (let i = 0; i < sp.tq; i++) pairs += Math.max(0, sp.hi[i]! - sp.lo[i]! + 1);
    return 4 * sp.batch * sp.heads * pairs * sp.headDim;
  };
  const af = be.attentionForward.bind(be);
  be.attentionForward = timed(af, () => 'attention forward', (sp) => attnFlops(sp));
  const ab = be.attentionBackward.bind(be);
  be.attentionBackward = timed(ab, () => 'attention backward', (sp) => 2.5 * attnFlops(sp));
  const rr = be.runRows.bind(be);
  be.runRows = timed(rr, (k: RowKernel) => `rows: ${k.name}`, () => 0);
}

/** One case's breakdown: per phase and per kernel, milliseconds per step. */
export interface Breakdown {
  step_ms: number;
  phases: Record<string, number>; // ms per step
  kernels: Record<string, { ms: number; gflops: number; calls: number }>; // per step
  peak_gflops: number; // one core's f32x4 multiply-add peak
  threads: number;
}

