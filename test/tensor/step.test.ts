// Training steps' memory (src/tensor/step.ts, StepArena in src/backend/wasm/heap.ts): arrays cut from chunks
// of the WebAssembly memory and all given back when the step ends, used in place by the kernels.
// The oracle for the numbers is the reference backend (plain TypeScript, ordinary arrays); the memory rules
// (reuse, staleness, the size limit) are checked by addresses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import './../_backends.js';
import { getBackend, setBackend } from '../../src/backend/index.js';
import { StepArena, WasmHeap } from '../../src/backend/wasm/heap.js';
import * as T from '../../src/tensor/index.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { reference, rng, wasmBackend, wasmConfigs } from '../backend/_wasm.js';
import { AdamW, clipGradNorm } from '../../src/optim/index.js';

const MB = 1 << 20;

function heap(maxMB: number): WasmHeap {
  const pages = (maxMB * MB) / 65536;
  const memory = new WebAssembly.Memory({ initial: 1, maximum: pages, shared: true });
  return new WasmHeap(memory, 64, pages * 65536);
}

test('StepArena: arrays do not overlap, reset gives the same bytes to the next step', () => {
  const arena = new StepArena(heap(256), 128 * MB);
  const a = arena.take(1000)!;
  const b = arena.take(10)!;
  assert.ok(a.byteOffset + a.byteLength <= b.byteOffset, 'b starts after a');
  assert.equal(a.byteOffset % 64, 0);
  assert.equal(b.byteOffset % 64, 0);
  assert.ok(arena.holds(a) && arena.holds(b));
  assert.equal(arena.holds(new Float32Array(1000)), false, 'an ordinary array is not step memory');
  const first = a.byteOffset;
  arena.reset();
  const c = arena.take(1000)!;
  assert.equal(c.byteOffset, first, 'the next step reuses the first step\'s bytes');
});

test('StepArena: a step larger than a chunk adds chunks, which the next steps reuse at the same addresses', () => {
  const h = heap(512);
  const arena = new StepArena(h, 256 * MB);
  const sizes = [20 * MB, 20 * MB, 30 * MB].map((b) => b / 4); // 70 MB: more than the 32 MB first chunk
  const step = () => sizes.map((n) => arena.take(n)!);
  const first = step();
  for (const a of first) assert.ok(arena.holds(a));
  const memory = h.memory.buffer.byteLength;
  arena.reset();
  const second = step();
  assert.deepEqual(second.map((a) => a.byteOffset), first.map((a) => a.byteOffset));
  assert.equal(h.memory.buffer.byteLength, memory, 'the memory did not grow for the second step');
  for (let i = 0; i < 3; i++) for (let j = i + 1; j < 3; j++) {
    const [a, b] = [second[i]!, second[j]!];
    assert.ok(a.byteOffset + a.byteLength <= b.byteOffset || b.byteOffset + b.byteLength <= a.byteOffset, `arrays ${i} and ${j} overlap`);
  }
});

test('StepArena: past its limit take() answers null (the caller makes an ordinary array)', () => {
  const arena = new StepArena(heap(256), 40 * MB);
  assert.ok(arena.take((30 * MB) / 4) !== null);
  assert.equal(arena.take((30 * MB) / 4), null, '60 MB is over the 40 MB limit');
  arena.reset();
  assert.ok(arena.take((30 * MB) / 4) !== null, 'after the step, the memory is there again');
});

test('trainingStep on wasm: results live in step memory, and reading one after its step throws, naming it', () => {
  setBackend('wasm', { threads: 1 });
  const x = T.randn([32, 48]);
  const w = T.randn([48, 64]);
  let inside = 0;
  const y = T.trainingStep(() => {
    const y = T.matmul(x, w);
    assert.ok(getBackend().stepMemory!.holds(y.data as Float32Array), 'the product is step memory');
    inside = y.data[5]!;
    return y;
  });
  assert.equal(inside, T.matmul(x, w).data[5], 'the same product outside a step');
  assert.deepEqual(y.shape, [32, 64], 'the shape is still readable');
  assert.throws(() => y.data, /this \[32, 64\] tensor was computed inside a step/);
  // Small results and tensors made before the step are ordinary memory, valid after it.
  const small = T.trainingStep(() => T.add(T.tensor([1, 2, 3]), 1));
  assert.deepEqual(Array.from(small.data), [2, 3, 4]);
  assert.equal(x.data.length, 32 * 48);
});

test('trainingStep: the next step reuses the memory; a throwing step still gives it back; nesting and promises', () => {
  setBackend('wasm', { threads: 1 });
  const x = T.randn([64, 64]);
  const addr = () => T.trainingStep(() => (T.matmul(x, x).data as Float32Array).byteOffset);
  const first = addr();
  assert.equal(addr(), first);
  assert.throws(() => T.trainingStep(() => {
    T.matmul(x, x);
    throw new Error('boom');
  }), /boom/);
  assert.equal(addr(), first, 'the step that threw gave its memory back');
  assert.equal(T.trainingStep(() => T.trainingStep(() => T.matmul(x, x).sum().item())), T.matmul(x, x).sum().item());
  assert.throws(() => T.trainingStep(() => Promise.resolve(1)), /must be synchronous/);
});

test('trainingStep on the reference backend changes nothing: results stay valid after the step', () => {
  setBackend('js');
  const x = T.randn([16, 16]);
  const y = T.trainingStep(() => T.matmul(x, x));
  assert.equal(y.data.length, 256);
});

for (const cfg of wasmConfigs()) {
  test(`${cfg.label}: matmul and linearBackward read and write step memory in place, as the reference computes`, () => {
    const be = wasmBackend(cfg.simd, cfg.threads);
    const mem = be.stepMemory;
    const r = rng(11);
    const rnd = (len: number) => Float32Array.from({ length: len }, () => r() * 2 - 1);
    const inMem = (src: Float32Array) => {
      const a = mem.take(src.length)!;
      a.set(src);
      return a;
    };
    const close = (got: Float32Array, want: Float32Array, what: string) => {
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-4, `${what} element ${i}: ${got[i]} vs ${want[i]}`);
    };
    for (const [m, n, k] of [[3, 40, 24], [70, 33, 17]] as const) {
      // C += A·B with A and C in step memory (C accumulated into where it is).
      const a = rnd(m * k);
      const b = rnd(k * n);
      const spec = { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: true };
      const want = new Float32Array(m * n).fill(1);
      reference.matmul(a, b, want, spec);
      const out = mem.take(m * n)!.fill(1);
      be.matmul(inMem(a), b, out, spec);
      close(out, want, `matmul (${m}, ${n}, ${k})`);
      // dx, dW, db of y = x·W + b with x, dy and every result in step memory.
      const x = rnd(m * k);
      const w = rnd(k * n);
      const dy = rnd(m * n);
      const ls = { rows: m, inF: k, outF: n, layout: 'in_out' as const };
      const [dx0, dw0, db0] = [new Float32Array(m * k), new Float32Array(k * n), new Float32Array(n)];
      reference.linearBackward(x, w, dy, ls, dx0, dw0, db0);
      const [dx, dw, db] = [mem.take(m * k)!, mem.take(k * n)!, mem.take(n)!];
      be.linearBackward(inMem(x), w, inMem(dy), ls, dx, dw, db);
      close(dx, dx0, 'dx');
      close(dw, dw0, 'dW');
      close(db, db0, 'db');
      mem.reset();
    }
  });
}

test('a GPT trained inside trainingStep on wasm: the reference backend\'s gradients, and the same steps as without step memory', () => {
  const run = (backend: 'js' | 'wasm', inStep: boolean): { losses: number[]; grads: Float32Array[][] } => {
    setBackend(backend, backend === 'wasm' ? { threads: 2 } : {});
    const model = new GPT(gptConfig({ n_layer: 2, n_head: 2, n_embd: 32, n_positions: 16, vocab_size: 50, embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0 }), new T.Rng(5));
    model.train(true);
    const opt = new AdamW(model.parameters(), { lr: 1e-2 });
    const rng = new T.Rng(9);
    const losses: number[] = [];
    const grads: Float32Array[][] = [];
    const step = inStep ? T.trainingStep : <R>(fn: () => R): R => fn();
    for (let s = 0; s < 3; s++) {
      const ids = Int32Array.from({ length: 4 * 12 }, () => rng.int(50));
      const x = T.tensor(ids, [4, 12], { dtype: 'int32' });
      const y = T.tensor(Int32Array.from(ids, (v) => (v * 7 + 3) % 50), [4, 12], { dtype: 'int32' });
      losses.push(step(() => {
        const loss = model.forward(x, { targets: y }).loss as T.Tensor;
        loss.backward();
        clipGradNorm(model.parameters(), 1.0);
        grads.push(model.parameters().map((p) => Float32Array.from(p.grad!.data as Float32Array))); // copied inside the step
        opt.step();
        opt.zeroGrad();
        return loss.item();
      }));
    }
    return { losses, grads };
  };
  const compare = (a: ReturnType<typeof run>, b: ReturnType<typeof run>, steps: number, tol: number, what: string) => {
    for (let s = 0; s < steps; s++) {
      assert.ok(Math.abs(a.losses[s]! - b.losses[s]!) < tol, `${what}, step ${s}: loss ${b.losses[s]} vs ${a.losses[s]}`);
      a.grads[s]!.forEach((g, i) => {
        let worst = 0;
        let scale = 1e-3;
        for (let j = 0; j < g.length; j++) {
          worst = Math.max(worst, Math.abs(g[j]! - b.grads[s]![i]![j]!));
          scale = Math.max(scale, Math.abs(g[j]!));
        }
        assert.ok(worst <= tol * scale, `${what}, step ${s}, parameter ${i}: gradients differ by ${worst} (largest ${scale})`);
      });
    }
  };
  const stepped = run('wasm', true);
  // The first step against the reference (later steps drift apart through AdamW's normalisation of tiny
  // differences, with or without step memory); every step against the same run on ordinary arrays.
  compare(run('js', false), stepped, 1, 1e-4, 'reference');
  compare(run('wasm', false), stepped, 3, 1e-6, 'ordinary arrays');
  setBackend('wasm', { threads: 1 });
});

test('StepArena.rewindKeeping: kept arrays (any order, across chunks) move down to the mark with their numbers; the rest is given back', () => {
  const h = heap(512);
  const arena = new StepArena(h, 256 * MB);
  const before = arena.take(1000)!.fill(7); // taken before the mark: must stay put
  const mark = arena.mark();
  // 30 + 20 MB arrays overflow the 32 MB first chunk, so the kept ones lie in two chunks.
  const sizes = [3000, 8 * MB / 4, 5, 30 * MB / 4, 77, 20 * MB / 4, 640];
  const arrays = sizes.map((n, i) => {
    const a = arena.take(n)!;
    for (let j = 0; j < n; j++) a[j] = i * 1000 + (j % 997);
    return a;
  });
  const keepIdx = [5, 2, 6, 0]; // not in the order taken
  const keep = keepIdx.map((i) => arrays[i]!);
  const moved = arena.rewindKeeping(mark, [...keep, before]);
  assert.equal(moved[4], before, 'an array taken before the mark comes back as it is');
  assert.ok(before.every((v) => v === 7));
  for (const [n, i] of keepIdx.entries()) {
    const a = moved[n]!;
    assert.equal(a.length, sizes[i]);
    assert.ok(arena.holds(a));
    for (let j = 0; j < a.length; j += 1 + (j >> 4)) assert.equal(a[j], i * 1000 + (j % 997), `kept array ${i}, element ${j}`);
    assert.equal(a[a.length - 1], i * 1000 + ((a.length - 1) % 997), `kept array ${i}, last element`);
  }
  // Laid out from the mark in the order they were taken, 0, 2, 5, 6 (all in the first chunk now: array 5 was in
  // the third), one after another: so array 0, taken right at the mark, had to move first.
  const order = [0, 2, 5, 6].map((i) => moved[keepIdx.indexOf(i)]!);
  assert.equal(order[0]!.byteOffset, before.byteOffset + 4032, 'the first kept array starts at the mark');
  for (let i = 1; i < 4; i++) {
    const prev = order[i - 1]!;
    assert.equal(order[i]!.byteOffset, prev.byteOffset + Math.ceil(prev.byteLength / 64) * 64, `kept array ${i} does not follow the one before`);
  }
  const next = arena.take(10)!;
  assert.ok(next.byteOffset >= order[3]!.byteOffset + order[3]!.byteLength, 'the next array comes after the kept ones');
  assert.ok(next.byteOffset < arrays[6]!.byteOffset, 'the space of the dropped arrays was given back');
});

test('StepArena.rewindKeeping: back-to-back subarrays of one array (not 64-byte aligned) keep their numbers', () => {
  const arena = new StepArena(heap(256), 128 * MB);
  for (const junk of [0, 500]) {
    const mark = arena.mark();
    if (junk > 0) arena.take(junk); // given back: the kept ones move down over it
    const parent = arena.take(1001)!;
    for (let j = 0; j < 1001; j++) parent[j] = j + 0.5;
    const after = arena.take(100)!.fill(-3);
    // Three pieces of `parent`, the second and third starting 1 332 and 2 668 bytes in (not multiples of 64).
    const pieces = [parent.subarray(667, 1001), parent.subarray(0, 333), after, parent.subarray(333, 667)];
    const moved = arena.rewindKeeping(mark, pieces);
    const starts = [667, 0, -1, 333];
    moved.forEach((a, n) => {
      assert.equal(a.length, pieces[n]!.length);
      for (let j = 0; j < a.length; j++) assert.equal(a[j], starts[n]! < 0 ? -3 : starts[n]! + j + 0.5, `junk ${junk}: piece ${n}, element ${j}`);
    });
    const next = arena.take(16)!;
    for (const a of moved) assert.ok(next.byteOffset >= a.byteOffset + a.byteLength, `junk ${junk}: the next array overlaps a kept one`);
    arena.reset();
  }
});

/** A small "layer": y = relu(x·W + 1) with a 2-row result view, made of known numbers (W all 0.5). */
function smallLayer(x: T.Tensor, inside: T.Tensor[]): { y: T.Tensor; firstRows: T.Tensor } {
  const w = T.full([x.shape[1]!, 96], 0.5);
  const h = T.add(T.matmul(x, w), 1); // each element: 0.5·(sum of the x row) + 1
  inside.push(h);
  const y = T.relu(h);
  return { y, firstRows: y.slice(0, 0, 2) };
}

test('layerStep on wasm (inference): returned tensors keep their numbers, intermediates are stale, memory is reused layer after layer', () => {
  setBackend('wasm', { threads: 1 });
  const mem = getBackend().stepMemory!;
  const rows = 40;
  const x0 = T.tensor(Float32Array.from({ length: rows * 64 }, (_, i) => ((i % 7) - 3) / 8), [rows, 64]);
  const rowSum = (r: number) => Array.from({ length: 64 }, (_, j) => (((r * 64 + j) % 7) - 3) / 8).reduce((a, b) => a + b, 0);
  const inside: T.Tensor[] = [];
  // Top level: results come back as ordinary arrays.
  const r = T.noGrad(() => T.layerStep(() => smallLayer(x0, inside)));
  assert.equal(mem.holds(r.y.data as Float32Array), false, 'the result of a top-level layer step is an ordinary array');
  for (let i = 0; i < rows; i++) assert.ok(Math.abs(r.y.data[i * 96 + 5]! - Math.max(0, 0.5 * rowSum(i) + 1)) < 1e-5, `row ${i}`);
  assert.deepEqual(r.firstRows.shape, [2, 96]);
  assert.equal(r.firstRows.toFloat32Array()[96 + 3], r.y.data[96 + 3], 'the view shares the copied storage');
  assert.throws(() => inside[0]!.data, /was computed inside a step/, 'an intermediate of the layer is stale');
  // Inside an outer step: twelve layers in a row keep their results, moved down over the dead intermediates.
  const used: number[] = [];
  const outs = T.trainingStep(() => T.noGrad(() => {
    let x = x0;
    const kept: T.Tensor[] = [];
    for (let l = 0; l < 12; l++) {
      const r = T.layerStep(() => smallLayer(x, []));
      assert.ok(mem.holds(r.y.data as Float32Array), 'inside an outer step the result stays in step memory');
      kept.push(r.y);
      x = T.mul(r.y.slice(1, 0, 64), 0.01); // (rows, 64): small enough to stay positive
      used.push(mem.take(1)!.byteOffset);
    }
    // Every layer's result is still readable and right: layer 0's as computed above.
    for (let i = 0; i < rows; i++) assert.ok(Math.abs(kept[0]!.data[i * 96]! - Math.max(0, 0.5 * rowSum(i) + 1)) < 1e-5);
    return kept.map((t) => t.sum().item());
  }));
  assert.equal(outs.length, 12);
  const perLayer = used.slice(1).map((u, i) => u - used[i]!);
  // Each layer keeps its 40×96 result, the x for the next layer (40×64) and the probe (1 float): ≤ 30 KB, not its intermediates too.
  for (const d of perLayer) assert.ok(d <= (40 * 96 + 40 * 64) * 4 + 64 * 3, `a layer grew the step memory by ${d} bytes`);
});

test('layerStep: returned tensors over overlapping pieces of one array keep their numbers and still share them', () => {
  setBackend('wasm', { threads: 1 });
  const x = T.tensor(Float32Array.from({ length: 1000 }, (_, i) => i), [1000]);
  const layer = () => {
    const y = T.add(x, 0.25); // step memory
    const d = y.data as Float32Array;
    // Two overlapping pieces, neither 64-byte aligned at its end, and y itself.
    return { a: T.fromStorage(d.subarray(10, 600), [590]), b: T.fromStorage(d.subarray(400, 1000), [600]), y };
  };
  const check = (r: ReturnType<typeof layer>, what: string) => {
    for (let j = 0; j < 590; j++) assert.equal(r.a.data[j], 10 + j + 0.25, `${what}: a[${j}]`);
    for (let j = 0; j < 600; j++) assert.equal(r.b.data[j], 400 + j + 0.25, `${what}: b[${j}]`);
    (r.a.data as Float32Array)[500] = -1; // element 510 of y, element 110 of b
    assert.equal(r.b.data[110], -1, `${what}: a and b no longer share their numbers`);
    assert.equal(r.y.data[510], -1, `${what}: a and y no longer share their numbers`);
  };
  check(T.noGrad(() => T.layerStep(layer)), 'top level');
  T.trainingStep(() => T.noGrad(() => {
    T.add(x, 1); // something before the layer, so the kept arrays move
    const r = T.layerStep(layer);
    T.layerStep(() => T.add(x, 2)); // the next layer reuses the memory after them
    check(r, 'inside an outer step');
  }));
});

test('layerStep: with the tape on it is just the call; a throwing layer gives its memory back; the reference backend changes nothing', () => {
  setBackend('wasm', { threads: 1 });
  const x = T.randn([8, 64]);
  const w = T.randn([64, 64], { requiresGrad: true });
  let inner: T.Tensor | null = null;
  const y = T.layerStep(() => {
    inner = T.matmul(x, w);
    return T.relu(inner);
  });
  assert.equal((inner! as T.Tensor).data.length, 512, 'with grad on, intermediates stay');
  y.sum().backward();
  assert.ok(w.grad !== null);
  const probe = () => T.noGrad(() => T.layerStep(() => (T.matmul(x, x.transpose(0, 1)).data as Float32Array).byteOffset));
  const first = T.trainingStep(probe);
  assert.throws(() => T.noGrad(() => T.layerStep(() => {
    T.matmul(x, x.transpose(0, 1));
    throw new Error('boom');
  })), /boom/);
  assert.equal(T.trainingStep(probe), first, 'the failed layer gave its memory back');
  assert.equal(x.data.length, 512, 'tensors from before are still readable');
  setBackend('js');
  const z = T.noGrad(() => T.layerStep(() => T.matmul(x, x.transpose(0, 1))));
  assert.equal(z.data.length, 64);
});
