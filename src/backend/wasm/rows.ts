// Backend.runRows on the WebAssembly kernels: every elementwise and row-wise op (GELU, layer norm, RMS norm,
// log-softmax, the AdamW update, ...) goes through this one function. A RowKernel names its operands' layouts
// ('rows', 'perRow', 'perCol', 'colSum'), which is all this code needs to know: copy the inputs into the work
// area (unless they live in this memory already), cut the rows into a few contiguous chunks per thread, run
// the kernel's `${name}_task` on the pool, copy the outputs out (adding up the tasks' partial sums for
// 'colSum' outputs). An operand that lives here is read and written in place, so an update like AdamW's
// (parameter and moments both input and output) touches them where they are.
//
// The copies are memory-speed passes (~0.1 ns per float); the kernels do ~20 flops and a division per GELU
// element, which is why moving them here pays even though each call copies its operands both ways.

import { checkRows, rowOperandLength, type RowKernel } from '../backend.js';
import { Layout, WasmHeap, WorkArea } from './heap.js';
import type { ThreadPool } from './pool.js';

/**
 * Jobs below this many elements run on the calling thread alone: a GELU element takes ~0.5 ns here, so
 * 64 Ki elements is ~30 µs of work, about where handing half of it to a spinning worker starts to pay.
 */
export const ROWS_PARALLEL_MIN = 1 << 16;
/** Tasks per thread: several, so a thread slowed by the host does not hold up the others for long. */
const TASKS_PER_THREAD = 4;

export class WasmRows {
  /** Jobs with fewer elements run on the calling thread alone (tests set 0 to force the pool). */
  parallelMin = ROWS_PARALLEL_MIN;

  constructor(
    private readonly heap: WasmHeap,
    private readonly work: WorkArea,
    private readonly pool: ThreadPool,
  ) {}

  run(kernel: RowKernel, rows: number, cols: number, inputs: readonly Float32Array[], outputs: readonly (Float32Array | null)[], params: readonly number[]): void {
    checkRows(kernel, rows, cols, inputs, outputs);
    if (rows === 0) return;
    const parallel = this.pool.worthParallel(rows * cols, this.parallelMin);
    if (parallel) this.pool.prewake(); // workers wake while we copy
    // Rows per task: a few tasks per thread; a multiple of 4 for elementwise jobs so each task's range is
    // whole vectors.
    let rowsPerTask = parallel ? Math.ceil(rows / (this.pool.threads * TASKS_PER_THREAD)) : rows;
    if (cols === 1) rowsPerTask = Math.ceil(rowsPerTask / 4) * 4;
    rowsPerTask = Math.max(1, rowsPerTask);
    const tasks = Math.ceil(rows / rowsPerTask);

    // Operands that live in this memory already (parameters, optimizer state: Backend.allocate; a training
    // step's arrays: Backend.stepMemory) are used where they are; the others are copied into the work area
    // (inputs) or out of it (outputs).
    const inPlace = (a: Float32Array | null): boolean => a !== null && this.heap.owns(a);
    const l = new Layout();
    const inOffs = kernel.inputs.map((kind, i) => (inPlace(inputs[i]!) ? -1 : l.add(rowOperandLength(kind, rows, cols) * 4)));
    const outLen = kernel.outputs.map((kind) => (kind === 'colSum' ? tasks * cols : rowOperandLength(kind, rows, cols)));
    // A 'colSum' output always gets room (kernels write their partial sums unconditionally); other outputs
    // nobody wants get address 0, which the kernels check.
    const outOffs = outputs.map((o, i) => (kernel.outputs[i] === 'colSum' || (o && !inPlace(o)) ? l.add(outLen[i]! * 4) : -1));
    const base = this.work.reserve(l.size);
    const f32 = this.heap.f32;
    inputs.forEach((a, i) => {
      if (inOffs[i]! >= 0) f32.set(a.subarray(0, rowOperandLength(kernel.inputs[i]!, rows, cols)), (base + inOffs[i]!) / 4);
    });
    const inPtrs = inputs.map((a, i) => (inOffs[i]! >= 0 ? base + inOffs[i]! : a.byteOffset));
    const outPtrs = outputs.map((o, i) => (outOffs[i]! >= 0 ? base + outOffs[i]! : o ? o.byteOffset : 0));

    this.pool.run(`${kernel.name}_task`, tasks, [rows, cols, rowsPerTask, ...inPtrs, ...outPtrs, ...params], parallel);

    const after = this.heap.f32;
    outputs.forEach((o, i) => {
      if (!o || outOffs[i]! < 0) return; // nothing wanted, or written in place
      const p = (base + outOffs[i]!) / 4;
      if (kernel.outputs[i] !== 'colSum') {
        o.set(after.subarray(p, p + outLen[i]!));
        return;
      }
      // Sum the tasks' partial sums (in float64: there are few of them, and it costs nothing).
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let t = 0; t < tasks; t++) s += after[p + t * cols + j]!;
        o[j] = s;
      }
    });
  }
}
