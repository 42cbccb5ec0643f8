// The thread pool: persistent workers that run kernel tasks on the one shared WebAssembly.Memory.
//
// A job is "run task kernel K for tasks 0..n−1 with these arguments". The calling thread publishes it in a
// small control block inside the shared memory and wakes the workers; then every thread, the caller
// included, claims task numbers with an atomic counter (Atomics.add) until none are left. A fast thread
// simply claims more tasks, so uneven tasks (a causal attention row block near the end sees more keys, or a
// core the OS gave to another process) still balance: kernels cut their work into several tasks per thread
// for that reason. Each worker then checks in (DONE += 1) and the caller, once its own claiming is over,
// waits until every worker has checked in. So the Backend API stays synchronous.
//
// Why every worker checks in for every job, even one with fewer tasks than threads: it means no worker can
// still be reading the control block of job g when job g+1 overwrites it, with no further bookkeeping.
//
// When things go wrong:
//   - a task that traps in a worker sets ERROR; the caller throws once every worker has checked in;
//   - a worker that dies (out of memory, killed) cannot check in. The platform watches its threads from one
//     whose event loop is free (see WasmPlatform.startWorkers) and records the death in DEAD; the caller,
//     waiting, sees it and throws. The broken pool is told to exit and a new one (with a new control block,
//     so no straggler of the old one can touch it) starts on the next parallel job;
//   - close() asks the workers to leave their loop; the next parallel job starts new ones.
// Workers are started on the first job that asks for more than one thread (a process that only runs small
// ops never starts one), never keep a process alive, and sleep without waking up while idle.

import type { KernelExports } from './kernels.js';
import type { WasmPlatform } from './platform.js';

/** Word offsets in the control block (Int32Array). */
export const CTRL = {
  /** Job generation: bumped (and Atomics.notify'd) to publish a job. */
  GEN: 0,
  /** Index into the kernel module's task table. */
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
  /** Set by the platform when a worker stopped unasked: its thread number. */
  DEAD: 9,
  /** The dead worker's exit code. */
  DEAD_CODE: 10,
  /** Set to 1 to make the workers leave their loop (close, or a broken pool). */
  EXIT: 11,
  /** Times a worker returned from sleeping (tests check that idle workers stay asleep). */
  WAKEUPS: 12,
} as const;
export const CTRL_WORDS = 16;
/** The args block holds up to this many float64 job arguments (i32 addresses and sizes, and f32 values). */
export const MAX_ARGS = 64;
/** How long the caller waits for worker threads to start before reporting that they did not. */
const START_TIMEOUT_MS = 60_000;
/** While waiting for workers, the caller re-sends the job's wake-up this often (a lost wake-up costs this much). */
const RENOTIFY_MS = 50;
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

export type TaskFn = (t: number, thread: number, ...args: number[]) => void;

/** Claim and run tasks of the current job until none are left (shared by the caller and the workers). */
export function runTasks(table: readonly TaskFn[], ctrl: Int32Array, args: Float64Array, thread: number): void {
  const fn = table[ctrl[CTRL.KIND]!]!;
  const n = ctrl[CTRL.NTASKS]!;
  const a = Array.from(args.subarray(0, ctrl[CTRL.NARGS]!));
  for (;;) {
    const t = Atomics.add(ctrl, CTRL.NEXT, 1);
    if (t >= n) return;
    fn(t, thread, ...a);
  }
}

/**
 * Record that worker `index` stopped without being asked to (exit code `code`): the pool's caller, waiting
 * for it, turns this into an error. Called by the platform's watcher (see WasmPlatform.startWorkers).
 */
export function markDead(init: Pick<WorkerInit, 'memory' | 'ctrlPtr' | 'index'>, code: number): void {
  const ctrl = new Int32Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS);
  if (Atomics.load(ctrl, CTRL.EXIT) !== 0) return; // asked to leave: not a death
  Atomics.store(ctrl, CTRL.DEAD_CODE, code | 0);
  Atomics.store(ctrl, CTRL.DEAD, init.index);
  Atomics.notify(ctrl, CTRL.DONE);
}

/** Where a pool's control block and arguments live; a broken pool's successor gets new ones. */
export interface PoolBlocks {
  ctrlPtr: number;
  argsPtr: number;
}

export class ThreadPool {
  private ctrl!: Int32Array;
  private args!: Float64Array;
  private blocks: PoolBlocks;
  private started = false;
  private readonly taskIndex = new Map<string, number>();

  constructor(
    private readonly platform: WasmPlatform,
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    private readonly kernels: KernelExports,
    /** Threads including the calling one. */
    readonly threads: number,
    /** Allocates a fresh control block + args block (in low, never-moving memory). */
    private readonly allocBlocks: () => PoolBlocks,
  ) {
    kernels.taskNames.forEach((name, i) => this.taskIndex.set(name, i));
    this.blocks = allocBlocks();
    this.useBlocks();
  }

  /** Whether worker threads are running. */
  get running(): boolean {
    return this.started;
  }

  /** The control block (tests read WAKEUPS). */
  get control(): Int32Array {
    return this.ctrl;
  }

  /**
   * Run tasks 0..ntasks−1 of task kernel `kind` (an export `${kind}` of the kernel module) with `args`. With
   * parallel = false (small jobs: waking threads costs more than it saves) the calling thread runs them all
   * itself, in order.
   */
  run(kind: string, ntasks: number, args: readonly number[], parallel: boolean): void {
    if (args.length > MAX_ARGS) throw new Error(`attn wasm pool: ${kind} has ${args.length} arguments, at most ${MAX_ARGS}`);
    const index = this.taskIndex.get(kind);
    if (index === undefined) throw new Error(`attn wasm: the kernel module has no task '${kind}'; rebuild it with \`npm run build\``);
    const fn = this.kernels.tasks[index]!;
    if (!parallel || this.threads === 1 || ntasks <= 1) {
      for (let t = 0; t < ntasks; t++) fn(t, 0, ...args);
      return;
    }
    if (!this.started) this.startWorkers();
    const ctrl = this.ctrl;
    this.args.set(args);
    ctrl[CTRL.KIND] = index;
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
      runTasks(this.kernels.tasks, ctrl, this.args, 0);
    } catch (e) {
      failure = e;
      Atomics.store(ctrl, CTRL.NEXT, ntasks);
    }
    this.waitForWorkers(kind);
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

  /** Ask the workers to leave their loop (they finish a task they are running first). Idempotent. */
  close(): void {
    if (!this.started) return;
    Atomics.store(this.ctrl, CTRL.EXIT, 1);
    Atomics.add(this.ctrl, CTRL.GEN, 1); // a new generation, so a worker still spinning sees it too
    Atomics.notify(this.ctrl, CTRL.GEN);
    this.started = false;
    // The old workers may still read this control block for a moment: the next pool gets a new one.
    this.blocks = this.allocBlocks();
    this.useBlocks();
  }

  /** Block (or spin, where the platform cannot block) until every worker checked in for the current job. */
  private waitForWorkers(kind: string): void {
    const ctrl = this.ctrl;
    const workers = this.threads - 1;
    const waitStart = Date.now();
    for (;;) {
      const done = Atomics.load(ctrl, CTRL.DONE);
      if (done >= workers) return;
      const dead = Atomics.load(ctrl, CTRL.DEAD);
      if (dead !== 0) {
        const code = Atomics.load(ctrl, CTRL.DEAD_CODE);
        this.close();
        throw new Error(
          `attn wasm: worker thread ${dead} stopped during ${kind} (exit code ${code}; out of memory or killed?); ` +
            `this call failed and the next one starts new threads`,
        );
      }
      if (spinWhileEqual(ctrl, CTRL.DONE, done, SPIN_MS)) continue;
      const notStarted = Atomics.load(ctrl, CTRL.STARTED) < workers;
      if (Atomics.load(ctrl, CTRL.FAILED) !== 0 || (notStarted && Date.now() - waitStart > START_TIMEOUT_MS)) {
        const started = Atomics.load(ctrl, CTRL.STARTED);
        this.close();
        throw new Error(
          `attn wasm: a worker thread failed to start (see stderr); ${started} of ${workers} started. ` +
            `Use setBackend('wasm', { threads: 1 }) or the 'js' backend`,
        );
      }
      if (this.platform.canBlock === false) continue; // a browser's main thread may not Atomics.wait: keep spinning
      // A worker that missed the job's wake-up (seen under a CPU profiler, whose signals interrupt futex
      // waits) is woken again here, so its sleep needs no time limit.
      Atomics.notify(ctrl, CTRL.GEN);
      Atomics.wait(ctrl, CTRL.DONE, done, RENOTIFY_MS);
    }
  }

  private useBlocks(): void {
    this.ctrl = new Int32Array(this.memory.buffer, this.blocks.ctrlPtr, CTRL_WORDS);
    this.args = new Float64Array(this.memory.buffer, this.blocks.argsPtr, MAX_ARGS);
    this.ctrl.fill(0);
  }

  private startWorkers(): void {
    this.started = true;
    const inits: WorkerInit[] = [];
    for (let index = 1; index < this.threads; index++) {
      inits.push({ module: this.module, memory: this.memory, ctrlPtr: this.blocks.ctrlPtr, argsPtr: this.blocks.argsPtr, index });
    }
    this.platform.startWorkers(inits);
  }
}
