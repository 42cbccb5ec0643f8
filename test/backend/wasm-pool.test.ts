// The worker pool when things go wrong or go quiet: a worker that dies in the middle of a job makes that call
// fail with an error (instead of waiting forever) and the next call runs on a fresh pool; close() ends the
// threads; idle workers sleep without waking up.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { MatmulSpec } from '../../src/backend/backend.js';
import { CTRL, createWasmBackend, type WasmPlatform } from '../../src/backend/wasm/index.js';
import { CONTENDED_FACTOR, CONTENTION_RESET_MS, ContentionMonitor, FIRST_SOLO_MS, LATE_MS, MAX_SOLO_MS } from '../../src/backend/wasm/pool.js';
import { HOLD_MS } from './_late_worker.js';
import { reference } from './_wasm.js';
import { createNodePlatform, nodePlatform } from '../../src/platform/node.js';

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
    const be = createWasmBackend(nodePlatform, { threads: 2 });
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
    const platform: WasmPlatform = { ...nodePlatform, startWorkers: (inits) => (starts++ === 0 ? rogue : nodePlatform).startWorkers(inits) };
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
    const be = createWasmBackend(nodePlatform, { threads: 2 });
    const n = 256;
    const a = new Float32Array(n * n).fill(1);
    be.matmul(a, a, new Float32Array(n * n), square(n));
    await new Promise((r) => setTimeout(r, 100)); // past the spin, into the sleep
    const before = Atomics.load(be.pool.control, CTRL.WAKEUPS);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(Atomics.load(be.pool.control, CTRL.WAKEUPS), before, 'a sleeping worker woke up with no job');
    be.close();
  });

  test('a worker late with a task: the result is right, and the next small jobs run without it until a probe', async () => {
    const late = createNodePlatform({ supervisor: new URL('./_late_supervisor.js', import.meta.url) });
    const be = createWasmBackend(late, { threads: 2 });
    try {
      // The monitor's clock is the test's (the jobs' own timings are real), so a slow machine cannot end a
      // solo period early.
      let now = 0;
      be.pool.contention = new ContentionMonitor(() => now);
      be.pool.prewake();
      assert.ok(await waitFor(() => Atomics.load(be.pool.control, CTRL.STARTED) >= 1, 30_000), 'the worker started');
      // 256³ (34 MFLOP): above the usual parallel threshold (1 MFLOP), far below the contended one (256×): 8 tasks.
      const n = 256;
      const next = (() => { let s = 1; return () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5; })();
      const a = Float32Array.from({ length: n * n }, next);
      const b = Float32Array.from({ length: n * n }, next);
      const want = new Float32Array(n * n);
      reference.matmul(a, b, want, square(n));
      const check = (got: Float32Array, label: string): void => {
        for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-3, `${label}: out[${i}] = ${got[i]}, want ${want[i]}`);
      };
      // The worker spins for jobs, so it claims a task of the first one — unless the OS did not run it just
      // then (a busy machine): try again, giving it time to be scheduled.
      const tries: string[] = [];
      for (let i = 0; i < 20 && be.pool.contention.lateJobs === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
        const out = new Float32Array(n * n);
        const t0 = performance.now();
        be.matmul(a, b, out, square(n));
        tries.push(`${(performance.now() - t0).toFixed(1)} ms`);
        assert.ok(be.pool.contention.lateJobs === 0 || performance.now() - t0 >= HOLD_MS - 1, 'a late job waits for the held task');
        check(out, `the job with a late worker (try ${i + 1})`);
      }
      assert.equal(be.pool.contention.lateJobs, 1, `the late task was noticed (jobs took ${tries.join(', ')})`);
      assert.ok(be.pool.contention.contended, 'a solo period started');
      // Solo: the same job now runs on the calling thread alone — no job is published to the workers at all, so
      // nothing can wait for the late one.
      const published = Atomics.load(be.pool.control, CTRL.GEN);
      for (let i = 0; i < 10; i++) {
        const out = new Float32Array(n * n);
        be.matmul(a, b, out, square(n));
        check(out, `solo job ${i}`);
      }
      assert.equal(Atomics.load(be.pool.control, CTRL.GEN), published, 'a job of the solo period went to the workers');
      assert.equal(be.pool.contention.lateJobs, 1);
      // After the period (FIRST_SOLO_MS) the workers are tried again: late again, so a longer period starts.
      now += FIRST_SOLO_MS;
      assert.ok(!be.pool.contention.contended, 'the solo period ended');
      for (let i = 0; i < 20 && be.pool.contention.lateJobs === 1; i++) {
        await new Promise((r) => setTimeout(r, 10));
        const out = new Float32Array(n * n);
        be.matmul(a, b, out, square(n));
        check(out, `the probe (try ${i + 1})`);
      }
      assert.equal(be.pool.contention.lateJobs, 2, 'the probe went to the worker, which was late again');
      assert.ok(be.pool.contention.contended, 'a second solo period started');
    } finally {
      be.close(); // the late worker spins for jobs: end it
    }
  });
});

describe('ContentionMonitor', () => {
  test('quiet jobs never trigger it; a late one starts a solo period that doubles while lateness repeats', () => {
    let now = 0;
    const m = new ContentionMonitor(() => now);
    // Quiet: the caller waited little, or less than it worked itself (a worker finishing its last task).
    for (const [own, waited] of [[0.1, 0.01], [0.05, 0.4], [5, 2], [0.2, LATE_MS]]) {
      m.record(own!, waited!);
      assert.equal(m.factor(), 1, `own ${own} ms, waited ${waited} ms is not late`);
    }
    assert.equal(m.lateJobs, 0);
    // Late: waited past LATE_MS and past its own work. Solo for FIRST_SOLO_MS.
    m.record(0.1, 4);
    assert.equal(m.factor(), CONTENDED_FACTOR);
    now += FIRST_SOLO_MS - 1;
    assert.ok(m.contended);
    now += 2;
    assert.equal(m.factor(), 1, 'the period ends: the next jobs probe the workers');
    // Late again soon: twice as long, and so on up to MAX_SOLO_MS.
    let period = FIRST_SOLO_MS;
    for (let i = 0; i < 8; i++) {
      m.record(0.1, 4);
      period = Math.min(2 * period, MAX_SOLO_MS);
      now += period - 1;
      assert.ok(m.contended, `period ${i + 2} lasts ${period} ms`);
      now += 2;
      assert.ok(!m.contended, `period ${i + 2} ends after ${period} ms`);
    }
    // A late job long after the last one starts over at FIRST_SOLO_MS.
    now += CONTENTION_RESET_MS;
    m.record(0.1, 4);
    now += FIRST_SOLO_MS + 1;
    assert.ok(!m.contended, 'back to the first period length');
    assert.equal(m.lateJobs, 10);
  });
});
