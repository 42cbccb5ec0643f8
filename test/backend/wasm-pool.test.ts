// The worker pool when things go wrong or go quiet: a worker that dies in the middle of a job makes that call
// fail with an error (instead of waiting forever) and the next call runs on a fresh pool; close() ends the
// threads; idle workers sleep without waking up.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { MatmulSpec } from '../../src/backend/backend.js';
import { CTRL, createWasmBackend, type WasmPlatform } from '../../src/backend/wasm/index.js';
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
});
