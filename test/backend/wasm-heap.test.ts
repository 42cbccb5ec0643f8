// The allocator over the shared WebAssembly memory (src/backend/wasm/heap.ts), and the behaviour that rests
// on it: growing the memory for big operands, and the packed-weight cache dropping old entries when it is
// over its budget without ever returning a stale or foreign packing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MatmulSpec } from '../../src/backend/backend.js';
import { createWasmBackend } from '../../src/backend/wasm/index.js';
import { WasmHeap } from '../../src/backend/wasm/heap.js';
import { nodePlatform } from '../../src/platform/node.js';
import { assertClose, randomArray, reference, rng } from './_wasm.js';

const PAGE = 65536;

describe('WasmHeap', () => {
  test('views made after another memory of this thread grew are still its own (V8 replaces every shared buffer object then)', () => {
    // Two backends, each with its own shared memory; the second's pool has a worker, so its memory is shared
    // with another thread. When it grows, V8 gives every shared memory of this thread a new buffer object.
    const one = createWasmBackend(nodePlatform, { threads: 1 });
    const two = createWasmBackend(nodePlatform, { threads: 2 });
    two.parallelMinFlops = 0;
    const a = new Float32Array(64 * 64).fill(1);
    two.matmul(a, a, new Float32Array(64 * 64), { batch: 1, m: 64, n: 64, k: 64, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false });
    const before = one.allocate(16).buffer;
    two.allocate(64 << 20); // 256 MB: the second memory grows
    assert.notEqual(one.allocate(16).buffer, before, 'V8 did not replace the buffer object: this test no longer checks anything');
    const step = one.stepMemory.take(100_000)!;
    assert.ok(one.stepMemory.holds(step), 'step memory taken after the replacement is known as such');
    // A block allocated after the replacement is known as the heap's own: release() gives it back for reuse.
    const b = one.allocate(1000);
    one.release(b);
    assert.equal(one.allocate(1000).byteOffset, b.byteOffset, 'the released block was not taken back');
    one.stepMemory.reset();
    one.close();
    two.close();
  });

  test('allocates 64-byte aligned, non-overlapping blocks and reuses freed space', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    const heap = new WasmHeap(memory, 100, 16 * PAGE);
    const a = heap.alloc(10);
    const b = heap.alloc(100);
    const c = heap.alloc(64);
    assert.equal(a, 128, 'the first block starts at the first 64-byte boundary after 100');
    for (const p of [a, b, c]) assert.equal(p % 64, 0, `${p} is 64-byte aligned`);
    assert.ok(b >= a + 64 && c >= b + 128, `blocks do not overlap: ${a}, ${b}, ${c}`);
    heap.release(b);
    assert.equal(heap.alloc(128), b, 'a freed block of the right size is reused');
    heap.release(a);
    heap.release(b);
    assert.equal(heap.alloc(192), a, 'freed neighbours merge into one block');
    assert.throws(() => heap.release(12345), /release\(12345\) of an address that is not allocated/);
  });

  test('grows the memory on demand and says how much was asked for past the maximum', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const heap = new WasmHeap(memory, 0, 4 * PAGE);
    const p = heap.alloc(2 * PAGE);
    assert.ok(memory.buffer.byteLength >= p + 2 * PAGE, `memory grew to ${memory.buffer.byteLength} bytes`);
    heap.f32[(p + 2 * PAGE) / 4 - 1] = 7; // the last float of the block is addressable
    assert.equal(heap.f32[(p + 2 * PAGE) / 4 - 1], 7);
    assert.throws(() => heap.alloc(3 * PAGE), /out of WebAssembly memory: need 192\.0 KiB more.*limit 256\.0 KiB/);
  });

  test('dropped arrays give their blocks back before the memory grows, with no finalizer having run', async () => {
    // 24 arrays of 32 MiB (768 MiB) made and dropped one after another under a 256 MiB limit. The loop yields
    // to the event loop between arrays (as any program between requests or files does) but allocates almost
    // nothing on the JavaScript heap, so nothing makes V8 collect and no FinalizationRegistry callback comes:
    // only the heap's own collection and sweep before growing make room. Without them the 8th array is
    // "out of WebAssembly memory".
    const limit = 256 << 20;
    const memory = new WebAssembly.Memory({ initial: 16, maximum: limit / PAGE, shared: true });
    const heap = new WasmHeap(memory, 0, limit, () => nodePlatform.collectGarbage!());
    let sum = 0;
    for (let i = 0; i < 24; i++) {
      const a = heap.allocFloat32(8 << 20);
      a[a.length - 1] = i;
      sum += a[a.length - 1]!;
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(sum, (23 * 24) / 2);
    assert.ok(heap.usedBytes <= 4 * (32 << 20), `${heap.usedBytes} bytes still in use after the loop`);
  });

  test('an owned block freed early runs its onFree once, and its finalizer never frees the block reused there', async () => {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 64, shared: true });
    const heap = new WasmHeap(memory, 0, 64 * PAGE, () => nodePlatform.collectGarbage!());
    let freed = 0;
    let owner: object | null = {};
    const p = heap.alloc(1000);
    heap.own(owner, p, () => freed++);
    heap.freeNow(p);
    assert.equal(freed, 1);
    const q = heap.alloc(1000); // the same address, now someone else's
    assert.equal(q, p);
    owner = null;
    nodePlatform.collectGarbage!();
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r)); // finalizers, if any, run here
    assert.equal(freed, 1, 'onFree ran again');
    assert.equal(heap.usedBytes, 1024, 'the reused block was freed by a stale finalizer');
    assert.throws(() => heap.own({}, 64 * PAGE - 64), /own\(\d+\) of an address that is not allocated/);
  });

  test('freeArray gives an allocFloat32 block back at once, and leaves alone ordinary arrays, views and blocks now someone else\'s', () => {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 16, shared: true });
    const heap = new WasmHeap(memory, 0, 16 * PAGE);
    const a = heap.allocFloat32(1000);
    assert.equal(heap.usedBytes, 4032);
    heap.freeArray(new Float32Array(1000)); // not this memory's
    heap.freeArray(new Float32Array(memory.buffer, a.byteOffset, 10)); // a view of the block, not the array it was given as
    assert.equal(heap.usedBytes, 4032, 'only the array allocFloat32 returned frees its block');
    heap.freeArray(a);
    assert.equal(heap.usedBytes, 0);
    const b = heap.allocFloat32(1000);
    assert.equal(b.byteOffset, a.byteOffset, 'the block is reused');
    heap.freeArray(a); // given back already; its address now holds b
    assert.equal(heap.usedBytes, 4032, 'freeing a stale array freed the block of the array that took its place');
  });
});

describe('wasm matmul and its memory', () => {
  test('operands bigger than the initial 16 MiB grow the memory and still multiply correctly', () => {
    const be = createWasmBackend(nodePlatform, { threads: 2 });
    const next = rng(11);
    const [m, n, k] = [2, 2100, 2048]; // B alone is 17 MB
    const a = randomArray(m * k, next);
    const b = randomArray(k * n, next);
    const spec: MatmulSpec = { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false };
    const want = new Float32Array(m * n);
    reference.matmul(a, b, want, spec);
    const got = new Float32Array(m * n);
    be.matmul(a, b, got, spec);
    const scale = new Float32Array(m * n);
    reference.matmul(a.map(Math.abs), b.map(Math.abs), scale, spec);
    assertClose(got, want, scale, 1e-5, 'a (2 × 2048)·(2048 × 2100) product');
  });

  test('weights past a small copy budget are copied per call (nothing evicted), and every result stays right', () => {
    // Each 64 × 96 weight is 24 KiB; a 50 KiB budget keeps copies of two of them, so the other two are copied
    // in on every call, and an in-place change (a new version) is seen either way.
    const be = createWasmBackend(nodePlatform, { threads: 1, weightCacheBytes: 50 * 1024 });
    const next = rng(12);
    const [m, n, k] = [3, 96, 64];
    const weights = [0, 1, 2, 3].map(() => randomArray(k * n, next));
    const a = randomArray(m * k, next);
    for (let round = 0; round < 3; round++) {
      weights.forEach((w, i) => {
        const spec: MatmulSpec = { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false, bVersion: round };
        const want = new Float32Array(m * n);
        reference.matmul(a, w, want, spec);
        const got = new Float32Array(m * n);
        be.matmul(a, w, got, spec);
        const scale = new Float32Array(m * n);
        reference.matmul(a.map(Math.abs), w.map(Math.abs), scale, spec);
        assertClose(got, want, scale, 1e-5, `round ${round}, weight ${i}`);
        w[0] = w[0]! + 1; // changed after use; the next round's new version must see it
      });
    }
  });

  test('a weight bigger than the whole budget is copied per call instead of kept', () => {
    const be = createWasmBackend(nodePlatform, { threads: 1, weightCacheBytes: 1024 });
    const next = rng(13);
    const [m, n, k] = [2, 40, 30];
    const a = randomArray(m * k, next);
    const w = randomArray(k * n, next);
    const spec: MatmulSpec = { batch: 1, m, n, k, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0, accumulate: false, bVersion: 1 };
    const want = new Float32Array(m * n);
    reference.matmul(a, w, want, spec);
    const got = new Float32Array(m * n);
    be.matmul(a, w, got, spec);
    const scale = new Float32Array(m * n);
    reference.matmul(a.map(Math.abs), w.map(Math.abs), scale, spec);
    assertClose(got, want, scale, 1e-5, 'uncacheable weight');
  });
});

describe('weights that live in WebAssembly memory', () => {
  test('allocate() hands out views of the memory that matmul uses in place, before and after the memory grows', () => {
    const be = createWasmBackend(nodePlatform, { threads: 1 });
    const next = rng(21);
    const [m, n, k] = [3, 70, 50];
    const w = be.allocate(k * n); // (K, N), a parameter's storage
    assert.ok(w.every((x) => x === 0), 'zeroed');
    w.set(randomArray(k * n, next));
    const a = randomArray(m * k, next);
    const check = (label: string, bVersion: number) => {
      for (const mm of [1, 2, m]) {
        const spec: MatmulSpec = { batch: 1, m: mm, n, k, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false, bVersion };
        const want = new Float32Array(mm * n);
        reference.matmul(a, w, want, spec);
        const got = new Float32Array(mm * n);
        be.matmul(a, w, got, spec);
        const scale = new Float32Array(mm * n);
        reference.matmul(a.map(Math.abs), w.map(Math.abs), scale, spec);
        assertClose(got, want, scale, 1e-5, `${label}, m = ${mm}`);
      }
    };
    check('in place', 1);
    w[5] = 3; // an optimizer step writes the parameter where it is
    check('after an in-place write', 2);
    // Grow the memory past its first buffer: the old view stays valid and is still recognised.
    const big = new Float32Array(8 * 1024 * 1024).fill(1);
    be.matmul(big.subarray(0, 2048 * 2048), big.subarray(0, 2048 * 2), new Float32Array(2048 * 2), {
      batch: 1, m: 2048, n: 2, k: 2048, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false,
    });
    check('after the memory grew', 3);
  });
});
