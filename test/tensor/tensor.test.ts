// The Tensor itself: creation, views sharing storage, strides, data access, versions, autograd semantics,
// and the RNG.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { noGrad, Rng, tensor, Tensor } from '../../src/tensor/index.js';

test('tensor(): flat with shape, nested arrays, typed arrays, dtypes; data is copied', () => {
  const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual(a.shape, [2, 3]);
  assert.deepEqual(a.strides, [3, 1]);
  assert.equal(a.dtype, 'float32');
  assert.equal(a.size, 6);
  assert.equal(a.ndim, 2);
  assert.deepEqual(tensor([[1, 2], [3, 4]]).shape, [2, 2]);
  const src = new Int32Array([1, 2, 3]);
  const b = tensor(src);
  assert.equal(b.dtype, 'int32');
  src[0] = 99;
  assert.equal(b.toArray()[0], 1, 'tensor() copies');
  const shared = T.fromStorage(src, [3]);
  src[1] = 42;
  assert.equal(shared.toArray()[1], 42, 'fromStorage does not copy');
  assert.equal(tensor(3.5).item(), 3.5);
  assert.deepEqual(tensor(3.5).shape, []);
  assert.deepEqual(T.arange(4).toArray(), [0, 1, 2, 3]);
  assert.equal(T.arange(4).dtype, 'int32');
  assert.deepEqual(T.arange(2, 5).toArray(), [2, 3, 4]);
  assert.deepEqual(T.full([2], 7).toArray(), [7, 7]);
  assert.deepEqual(T.zeros([2], { dtype: 'int32' }).dtype, 'int32');
  assert.equal(T.ones([2, 2], { requiresGrad: true }).requiresGrad, true);
});

test('views share storage: transpose, permute, slice, expand, unsqueeze, reshape of contiguous', () => {
  const x = tensor([0, 1, 2, 3, 4, 5], [2, 3]);
  const t = x.transpose(0, 1);
  assert.equal(t.data, x.data);
  assert.deepEqual(t.shape, [3, 2]);
  assert.deepEqual(t.strides, [1, 3]);
  assert.equal(t.isContiguous(), false);
  assert.deepEqual(t.toArray(), [0, 3, 1, 4, 2, 5]);
  const s = x.slice(1, 1); // columns 1..2
  assert.equal(s.data, x.data);
  assert.equal(s.offset, 1);
  assert.deepEqual(s.toArray(), [1, 2, 4, 5]);
  assert.deepEqual(x.slice(1, -1).toArray(), [2, 5], 'negative start');
  assert.deepEqual(x.slice(0, 0, 10).shape, [2, 3], 'end clamps like Python');
  assert.equal(x.reshape(3, 2).data, x.data);
  assert.equal(x.view([6]).data, x.data);
  assert.deepEqual(x.reshape(-1, 2).shape, [3, 2]);
  assert.equal(x.unsqueeze(0).data, x.data);
  const e = x.slice(0, 0, 1).expand(4, 3);
  assert.deepEqual(e.strides, [0, 1]);
  assert.deepEqual(e.toArray(), [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
  // A transposed matrix cannot be flattened as a view: reshape copies.
  const flat = t.reshape(6);
  assert.notEqual(flat.data, x.data);
  assert.deepEqual(flat.toArray(), [0, 3, 1, 4, 2, 5]);
  // A permuted 4-D view can still be reshaped as a view where its dims stay together.
  const y = T.zeros([2, 3, 4, 5]).permute(1, 0, 2, 3); // (3, 2, 4, 5), strides (20, 60, 5, 1)
  const merged = y.reshape(3, 2, 20);
  assert.equal(merged.data, y.data);
  const c = t.contiguous();
  assert.ok(c.isContiguous());
  assert.deepEqual(c.toArray(), [0, 3, 1, 4, 2, 5]);
  assert.equal(x.contiguous(), x, 'contiguous() of a contiguous tensor is itself');
});

test('toFloat32Array returns the storage when contiguous and whole, a copy otherwise', () => {
  const x = tensor([1, 2, 3, 4], [2, 2]);
  assert.equal(x.toFloat32Array(), x.data);
  const s = x.slice(0, 1);
  const arr = s.toFloat32Array();
  assert.notEqual(arr.buffer, x.data.buffer);
  assert.deepEqual(Array.from(arr), [3, 4]);
  assert.deepEqual(Array.from(x.toInt32Array()), [1, 2, 3, 4]);
});

test('version: copyFrom bumps it, views share their base counter', () => {
  const w = T.zeros([2, 2], { requiresGrad: true });
  const v = w.transpose(0, 1);
  assert.equal(w.version, 0);
  w.copyFrom(tensor([1, 2, 3, 4], [2, 2]));
  assert.equal(w.version, 1);
  assert.equal(v.version, 1);
  assert.deepEqual(v.toArray(), [1, 3, 2, 4]);
  v.detach().copyFrom(tensor([5, 6, 7, 8], [2, 2])); // writes through the transposed strides
  assert.deepEqual(w.toArray(), [5, 7, 6, 8]);
  assert.equal(w.version, 2);
});

test('backward: chain rule through a small graph, accumulation across calls, scalar seed', () => {
  const x = tensor([2], [1], { requiresGrad: true });
  const y = T.add(T.mul(x, x), T.mul(x, 3)); // y = x² + 3x, dy/dx = 2x + 3 = 7
  y.backward();
  assert.deepEqual(x.grad?.toArray(), [7]);
  T.mul(x, x).backward(); // gradients accumulate on leaves: 7 + 4
  assert.deepEqual(x.grad?.toArray(), [11]);
  x.grad = null;
  T.sum(T.mul(x, tensor([5]))).backward();
  assert.deepEqual((x.grad as Tensor | null)?.toArray(), [5]); // (the cast undoes TS's narrowing to null)
});

test('backward frees the graph; a second backward through it is an error naming the problem', () => {
  const x = T.ones([2], { requiresGrad: true });
  const h = T.exp(x);
  const loss = T.sum(h);
  loss.backward();
  assert.throws(() => loss.backward(), /already freed/);
  assert.throws(() => T.sum(T.mul(h, 2)).backward(), /already freed/);
});

test('retainGrad keeps an intermediate gradient; non-leaf grads are not kept otherwise', () => {
  const x = tensor([1, 2], [2], { requiresGrad: true });
  const h = T.mul(x, 3).retainGrad();
  const g = T.mul(x, 2);
  T.sum(T.add(T.mul(h, h), g)).backward(); // d/dh Σ h² = 2h = [6, 12]
  assert.deepEqual(h.grad?.toArray(), [6, 12]);
  assert.equal(g.grad, null);
  assert.deepEqual(x.grad?.toArray(), [20, 38]); // 18x + 2
});

test('shared gradient arrays are not aliased between leaves (a + b, then accumulate)', () => {
  const a = T.zeros([3], { requiresGrad: true });
  const b = T.zeros([3], { requiresGrad: true });
  T.sum(T.add(a, b)).backward();
  T.sum(T.mul(a, 5)).backward();
  assert.deepEqual(a.grad?.toArray(), [6, 6, 6]);
  assert.deepEqual(b.grad?.toArray(), [1, 1, 1]);
});

test('noGrad: no graph, results do not require grad; Promise-returning fns are refused', () => {
  const w = T.ones([2], { requiresGrad: true });
  const y = noGrad(() => T.mul(w, 2));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.isLeaf, true);
  assert.equal(T.isGradEnabled(), true);
  assert.throws(() => noGrad(() => Promise.resolve(1)), /Promise/);
  assert.equal(T.isGradEnabled(), true, 'restored after the error');
  const prev = T.setGradEnabled(false);
  assert.equal(T.mul(w, 2).requiresGrad, false);
  T.setGradEnabled(prev);
  assert.equal(T.mul(w, 2).requiresGrad, true);
});

test('detach cuts the graph but shares storage', () => {
  const w = T.ones([2], { requiresGrad: true });
  const d = T.mul(w, 2).detach();
  assert.equal(d.requiresGrad, false);
  const y = T.sum(T.mul(w, d));
  y.backward();
  assert.deepEqual(w.grad?.toArray(), [2, 2]);
});

test('Rng: xoshiro128** reference outputs for state [1, 2, 3, 4] (traced by hand from the algorithm)', () => {
  const rng = new Rng(0);
  rng.setState([1, 2, 3, 4, 0, 0]);
  // out = rotl(s1·5, 7)·9: s1 = 2 → rotl(10, 7) = 1280 → 11520; then s1 = 0 → 0; then s1 = 1029 → 5927040.
  assert.equal(rng.uint32(), 11520);
  assert.equal(rng.uint32(), 0);
  assert.equal(rng.uint32(), 5927040);
});

test('Rng: same seed same stream, state round-trips (including a cached normal), manualSeed', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 10; i++) assert.equal(a.uniform(), b.uniform());
  a.normal(); // leaves a spare normal cached
  const saved = a.getState();
  const next = [a.normal(), a.normal(), a.uniform()];
  const c = new Rng(7);
  c.setState(JSON.parse(JSON.stringify(saved)) as number[]);
  assert.deepEqual([c.normal(), c.normal(), c.uniform()], next);
  assert.notEqual(new Rng(1).uniform(), new Rng(2).uniform());
  T.manualSeed(5);
  const r1 = T.randn([4]).toArray();
  T.manualSeed(5);
  assert.deepEqual(T.randn([4]).toArray(), r1);
});

test('Rng: uniform in [0,1) and normal with mean ≈ 0, std ≈ 1 over 20000 draws', () => {
  const rng = new Rng(3);
  let s = 0;
  let s2 = 0;
  let min = 1;
  let max = 0;
  for (let i = 0; i < 20000; i++) {
    const u = rng.uniform();
    min = Math.min(min, u);
    max = Math.max(max, u);
    const z = rng.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(min >= 0 && max < 1);
  const mean = s / 20000;
  const std = Math.sqrt(s2 / 20000 - mean * mean);
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(std - 1) < 0.03, `std ${std}`);
  const x = T.randn([20000], { mean: 2, std: 0.5, rng: new Rng(9) }).toArray();
  const m = x.reduce((p, q) => p + q, 0) / x.length;
  assert.ok(Math.abs(m - 2) < 0.02);
  const u = T.rand([1000], { low: -3, high: -2, rng: new Rng(1) }).toArray();
  assert.ok(u.every((v) => v >= -3 && v < -2));
});

test('toString shows shape, dtype and small contents', () => {
  assert.equal(String(tensor([1, 2])), 'Tensor([2], float32) [1, 2]');
  assert.ok(new Tensor(new Float32Array(100), [10, 10]).toString().startsWith('Tensor([10, 10], float32)'));
});
