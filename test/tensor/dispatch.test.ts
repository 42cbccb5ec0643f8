// How ops call the backend: transposed views go as transpose flags (no copies), shared weights fold the
// batch into one product, and bVersion is passed exactly when B is a parameter's storage.
// A recording backend wraps the reference one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerBackend, setBackend, type MatmulSpec } from '../../src/backend/index.js';
import { JsBackend } from '../../src/backend/js/index.js';
import * as T from '../../src/tensor/index.js';
import { AdamW } from '../../src/optim/index.js';
import { MultiHeadAttention } from '../../src/nn/index.js';

const calls: { spec: MatmulSpec; a: Float32Array; b: Float32Array }[] = [];

class RecordingBackend extends JsBackend {
  override matmul(a: Float32Array, b: Float32Array, out: Float32Array, spec: MatmulSpec): void {
    calls.push({ spec: { ...spec }, a, b });
    super.matmul(a, b, out, spec);
  }
}
registerBackend('recording', () => new RecordingBackend());

test('matmul(x, w.transpose()) passes transB with w\'s own storage and version', () => {
  setBackend('recording');
  calls.length = 0;
  const x = T.randn([2, 3, 4]);
  const w = T.randn([5, 4], { requiresGrad: true }); // (out, in)
  T.matmul(x, w.transpose(0, 1));
  assert.equal(calls.length, 1);
  const { spec, b } = calls[0];
  assert.equal(b, w.data, 'B is the weight storage itself, not a transposed copy');
  assert.equal(spec.transB, true);
  assert.equal(spec.transA, false);
  assert.equal(spec.bVersion, 0);
  // (2, 3, 4)·(4, 5) with a shared B: folded into one (6, 4)·(4, 5) product.
  assert.deepEqual([spec.batch, spec.m, spec.n, spec.k], [1, 6, 5, 4]);
});

test('a transposed A goes as transA; activations get no bVersion', () => {
  setBackend('recording');
  calls.length = 0;
  const a = T.randn([4, 3]);
  const b = T.randn([4, 2]); // not a parameter
  T.matmul(a.transpose(0, 1), b);
  assert.equal(calls[0].a, a.data);
  assert.equal(calls[0].spec.transA, true);
  assert.equal(calls[0].spec.bVersion, undefined);
});

test('backward of linear uses transpose flags; the optimizer step bumps the version passed next time', () => {
  setBackend('recording');
  calls.length = 0;
  const x = T.randn([3, 4], { requiresGrad: true });
  const w = T.randn([4, 2], { requiresGrad: true }); // (in, out)
  T.sum(T.linear(x, w, null, 'in_out')).backward();
  // forward y = x·W; dx = dy·Wᵀ (W read transposed, with its version); dW = xᵀ·dy (x read transposed).
  assert.equal(calls.length, 3);
  assert.deepEqual(calls.map((c) => [c.spec.transA, c.spec.transB]), [[false, false], [false, true], [true, false]]);
  assert.equal(calls[0].spec.bVersion, 0);
  assert.equal(calls[1].spec.bVersion, 0);
  assert.equal(calls[1].b, w.data);
  assert.equal(calls[2].spec.bVersion, undefined);
  const opt = new AdamW([w], { lr: 0.1 });
  opt.step();
  assert.equal(w.version, 1);
  T.linear(x, w, null, 'in_out');
  assert.equal(calls[3].spec.bVersion, 1);
  setBackend('js');
});

test('attention through scaledDotProductAttention reaches the backend kernel', () => {
  let forwards = 0;
  let backwards = 0;
  class CountingBackend extends JsBackend {
    override attentionForward(...args: Parameters<JsBackend['attentionForward']>) {
      forwards++;
      return super.attentionForward(...args);
    }
    override attentionBackward(...args: Parameters<JsBackend['attentionBackward']>) {
      backwards++;
      return super.attentionBackward(...args);
    }
  }
  registerBackend('counting', () => new CountingBackend());
  setBackend('counting');
  const q = T.randn([1, 2, 3, 4], { requiresGrad: true });
  T.sum(T.scaledDotProductAttention(q, q, q, { causal: true }).out).backward();
  assert.equal(forwards, 1);
  assert.equal(backwards, 1);
  setBackend('js');
});

test('self-attention with three projections stacks their weights into one product only when they will get gradients', () => {
  setBackend('recording');
  const mha = new MultiHeadAttention({ dim: 8, heads: 2, projections: 'separate', names: { q: 'q_proj', k: 'k_proj', v: 'v_proj', out: 'out_proj' } });
  const x = T.randn([2, 16, 8]); // B·T = 32 rows: enough to stack
  calls.length = 0;
  mha.forward(x);
  // Training: q, k and v from one product with a (24, 8) stacked weight (a new array: no version), then out.
  assert.deepEqual(calls.map((c) => c.spec.n), [24, 8]);
  assert.equal(calls[0]!.spec.bVersion, undefined);
  calls.length = 0;
  T.noGrad(() => mha.forward(x));
  // Inference: each projection reads its own weight (with its version, so a backend keeps it packed).
  const { q, k, v, out } = mha.projections;
  assert.deepEqual(calls.map((c) => c.b), [q!.weight.data, k!.weight.data, v!.weight.data, out!.weight.data]);
  assert.ok(calls.every((c) => c.spec.bVersion !== undefined));
});
