// Test helpers for src/generate: fixture loading and two tiny deterministic "language models" (a bigram
// table, and a toy model whose logits also depend on positions and on every attended token) in a cached and
// a no-cache version, so tests can compare the two and enumerate every possible output by brute force.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { readSafetensors } from '../../src/io/safetensors.js';
import type { CausalLMStepper, StepBatch } from '../../src/generate/model.js';

/** Repository root (tests run from dist/test/generate). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

export function readJson<T>(...parts: string[]): T {
  return JSON.parse(readFileSync(join(FIXTURES, ...parts), 'utf8')) as T;
}

/** All float32 arrays of an expected.safetensors, by name. */
export function readArrays(...parts: string[]): Map<string, { shape: number[]; data: Float32Array }> {
  const bytes = new Uint8Array(readFileSync(join(FIXTURES, ...parts)));
  const { tensors } = readSafetensors(bytes, parts.join('/'), { copy: true });
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of tensors) {
    if (!(t.data instanceof Float32Array)) throw new Error(`fixture ${parts.join('/')}: ${name} is ${t.dtype}, expected F32`);
    out.set(name, { shape: t.shape, data: t.data });
  }
  return out;
}

/** The fixtures write non-finite floats as strings. */
export function jsonFloat(x: number | string): number {
  if (typeof x === 'number') return x;
  if (x === '-Infinity') return -Infinity;
  if (x === 'Infinity') return Infinity;
  if (x === 'NaN') return NaN;
  throw new Error(`not a JSON float: ${JSON.stringify(x)}`);
}

/** -Infinity must match exactly; finite values within atol + rtol·|expected|. */
export function assertScoresClose(actual: Float32Array, expected: ArrayLike<number>, label: string, atol = 1e-5, rtol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!Number.isFinite(e)) {
      assert.equal(a, e, `${label}[${i}]: expected ${e}, got ${a}`);
      continue;
    }
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${label}[${i}]: expected ${e}, got ${a} (diff ${Math.abs(a - e)})`);
  }
}

/** mulberry32, a seeded [0, 1) source independent of the code under test. */
export function testRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Box-Muller normal samples from a uniform source. */
export function normals(n: number, u: () => number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.max(u(), 1e-12);
    out[i] = std * Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * u());
  }
  return out;
}

// -----------------------------------------------------------------------------------------------------------
// Toy models

/**
 * A toy causal LM over V tokens:
 *   logits(row) = A[last token] + Bpos[position of the last token mod P] + C[h mod H]
 * where h = Σ over attended positions t of (ids[t]·7 + pos[t]·3 + 1). So the next token depends on the last
 * token, on the position ids (wrong positions under left padding change it) and on every attended token
 * (padding that leaks into h changes it). With `withPositions = false, withHistory = false` it is a plain
 * bigram model: logits = A[last token].
 */
export class ToyModel {
  readonly A: Float32Array; // (V, V)
  readonly Bpos: Float32Array; // (P, V)
  readonly C: Float32Array; // (H, V)
  readonly P = 5;
  readonly H = 7;
  /** How many positions each forward computed (to check that the cached stepper only runs new tokens). */
  positionsComputed = 0;

  constructor(readonly V: number, seed: number, readonly withPositions = true, readonly withHistory = true, scale = 2) {
    const u = testRng(seed);
    this.A = normals(V * V, u, scale);
    this.Bpos = normals(this.P * V, u, withPositions ? 1 : 0);
    this.C = normals(this.H * V, u, withHistory ? 1 : 0);
  }

  /** The contribution of one attended token to h. */
  static term(id: number, pos: number): number {
    return id * 7 + pos * 3 + 1;
  }

  logitsFor(last: number, lastPos: number, h: number): Float32Array {
    const { V } = this;
    const out = new Float32Array(V);
    const p = ((lastPos % this.P) + this.P) % this.P;
    for (let v = 0; v < V; v++) out[v] = this.A[last * V + v]! + this.Bpos[p * V + v]! + this.C[(h % this.H) * V + v]!;
    return out;
  }

  /** Plain log-softmax in float64, for brute-force oracles. */
  logProbs(last: number, lastPos: number, h: number): Float64Array {
    const l = this.logitsFor(last, lastPos, h);
    let max = -Infinity;
    for (const x of l) max = Math.max(max, x);
    let sum = 0;
    for (const x of l) sum += Math.exp(x - max);
    return Float64Array.from(l, (x) => x - max - Math.log(sum));
  }
}

/** Re-runs the whole (rows, S) sequence every call: the no-cache reference. */
export function noCacheStepper(model: ToyModel): CausalLMStepper & { calls: StepBatch[] } {
  const calls: StepBatch[] = [];
  return {
    vocabSize: model.V,
    calls,
    forward(b: StepBatch): Float32Array {
      calls.push(b);
      const out = new Float32Array(b.rows * model.V);
      for (let r = 0; r < b.rows; r++) {
        let h = 0;
        for (let t = 0; t < b.length; t++) {
          if (b.attentionMask[r * b.length + t]) h += ToyModel.term(b.inputIds[r * b.length + t]!, b.positionIds[r * b.length + t]!);
        }
        model.positionsComputed += b.length;
        const last = r * b.length + b.length - 1;
        out.set(model.logitsFor(b.inputIds[last]!, b.positionIds[last]!, h), r * model.V);
      }
      return out;
    },
    reorderCache() {},
  };
}

/**
 * Keeps h per row (the "KV cache" of the toy model) and only reads the new columns of each call; beam search
 * must reorder it with reorderCache, or the logits go wrong.
 */
export function cachedStepper(model: ToyModel): CausalLMStepper & { reorders: Int32Array[] } {
  let h: number[] = [];
  let seen = 0; // positions in the cache
  const reorders: Int32Array[] = [];
  return {
    vocabSize: model.V,
    reorders,
    forward(b: StepBatch): Float32Array {
      if (b.pastLength !== seen) throw new Error(`cached toy stepper: pastLength ${b.pastLength} but ${seen} positions are cached`);
      if (b.pastLength === 0) h = new Array<number>(b.rows).fill(0);
      if (h.length !== b.rows) throw new Error(`cached toy stepper: ${b.rows} rows but the cache has ${h.length}`);
      const out = new Float32Array(b.rows * model.V);
      for (let r = 0; r < b.rows; r++) {
        for (let t = b.pastLength; t < b.length; t++) {
          if (b.attentionMask[r * b.length + t]) h[r]! += ToyModel.term(b.inputIds[r * b.length + t]!, b.positionIds[r * b.length + t]!);
        }
        model.positionsComputed += b.length - b.pastLength;
        const last = r * b.length + b.length - 1;
        out.set(model.logitsFor(b.inputIds[last]!, b.positionIds[last]!, h[r]!), r * model.V);
      }
      seen = b.length;
      return out;
    },
    reorderCache(rows: Int32Array): void {
      reorders.push(rows);
      h = Array.from(rows, (r) => {
        if (r < 0 || r >= h.length) throw new Error(`cached toy stepper: reorder row ${r} out of ${h.length}`);
        return h[r]!;
      });
    },
    reset(): void {
      h = [];
      seen = 0;
    },
  };
}

/** A stepper that replays stored logits, one (rows, V) array per call (e.g. transformers' greedy scores). */
export function replayStepper(V: number, steps: Float32Array[]): CausalLMStepper & { calls: number } {
  const self = {
    vocabSize: V,
    calls: 0,
    forward(b: StepBatch): Float32Array {
      const s = steps[self.calls];
      if (!s) throw new Error(`replay stepper: asked for step ${self.calls} but only ${steps.length} are stored`);
      if (s.length !== b.rows * V) throw new Error(`replay stepper: step ${self.calls} has ${s.length} values, batch wants ${b.rows} × ${V}`);
      self.calls++;
      return s;
    },
    reorderCache() {},
  };
  return self;
}
