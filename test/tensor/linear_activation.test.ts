// linear(x, W, b, layout, activation): without gradients the backend applies the activation where the product
// is made (MatmulSpec.epilogue). The oracle is the activation op applied to the plain product (each tested
// against its formula elsewhere): the two must agree bit for bit, on every backend, for the few-row
// (matrix-vector) path and the GEMM path, both weight layouts, with and without a bias; with gradients the
// call is the two ops, and so are its gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend } from '../_backends.js';
import { leaf } from './_gradcheck.js';
import { gelu, linear, noGrad, relu, silu, type LinearActivation, type Tensor } from '../../src/tensor/index.js';

const OPS: Record<LinearActivation, (t: Tensor) => Tensor> = { relu, gelu: (t) => gelu(t, 'none'), gelu_tanh: (t) => gelu(t, 'tanh'), silu };

forEachBackend(() => {
  test('linear with an activation: the same bits as the activation op on the product (few rows and many; both layouts)', () => {
    let checked = 0;
    for (const rows of [3, 37]) {
      for (const layout of ['out_in', 'in_out'] as const) {
        const [inF, outF] = [29, 45];
        const x = leaf([rows, inF], 1 + rows, -2, 2);
        const w = leaf(layout === 'out_in' ? [outF, inF] : [inF, outF], 2, -0.5, 0.5);
        const b = leaf([outF], 3);
        for (const act of Object.keys(OPS) as LinearActivation[]) {
          for (const bias of [b, null]) {
            const [got, want] = noGrad(() => [linear(x, w, bias, layout, act), OPS[act](linear(x, w, bias, layout))]);
            assert.deepEqual(got.shape, [rows, outF]);
            assert.deepEqual(Array.from(got.toFloat32Array()), Array.from(want.toFloat32Array()), `${act}, ${rows} rows, ${layout}, bias ${bias !== null}`);
            checked++;
          }
        }
      }
    }
    assert.equal(checked, 32);
    // A product large enough to be shared by the pool's threads (the epilogue's tasks too).
    const x = leaf([300, 128], 9);
    const w = leaf([256, 128], 10, -0.2, 0.2);
    const [got, want] = noGrad(() => [linear(x, w, null, 'out_in', 'gelu_tanh'), gelu(linear(x, w, null, 'out_in'), 'tanh')]);
    assert.deepEqual(Array.from(got.toFloat32Array()), Array.from(want.toFloat32Array()), 'a large product');
  });

  test('linear with an activation and gradients: the activation op on the product, gradients included', () => {
    const x = leaf([6, 10], 4);
    const w = leaf([7, 10], 5);
    const fused = linear(x, w, null, 'out_in', 'gelu');
    assert.ok(fused.requiresGrad);
    fused.sum().backward();
    const g1 = w.grad!.toFloat32Array().slice();
    w.grad = null;
    gelu(linear(x, w, null, 'out_in'), 'none').sum().backward();
    assert.deepEqual(Array.from(g1), Array.from(w.grad!.toFloat32Array()));
    assert.throws(() => linear(x, w, null, 'out_in', 'tanh' as LinearActivation), /activation must be one of relu, gelu, gelu_tanh, silu/);
  });
});
