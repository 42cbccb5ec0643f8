// The thread pool: persistent workers that run kernel tasks on the one shared WebAssembly.Memory.
//
// A job is "run task kernel K for tasks 0..n−1 with these arguments". The calling thread publishes it in a
// small control block inside the shared memory and wakes the workers; then every thread, the caller
// included, claims task numbers until none are left, and the caller waits until all n tasks are done. A fast
// thread simply claims more tasks, so uneven tasks (a causal attention row block near the end sees more keys)
// balance, and kernels cut their work into several tasks per thread for that reason.
//
// The caller waits for tasks, never for threads. A worker the OS has not scheduled (another process has its
// core, as on a busy machine or a shared VM) claims nothing and so holds nothing up: the threads that run do
// all the work, and 2 threads are never much slower than 1. That needs care, because a late worker may wake
// up while the caller is already publishing the next job. So a task is claimed with one 64-bit compare-and-
// swap on CLAIM = (job generation << 32) | next task: a worker that read job g's descriptor can only claim a
// task while CLAIM still says g, and before writing the next job's descriptor the caller moves CLAIM to the
// next generation. A successful claim therefore proves the descriptor the worker read is the current one.
//
// When things go wrong:
//   - a task that traps in a worker sets ERROR; the caller throws once the job's tasks are all done;
//   - a worker that dies (out of memory, killed) while running a task leaves the job unfinished. The platform
//     watches its threads from one whose event loop is free (see WasmPlatform.startWorkers) and records the
//     death in DEAD; the caller, waiting, sees it and throws. A broken pool is told to exit and a new one
//     (with a new control block, so no straggler of the old one can touch it) starts on the next parallel job;
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
  /** (unused: the next task is in CLAIM) */
  NEXT: 3,
  /** Tasks of the current job that are done. */
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
  /** Words 14–15: CLAIM, a 64-bit (generation << 32) | next task, read through claimWord(). */
  CLAIM: 14,
} as const;
export const CTRL_WORDS = 16;

/** The 64-bit CLAIM word of a control block at byte address ctrlPtr (8-byte aligned: blocks are 64-aligned). */
export function claimWord(memory: WebAssembly.Memory, ctrlPtr: number): BigInt64Array {
  return new BigInt64Array(memory.buffer, ctrlPtr + CTRL.CLAIM * 4, 1);
}
/** The args block holds up to this many float64 job arguments (i32 addresses and sizes, and f32 values). */
export const MAX_ARGS = 64;
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

/**
 * A parallel job whose caller waited longer than this for the workers (and over a quarter of the job) counts
 * as held up by a preempted worker (see ThreadPool.lag). A worker the scheduler has taken off its core is
 * gone for a time slice (milliseconds); on a quiet machine the caller waits at most about one task for the
 * last one to finish (a decode step's matrix-vector products are 100–250 µs cut into four tasks, so up to
 * ~60 µs) — below this, where 50 µs made such products run on one thread half the time.
 */
export const LATE_MS = 0.2;

/**
 * A machine whose cores are busy with other processes (the platform's loadOfOthers, read every LOAD_SAMPLE_MS):
 * the pool counts it as contended once the cores left over for it are fewer than its threads by CONTENDED_CORES
 * (2 cores, 2 threads: another process using over half a core), and as quiet again below CALM_CORES (the gap
 * keeps it from flapping). While contended, a job must be CONTENDED_SCALE times bigger than usual to be shared.
 *
 * Why: with more runnable threads than cores, the OS time-slices them, and a worker descheduled in the middle of
 * its task holds the whole job up for its time slice (milliseconds). A decode step's matrix-vector products
 * take 0.05–0.3 ms: sharing them then costs more than it gains (measured with one busy process beside it:
 * decoding on 2 threads 15–25 % slower than on 1, nanoGPT's small CPU training step 10 %), while large products
 * (a 768³ GEMM, the default run's training step) still gain — more threads also get the process a larger share of
 * the cores. Why 256: at 64, nanoGPT's 25–100 MFLOP products were still shared and its step stayed 10 % slower.
 * (Products of a few rows are never shared while contended: worthParallel's `streaming`.) The lag factor (below)
 * reacts to late workers after the fact, and also to scheduler jitter on a quiet machine; this asks the system.
 */
export const LOAD_SAMPLE_MS = 250;
export const CONTENDED_CORES = 0.5;
export const CALM_CORES = 0.25;
export const CONTENDED_SCALE = 256;

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

/**
 * Claim and run tasks of job `gen` until none are left or the job is no longer current (shared by the caller
 * and the workers). `fn`, `n` and `args` are the job's descriptor as this thread read it; a claim succeeds only
 * while CLAIM still belongs to `gen`, which proves the descriptor was current (see the header). A task that
 * throws marks ERROR (and counts as done, so the caller is not left waiting); the error is rethrown after.
 */
export function runTasks(fn: TaskFn, n: number, args: readonly number[], ctrl: Int32Array, claim: BigInt64Array, gen: number, thread: number): void {
  const tag = BigInt(gen) << 32n;
  let failure: unknown = null;
  for (;;) {
    const c = Atomics.load(claim, 0);
    if ((c & ~0xffffffffn) !== tag) break; // a newer job: this descriptor is stale
    const t = Number(c & 0xffffffffn);
    if (t >= n) break;
    if (Atomics.compareExchange(claim, 0, c, c + 1n) !== c) continue; // someone else took it: try the next
    try {
      fn(t, thread, ...args);
    } catch (e) {
      failure ??= e;
      Atomics.store(ctrl, CTRL.ERROR, 1);
    }
    if (Atomics.add(ctrl, CTRL.DONE, 1) + 1 === n) Atomics.notify(ctrl, CTRL.DONE);
  }
  if (failure !== null) throw failure;
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
  private claim!: BigInt64Array;
  private gen = 0;
  /**
   * How much bigger than usual a job must be to be worth the workers (≥ 1). It doubles after a parallel job
   * whose caller spent over a quarter of the job waiting for workers (their cores were busy with other
   * processes: a worker preempted in the middle of a task holds the whole job up), and drifts back to 1 with
   * every job. On a machine shared with other work, small jobs then stay on the calling thread, so 2 threads are
   * not slower than 1; on a quiet machine it stays at 1.
   */
  private lag = 1;
  /** Other processes are using the cores this pool's threads would need (see LOAD_SAMPLE_MS). */
  private busyMachine = false;
  private nextLoadCheck = 0;
  private readonly cores: number;
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
    this.cores = platform.defaultThreads();
    this.blocks = allocBlocks();
    this.useBlocks();
  }

  /**
   * Whether a job of `work` units (flops, elements: whatever `threshold` counts) should go to the workers:
   * at least `threshold` of it, scaled up while the workers lag behind (see `lag`) or the machine is contended.
   * A `streaming` job (a product of a few rows, which streams its weight from memory: sharing it pays only while
   * a second core is free) is never shared while contended. A threshold of 0 (tests) always says yes.
   */
  worthParallel(work: number, threshold: number, streaming = false): boolean {
    if (this.threads === 1) return false;
    this.watchLoad();
    if (streaming && this.busyMachine) return threshold === 0;
    return work >= threshold * (this.busyMachine ? Math.max(this.lag, CONTENDED_SCALE) : this.lag);
  }

  /** Whether other processes are taking the cores this pool's threads need (see LOAD_SAMPLE_MS). */
  get contended(): boolean {
    return this.busyMachine;
  }

  /** Ask the platform how busy the other processes are, at most every LOAD_SAMPLE_MS. */
  private watchLoad(): void {
    if (!this.platform.loadOfOthers) return;
    const now = performance.now();
    if (now < this.nextLoadCheck) return;
    this.nextLoadCheck = now + LOAD_SAMPLE_MS;
    const others = this.platform.loadOfOthers();
    if (others === null) return;
    const spare = this.cores - others;
    if (!this.busyMachine && spare < this.threads - CONTENDED_CORES) this.busyMachine = true;
    else if (this.busyMachine && spare >= this.threads - CALM_CORES) this.busyMachine = false;
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
    this.lag = Math.max(1, this.lag * 0.997); // back to 1 over a few hundred jobs
    if (!parallel || this.threads === 1 || ntasks <= 1) {
      for (let t = 0; t < ntasks; t++) fn(t, 0, ...args);
      return;
    }
    if (!this.started) this.startWorkers();
    if (Atomics.load(this.ctrl, CTRL.DEAD) !== 0 || Atomics.load(this.ctrl, CTRL.FAILED) !== 0) {
      // A worker died or failed to start while idle: replace the pool (and its control block) before this job.
      this.close();
      this.startWorkers();
    }
    const ctrl = this.ctrl;
    const gen = ++this.gen;
    // Retire the previous job's claims before its descriptor is overwritten: from here on no late worker's
    // compare-and-swap (tagged with an older generation) can succeed.
    Atomics.store(this.claim, 0, (BigInt(gen) << 32n) | 0xffffffffn);
    this.args.set(args);
    ctrl[CTRL.KIND] = index;
    ctrl[CTRL.NTASKS] = ntasks;
    ctrl[CTRL.NARGS] = args.length;
    Atomics.store(ctrl, CTRL.DONE, 0);
    Atomics.store(ctrl, CTRL.ERROR, 0);
    Atomics.store(this.claim, 0, BigInt(gen) << 32n); // task 0 of job `gen` is now claimable
    Atomics.store(ctrl, CTRL.GEN, gen); // publish: everything written above is visible to a thread that sees it
    Atomics.notify(ctrl, CTRL.GEN);

    // The caller claims tasks too. If one throws here (a trap), the others still finish before we report it:
    // the next job must not overwrite the descriptor while a worker runs a task of this one.
    let failure: unknown = null;
    const t0 = performance.now();
    try {
      runTasks(fn, ntasks, args, ctrl, this.claim, gen, 0);
    } catch (e) {
      failure = e;
    }
    const t1 = performance.now();
    this.waitForTasks(kind, ntasks);
    const waited = performance.now() - t1;
    if (waited > LATE_MS && waited > 0.25 * (waited + t1 - t0)) this.lag = Math.min(this.lag * 2, 1 << 16);
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

  /** Block (or spin, where the platform cannot block) until all n tasks of the current job are done. */
  private waitForTasks(kind: string, n: number): void {
    const ctrl = this.ctrl;
    for (;;) {
      const done = Atomics.load(ctrl, CTRL.DONE);
      if (done >= n) return;
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
    this.claim = claimWord(this.memory, this.blocks.ctrlPtr);
    this.ctrl.fill(0);
    this.gen = 0;
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
