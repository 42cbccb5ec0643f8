// The worker pool when things go wrong or go quiet: a worker that dies in the middle of a job makes that call
// fail with an error (instead of waiting forever) and the next call runs on a fresh pool; close() ends the
// threads; idle workers sleep without waking up.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { MatmulSpec } from '../../src/backend/backend.js';
import { CTRL, createWasmBackend, type WasmPlatform } from '../../src/backend/wasm/index.js';
import { CONTENDED_SCALE, LOAD_SAMPLE_MS } from '../../src/backend/wasm/pool.js';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createNodePlatform, nodePlatform } from '../../src/platform/node.js';

/**
 * Node's platform as if the machine were quiet: the pool shares jobs whatever else runs (a loaded CI machine
 * would make it keep them on the calling thread, and these tests are about the threads).
 */
const quiet: WasmPlatform = { ...nodePlatform, loadOfOthers: () => null };

const square = (n: number): MatmulSpec => ({ batch: 1, m: n, n, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false });

/** OS threads of this process (Linux: one entry per thread in /proc/self/task). */
const threadCount = (): number => readdirSync('/proc/self/task').length;

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

describe('wasm worker pool', () => {
  test('close() ends the worker threads; the next parallel job starts them again', async () => {
    const be = createWasmBackend(quiet, { threads: 2 });
    // Threads of pools closed by earlier tests may still be winding down: wait until the count settles.
    let idle = threadCount();
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = threadCount();
      if (now === idle) break;
      idle = now;
    }
    const n = 256;
    const a = new Float32Array(n * n).fill(1);
    be.matmul(a, a, new Float32Array(n * n), square(n));
    assert.ok(be.pool.running);
    // The job may finish before the worker has even started (the caller does not wait for threads): wait for it.
    assert.ok(await waitFor(() => Atomics.load(be.pool.control, CTRL.STARTED) >= 1, 30_000), 'the worker started');
    assert.ok(threadCount() >= idle + 2, `a worker and its supervisor run (${threadCount()} threads, ${idle} before)`);
    be.close();
    assert.ok(await waitFor(() => threadCount() <= idle, 5000), `threads after close: ${threadCount()}, before the pool: ${idle}`);
    const out = new Float32Array(n * n);
    be.matmul(a, a, out, square(n));
    assert.ok(out.every((x) => x === n));
    be.close();
  });

  test('a worker that dies holding a task fails that call with an error, and the next call starts new threads', async () => {
    const rogue = createNodePlatform({ supervisor: new URL('./_killing_supervisor.js', import.meta.url) });
    let starts = 0;
    // The first pool's worker claims a task of its first job and dies; the replacement pool is a normal one.
    const platform: WasmPlatform = { ...quiet, startWorkers: (inits) => (starts++ === 0 ? rogue : nodePlatform).startWorkers(inits) };
    const be = createWasmBackend(platform, { threads: 2 });
    // Start the pool and wait until its worker is waiting for work, so it is there when the job is published.
    be.pool.prewake();
    assert.ok(await waitFor(() => Atomics.load(be.pool.control, CTRL.STARTED) >= 1, 30_000), 'the worker started');
    const n = 1024;
    const a = new Float32Array(n * n).fill(0.5);
    const t0 = Date.now();
    assert.throws(() => be.matmul(a, a, new Float32Array(n * n), square(n)), /worker thread 1 stopped during \w+_task \(exit code 7; out of memory or killed\?\)/);
    assert.ok(Date.now() - t0 < 30_000, 'the failure was reported promptly');
    // The next call: a new pool, correct results.
    const m = 256;
    const b = new Float32Array(m * m).fill(1);
    const out = new Float32Array(m * m);
    be.matmul(b, b, out, square(m));
    assert.ok(out.every((x) => x === m), 'the replacement pool computes the product');
    assert.equal(starts, 2);
    be.close();
  });

  test('idle workers stay asleep (no periodic wake-ups)', async () => {
    const be = createWasmBackend(quiet, { threads: 2 });
    const n = 256;
    const a = new Float32Array(n * n).fill(1);
    be.matmul(a, a, new Float32Array(n * n), square(n));
    await new Promise((r) => setTimeout(r, 100)); // past the spin, into the sleep
    const before = Atomics.load(be.pool.control, CTRL.WAKEUPS);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(Atomics.load(be.pool.control, CTRL.WAKEUPS), before, 'a sleeping worker woke up with no job');
    be.close();
  });

  test('a machine busy with other processes: small jobs stay on the calling thread, big ones are still shared', async () => {
    // The platform says how busy the others are; the pool looks at most every LOAD_SAMPLE_MS.
    let others: number | null = null;
    const platform: WasmPlatform = { ...nodePlatform, defaultThreads: () => 2, loadOfOthers: () => others };
    const pool = createWasmBackend(platform, { threads: 2 }).pool;
    const next = () => new Promise((r) => setTimeout(r, LOAD_SAMPLE_MS + 10));
    assert.equal(pool.worthParallel(2e6, 1e6), true, 'unknown load: the usual threshold');
    others = 1.5; // another process takes 1.5 of the 2 cores
    await next();
    assert.equal(pool.worthParallel(2e6, 1e6), false, 'contended: a small job is not shared');
    assert.equal(pool.contended, true);
    assert.equal(pool.worthParallel(CONTENDED_SCALE * 1e6, 1e6), true, 'contended: a job CONTENDED_SCALE× the threshold is');
    others = 0.4; // 1.6 cores spare for 2 threads: not calm yet (the gap keeps the state from flapping)
    await next();
    assert.equal(pool.worthParallel(2e6, 1e6), false);
    others = 0.1;
    await next();
    assert.equal(pool.worthParallel(2e6, 1e6), true, 'quiet again');
    assert.equal(pool.contended, false);
    const one = createWasmBackend(platform, { threads: 1 }).pool;
    others = 1.9;
    await next();
    assert.equal(one.worthParallel(1e12, 1e6), false, 'one thread never shares');
    assert.equal(one.contended, false, 'and never asks');
  });

  test('on a busy machine a product of a few rows stays on the calling thread, however large', async () => {
    let others = 0;
    const platform: WasmPlatform = { ...nodePlatform, defaultThreads: () => 2, loadOfOthers: () => others };
    const be = createWasmBackend(platform, { threads: 2 });
    const [m, n, k] = [4, 4096, 4096]; // 134 MFLOP: shared on a quiet machine, above any contended threshold's reach
    const a = new Float32Array(m * k).fill(1);
    const b = new Float32Array(k * n).fill(0.5);
    const out = new Float32Array(m * n);
    const spec: MatmulSpec = { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false };
    const jobs = () => Atomics.load(be.pool.control, CTRL.GEN);
    be.matmul(a, b, out, spec); // the first look at the load
    await new Promise((r) => setTimeout(r, LOAD_SAMPLE_MS + 10));
    let before = jobs();
    be.matmul(a, b, out, spec);
    assert.ok(jobs() > before, 'quiet: shared');
    others = 1.5;
    await new Promise((r) => setTimeout(r, LOAD_SAMPLE_MS + 10));
    before = jobs();
    be.matmul(a, b, out, spec);
    assert.equal(be.pool.contended, true);
    assert.equal(jobs(), before, 'contended: on the calling thread');
    assert.ok(out.every((x) => x === k * 0.5));
    be.close();
  });

  test("Node's loadOfOthers sees a busy process beside it", async () => {
    const sample = nodePlatform.loadOfOthers!;
    sample(); // the start of the interval
    const busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200)); // let it start
      sample();
      await new Promise((r) => setTimeout(r, 600));
      const load = sample();
      assert.ok(load !== null && load > 0.6 && load < availableParallelism() + 0.5, `a process spinning on one core: ${load} cores`);
    } finally {
      busy.kill();
    }
  });
});
