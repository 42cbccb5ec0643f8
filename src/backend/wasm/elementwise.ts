// Backend.geluTanh / geluTanhBackward / layerNorm / layerNormBackward on the WebAssembly kernels
// (kernels/elementwise.ts): copy the operands into the work area, cut the elements (or rows) into one
// contiguous chunk per task, run the tasks on the pool, copy the results out.
//
// The copies are memory-speed passes (~0.1 ns per float); the kernels do ~20 flops and a division per GELU
// element, which is why moving them here pays even though each call copies its operands both ways.

import type { LayerNormSpec, RowsSpec } from '../backend.js';
import { Layout, WasmHeap, WorkArea } from './heap.js';
import type { ThreadPool } from './pool.js';

/**
 * Jobs below this many elements run on the calling thread alone: a GELU element takes ~0.5 ns here, so
 * 64 Ki elements is ~30 µs of work, about where handing half of it to a spinning worker starts to pay.
 */
export const ELEMENTWISE_PARALLEL_MIN = 1 << 16;
/** Tasks per thread: a few, so a thread slowed by the host does not hold up the others for long. */
const TASKS_PER_THREAD = 4;

export class WasmElementwise {
  /** Jobs with fewer elements run on the calling thread alone (tests set 0 to force the pool). */
  parallelMin = ELEMENTWISE_PARALLEL_MIN;

  constructor(
    private readonly heap: WasmHeap,
    private readonly work: WorkArea,
    private readonly pool: ThreadPool,
  ) {}

  geluTanh(x: Float32Array, out: Float32Array): void {
    const n = x.length;
    checkLength('geluTanh', 'out', out, n);
    if (n === 0) return;
    const parallel = this.prepare(n);
    const l = new Layout();
    const xOff = l.add(n * 4);
    const yOff = l.add(n * 4);
    const base = this.work.reserve(l.size);
    this.heap.f32.set(x, (base + xOff) / 4);
    const chunk = this.chunk(n, parallel);
    this.pool.run('gelu_forward_task', Math.ceil(n / chunk), [base + xOff, base + yOff, n, chunk], parallel);
    out.set(this.heap.f32.subarray((base + yOff) / 4, (base + yOff) / 4 + n));
  }

  geluTanhBackward(x: Float32Array, g: Float32Array, gx: Float32Array): void {
    const n = x.length;
    checkLength('geluTanhBackward', 'g', g, n);
    checkLength('geluTanhBackward', 'gx', gx, n);
    if (n === 0) return;
    const parallel = this.prepare(n);
    const l = new Layout();
    const xOff = l.add(n * 4);
    const gOff = l.add(n * 4);
    const gxOff = l.add(n * 4);
    const base = this.work.reserve(l.size);
    const f32 = this.heap.f32;
    f32.set(x, (base + xOff) / 4);
    f32.set(g, (base + gOff) / 4);
    const chunk = this.chunk(n, parallel);
    this.pool.run('gelu_backward_task', Math.ceil(n / chunk), [base + xOff, base + gOff, base + gxOff, n, chunk], parallel);
    gx.set(this.heap.f32.subarray((base + gxOff) / 4, (base + gxOff) / 4 + n));
  }

  layerNorm(x: Float32Array, w: Float32Array, b: Float32Array, spec: LayerNormSpec, out: Float32Array, mean: Float32Array, rstd: Float32Array): void {
    const { rows, cols: C, eps } = checkRows('layerNorm', spec, { x, out }, { w, b }, { mean, rstd });
    if (rows === 0 || C === 0) return;
    const parallel = this.prepare(rows * C);
    const l = new Layout();
    const xOff = l.add(rows * C * 4);
    const wOff = l.add(C * 4);
    const bOff = l.add(C * 4);
    const yOff = l.add(rows * C * 4);
    const meanOff = l.add(rows * 4);
    const rstdOff = l.add(rows * 4);
    const base = this.work.reserve(l.size);
    const f32 = this.heap.f32;
    f32.set(x.subarray(0, rows * C), (base + xOff) / 4);
    f32.set(w.subarray(0, C), (base + wOff) / 4);
    f32.set(b.subarray(0, C), (base + bOff) / 4);
    const rowsPerTask = this.rowsPerTask(rows, parallel);
    this.pool.run(
      'layernorm_forward_task',
      Math.ceil(rows / rowsPerTask),
      [base + xOff, base + wOff, base + bOff, base + yOff, base + meanOff, base + rstdOff, rows, C, eps, rowsPerTask],
      parallel,
    );
    const after = this.heap.f32;
    out.set(after.subarray((base + yOff) / 4, (base + yOff) / 4 + rows * C));
    mean.set(after.subarray((base + meanOff) / 4, (base + meanOff) / 4 + rows));
    rstd.set(after.subarray((base + rstdOff) / 4, (base + rstdOff) / 4 + rows));
  }

  layerNormBackward(
    x: Float32Array,
    w: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    g: Float32Array,
    spec: LayerNormSpec,
    gx: Float32Array | null,
    gw: Float32Array,
    gb: Float32Array,
  ): void {
    const { rows, cols: C } = checkRows('layerNormBackward', spec, gx ? { x, g, gx } : { x, g }, { w, gw, gb }, { mean, rstd });
    if (C === 0) return;
    if (rows === 0) {
      gw.fill(0, 0, C);
      gb.fill(0, 0, C);
      return;
    }
    const parallel = this.prepare(rows * C);
    const rowsPerTask = this.rowsPerTask(rows, parallel);
    const tasks = Math.ceil(rows / rowsPerTask);
    const l = new Layout();
    const xOff = l.add(rows * C * 4);
    const wOff = l.add(C * 4);
    const meanOff = l.add(rows * 4);
    const rstdOff = l.add(rows * 4);
    const gOff = l.add(rows * C * 4);
    const gxOff = gx ? l.add(rows * C * 4) : -1;
    const gwOff = l.add(tasks * C * 4); // one row of partial sums per task
    const gbOff = l.add(tasks * C * 4);
    const base = this.work.reserve(l.size);
    const f32 = this.heap.f32;
    f32.set(x.subarray(0, rows * C), (base + xOff) / 4);
    f32.set(w.subarray(0, C), (base + wOff) / 4);
    f32.set(mean.subarray(0, rows), (base + meanOff) / 4);
    f32.set(rstd.subarray(0, rows), (base + rstdOff) / 4);
    f32.set(g.subarray(0, rows * C), (base + gOff) / 4);
    this.pool.run(
      'layernorm_backward_task',
      tasks,
      [base + xOff, base + wOff, base + meanOff, base + rstdOff, base + gOff, gx ? base + gxOff : 0, base + gwOff, base + gbOff, rows, C, rowsPerTask],
      parallel,
    );
    const after = this.heap.f32;
    if (gx) gx.set(after.subarray((base + gxOff) / 4, (base + gxOff) / 4 + rows * C));
    // Sum the tasks' partial sums (in float64: there are few of them, and it costs nothing).
    for (const [dst, off] of [[gw, gwOff], [gb, gbOff]] as const) {
      const p = (base + off) / 4;
      for (let j = 0; j < C; j++) {
        let s = 0;
        for (let t = 0; t < tasks; t++) s += after[p + t * C + j];
        dst[j] = s;
      }
    }
  }

  logSoftmaxRows(x: Float32Array, spec: RowsSpec, lse: Float32Array, sumX: Float32Array, probs: Float32Array | null): void {
    const { rows, cols: C } = spec;
    checkRows('logSoftmaxRows', { rows, cols: C, eps: 0 }, probs ? { x, probs } : { x }, {}, { lse, sumX });
    if (rows === 0) return;
    if (C === 0) {
      // An empty row: log Σ of nothing is −∞, and Σx = 0.
      lse.fill(-Infinity, 0, rows);
      sumX.fill(0, 0, rows);
      return;
    }
    const parallel = this.prepare(rows * C);
    const l = new Layout();
    const xOff = l.add(rows * C * 4);
    const lseOff = l.add(rows * 4);
    const sumOff = l.add(rows * 4);
    const pOff = probs ? l.add(rows * C * 4) : -1;
    const base = this.work.reserve(l.size);
    this.heap.f32.set(x.subarray(0, rows * C), (base + xOff) / 4);
    const rowsPerTask = this.rowsPerTask(rows, parallel);
    this.pool.run(
      'logsoftmax_rows_task',
      Math.ceil(rows / rowsPerTask),
      [base + xOff, base + lseOff, base + sumOff, probs ? base + pOff : 0, rows, C, rowsPerTask],
      parallel,
    );
    const after = this.heap.f32;
    lse.set(after.subarray((base + lseOff) / 4, (base + lseOff) / 4 + rows));
    sumX.set(after.subarray((base + sumOff) / 4, (base + sumOff) / 4 + rows));
    if (probs) probs.set(after.subarray((base + pOff) / 4, (base + pOff) / 4 + rows * C));
  }

  /** Whether a job of n elements goes to the pool; if so, wake the workers while the operands are copied. */
  private prepare(n: number): boolean {
    const parallel = this.pool.threads > 1 && n >= this.parallelMin;
    if (parallel) this.pool.prewake();
    return parallel;
  }

  /** Elements per task: a multiple of 4 (whole vectors), a few tasks per thread. */
  private chunk(n: number, parallel: boolean): number {
    if (!parallel) return Math.ceil(n / 4) * 4;
    return Math.max(4, Math.ceil(n / (this.pool.threads * TASKS_PER_THREAD) / 4) * 4);
  }

  private rowsPerTask(rows: number, parallel: boolean): number {
    return parallel ? Math.max(1, Math.ceil(rows / (this.pool.threads * TASKS_PER_THREAD))) : rows;
  }
}

function checkLength(op: string, name: string, a: Float32Array, n: number): void {
  if (a.length !== n) throw new RangeError(`wasm ${op}: ${name} has ${a.length} elements, expected ${n} (the length of x)`);
}

/** Checks a (rows, cols) spec (eps too, for layer norm) and that each array is long enough: rows·cols, cols or rows elements. */
function checkRows(
  op: string,
  spec: LayerNormSpec,
  full: Record<string, Float32Array>,
  perCol: Record<string, Float32Array>,
  perRow: Record<string, Float32Array>,
): LayerNormSpec {
  const { rows, cols, eps } = spec;
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new RangeError(`wasm ${op}: rows and cols must be integers ≥ 0, got rows ${rows}, cols ${cols}`);
  }
  if (!(eps >= 0)) throw new RangeError(`wasm ${op}: eps must be ≥ 0, got ${eps}`);
  for (const [want, arrays] of [[rows * cols, full], [cols, perCol], [rows, perRow]] as const) {
    for (const [name, a] of Object.entries(arrays)) {
      if (a.length < want) throw new RangeError(`wasm ${op}: ${name} has ${a.length} elements, needs ${want} (rows ${rows}, cols ${cols})`);
    }
  }
  return spec;
}
