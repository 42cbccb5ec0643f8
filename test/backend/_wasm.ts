// Shared helpers for the WebAssembly backend tests: the backends under test (both kernel builds × 1 and 2
// threads), a seeded random source, and comparisons with tolerances relative to the size of the values.
//
// The oracle is the reference backend (src/backend/js): plain loops written to be read. Fused multiply-add
// and a different summation order change the rounding, so results are compared up to a tolerance scaled by
// the magnitude the computation involves, never exactly.
import assert from 'node:assert/strict';
import { JsBackend } from '../../src/backend/js/index.js';
import { createWasmBackend, hasRelaxedSimd, type KernelVariant, type WasmBackend } from '../../src/backend/wasm/index.js';
import { nodePlatform } from '../../src/platform/node.js';

export const reference = new JsBackend();

/** Every configuration the tests cover; the relaxed build only where this runtime has relaxed SIMD. */
export function wasmConfigs(): { label: string; simd: KernelVariant; threads: number }[] {
  const variants: KernelVariant[] = hasRelaxedSimd() ? ['relaxed', 'baseline'] : ['baseline'];
  const out: { label: string; simd: KernelVariant; threads: number }[] = [];
  for (const simd of variants) for (const threads of [1, 2]) out.push({ label: `wasm ${simd}, ${threads === 1 ? '1 thread' : `${threads} threads (every call on the pool)`}`, simd, threads });
  return out;
}

const backends = new Map<string, WasmBackend>();
/**
 * One backend per configuration, shared by the test files of this process (each has its own memory and
 * pool). With more than one thread, every call goes through the pool (parallelMinFlops = 0), so even the
 * smallest, most awkward shapes are split into tasks and run on both threads.
 */
export function wasmBackend(simd: KernelVariant, threads: number): WasmBackend {
  const key = `${simd}/${threads}`;
  let b = backends.get(key);
  if (!b) {
    b = createWasmBackend(nodePlatform, { simd, threads });
    if (threads > 1) b.parallelMinFlops = 0;
    backends.set(key, b);
  }
  return b;
}

/** mulberry32: a tiny seeded generator so every run tests the same numbers. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [-1, 1). */
export function randomArray(n: number, next: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * next() - 1;
  return a;
}

/**
 * |got − want| ≤ rtol · scale[i] for every i, where scale[i] is the magnitude the value was computed from
 * (e.g. Σ_p |a_ip|·|b_pj| for a matmul). Infinities must match exactly. The message names the first bad index.
 */
export function assertClose(got: Float32Array, want: Float32Array, scale: Float32Array | number, rtol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length ${got.length}, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (!Number.isFinite(w)) {
      assert.ok(g === w, `${what}[${i}] = ${g}, expected ${w}`);
      continue;
    }
    const s = typeof scale === 'number' ? scale : scale[i]!;
    const tol = rtol * Math.max(s, 1e-30);
    if (!(Math.abs(g - w) <= tol)) {
      assert.fail(`${what}[${i}] = ${g}, expected ${w} (|diff| ${Math.abs(g - w).toExponential(2)} > tol ${tol.toExponential(2)})`);
    }
  }
}

/** Largest |x|, at least 1: the scale for comparing arrays of values of order one. */
export function maxAbs(x: Float32Array): number {
  let m = 1;
  for (const v of x) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}
