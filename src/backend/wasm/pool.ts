// The thread pool: persistent workers that run kernel tasks on the one shared WebAssembly.Memory.
//
// A job is "run task kernel K for tasks 0..n−1 with these arguments". The calling thread publishes it in a
// small control block inside the shared memory and wakes the workers; then every thread, the caller
// included, claims task numbers with an atomic counter (Atomics.add) until none are left. A fast thread
// simply claims more tasks, so uneven tasks (a causal attention row block near the end sees more keys) still
// balance. Each worker then checks in (DONE += 1) and the caller, once its own claiming is over, blocks in
// Atomics.wait until every worker has checked in. So the Backend API stays synchronous.
//
// Why every worker checks in for every job, even one with fewer tasks than threads: it means no worker can
// still be reading the control block of job g when job g+1 overwrites it, with no further bookkeeping.
//
// Workers are started on the first job that asks for more than one thread (a process that only runs small
// ops never starts one), and are unref()'d by the platform so they never keep a process alive.

import type { KernelExports, TaskKernel } from './kernels.js';
import { TASK_KERNELS } from './kernels.js';
import type { WasmPlatform } from './platform.js';

/** Word offsets in the control block (Int32Array). */
export const CTRL = {
  /** Job generation: bumped (and Atomics.notify'd) to publish a job. */
  GEN: 0,
  /** Index into TASK_KERNELS. */
  KIND: 1,
  /** Number of tasks in the job. */
  NTASKS: 2,
  /** Next task number to claim. */
  NEXT: 3,
  /** Workers that finished the current job. */
  DONE: 4,
  /** Set to 1 by a worker whose task threw. */
  ERROR: 5,
  /** Number of job arguments in the args block. */
  NARGS: 6,
  /** Set to 1 by a worker that failed to start. */
  FAILED: 7,
  /** Workers that have started their loop. */
  STARTED: 8,
} as const;
export const CTRL_WORDS = 16;
/** The args block holds up to this many float64 job arguments (i32 addresses and sizes, and f32 values). */
export const MAX_ARGS = 32;
/** How long the caller waits for worker threads to start before reporting that they did not. */
const START_TIMEOUT_MS = 60_000;
/**
 * How long a thread spins, re-reading a control word, before it sleeps in Atomics.wait. A sleeping thread
 * (especially a virtual CPU the host has parked) takes ~50 µs to wake (measured: a 1 MFLOP matmul on the
 * pool takes 20 µs with the worker awake, 60 µs with it asleep), as long as a whole medium-size job. A
 * training step or a decode loop issues jobs back to back, so a worker that spins briefly after each job
 * catches the next one at once. The price is at most this much CPU time per job on an otherwise idle core.
 */
export const SPIN_MS = 1;

/** Spin until ctrl[index] ≠ value or `ms` have passed; true if it changed. */
export function spinWhileEqual(ctrl: Int32Array, index: number, value: number, ms: number): boolean {
  const until = performance.now() + ms;
  for (;;) {
    for (let i = 0; i < 256; i++) if (Atomics.load(ctrl, index) !== value) return true;
    if (performance.now() > until) return false;
  }
}

/** What a worker thread needs to join the pool (structured-cloned into the worker). */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte address of the control block (CTRL_WORDS int32s). */
  ctrlPtr: number;
  /** Byte address of the args block (MAX_ARGS float64s). */
  argsPtr: number;
  /** Thread number of this worker: 1..threads−1 (the calling thread is 0). */
  index: number;
}

type TaskFn = (t: number, thread: number, ...args: number[]) => void;

/** Task-kernel table, indexed by CTRL.KIND. */
export function taskTable(k: KernelExports): TaskFn[] {
  return TASK_KERNELS.map((name) => k[name]);
}

/** Claim and run tasks of the current job until none are left (shared by the caller and the workers). */
export function runTasks(table: TaskFn[], ctrl: Int32Array, args: Float64Array, thread: number): void {
  const fn = table[ctrl[CTRL.KIND]!]!;
  const n = ctrl[CTRL.NTASKS]!;
  const a = Array.from(args.subarray(0, ctrl[CTRL.NARGS]!));
  for (;;) {
    const t = Atomics.add(ctrl, CTRL.NEXT, 1);
    if (t >= n) return;
    fn(t, thread, ...a);
  }
}

export class ThreadPool {
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly table: TaskFn[];
  private started = false;

  constructor(
    private readonly platform: WasmPlatform,
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    kernels: KernelExports,
    /** Threads including the calling one. */
    readonly threads: number,
    private readonly ctrlPtr: number,
    private readonly argsPtr: number,
  ) {
    this.ctrl = new Int32Array(memory.buffer, ctrlPtr, CTRL_WORDS);
    this.args = new Float64Array(memory.buffer, argsPtr, MAX_ARGS);
    this.ctrl.fill(0);
    this.table = taskTable(kernels);
  }

  /**
   * Run tasks 0..ntasks−1 of `kind` with `args`. With parallel = false (small jobs: waking threads costs more
   * than it saves) the calling thread runs them all itself, in order.
   */
  run(kind: TaskKernel, ntasks: number, args: readonly number[], parallel: boolean): void {
    if (args.length > MAX_ARGS) throw new Error(`attn wasm pool: ${kind} has ${args.length} arguments, at most ${MAX_ARGS}`);
    const fn = this.table[TASK_KERNELS.indexOf(kind)]!;
    if (!parallel || this.threads === 1 || ntasks <= 1) {
      for (let t = 0; t < ntasks; t++) fn(t, 0, ...args);
      return;
    }
    if (!this.started) this.startWorkers();
    const ctrl = this.ctrl;
    this.args.set(args);
    ctrl[CTRL.KIND] = TASK_KERNELS.indexOf(kind);
    ctrl[CTRL.NTASKS] = ntasks;
    ctrl[CTRL.NARGS] = args.length;
    Atomics.store(ctrl, CTRL.NEXT, 0);
    Atomics.store(ctrl, CTRL.DONE, 0);
    Atomics.store(ctrl, CTRL.ERROR, 0);
    Atomics.add(ctrl, CTRL.GEN, 1); // publish: everything written above is visible to a thread that sees the new GEN
    Atomics.notify(ctrl, CTRL.GEN);

    // If a task throws here (a trap), stop handing out tasks but still wait for the workers: the next job
    // must not overwrite the control block while they are on this one.
    let failure: unknown = null;
    try {
      runTasks(this.table, ctrl, this.args, 0);
    } catch (e) {
      failure = e;
      Atomics.store(ctrl, CTRL.NEXT, ntasks);
    }

    const workers = this.threads - 1;
    const waitStart = Date.now();
    for (;;) {
      const done = Atomics.load(ctrl, CTRL.DONE);
      if (done >= workers) break;
      if (spinWhileEqual(ctrl, CTRL.DONE, done, SPIN_MS)) continue;
      const notStarted = Atomics.load(ctrl, CTRL.STARTED) < workers;
      if (Atomics.load(ctrl, CTRL.FAILED) !== 0 || (notStarted && Date.now() - waitStart > START_TIMEOUT_MS)) {
        throw new Error(
          `attn wasm: a worker thread failed to start (see stderr); ${Atomics.load(ctrl, CTRL.STARTED)} of ${workers} started. ` +
            `Use setBackend('wasm', { threads: 1 }) or the 'js' backend`,
        );
      }
      Atomics.wait(ctrl, CTRL.DONE, done, 1000);
    }
    if (failure !== null) throw failure;
    if (Atomics.load(ctrl, CTRL.ERROR) !== 0) {
      throw new Error(`attn wasm: ${kind} failed in a worker thread (its error was printed on stderr)`);
    }
  }

  /**
   * Wake sleeping workers now, before a job is ready, so they are spinning (not asleep) when it is
   * published: a caller about to copy operands into memory for a parallel job calls this first, and the
   * workers' wake-up (~50 µs or more in a VM) overlaps the copy instead of delaying the job.
   */
  prewake(): void {
    if (this.threads === 1) return;
    if (!this.started) this.startWorkers();
    Atomics.notify(this.ctrl, CTRL.GEN);
  }

  private startWorkers(): void {
    this.started = true;
    for (let index = 1; index < this.threads; index++) {
      this.platform.startWorker({ module: this.module, memory: this.memory, ctrlPtr: this.ctrlPtr, argsPtr: this.argsPtr, index });
    }
  }
}
