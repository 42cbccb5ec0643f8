// LSTM and GRU against PyTorch: torch.nn.LSTM / torch.nn.GRU state dicts (2 layers, bidirectional) load by
// name, and on a padded batch with lengths (PyTorch's packed sequences) and initial states give the same
// output, h_n, c_n and the same gradients of every parameter, the input and the initial states, within 1e-5.
// The fixtures and the script that made them are in test/fixtures/rnn (computed in float64 by PyTorch on the
// float32 data). Also: the errors for a state dict with the wrong gate sizes, lengths past the padded batch,
// and an empty sequence. Runs on every backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { forEachBackend } from '../_backends.js';
import { fromStorage, mul, noGrad, sum, add, type Tensor } from '../../src/tensor/index.js';
import { GRU, LSTM } from '../../src/nn/index.js';
import { loadSafetensorsFile } from '../../src/io/node.js';
import type { LoadedTensor } from '../../src/io/safetensors.js';

const FIX = new URL('../../../test/fixtures/rnn/', import.meta.url).pathname;

function fixture(kind: 'lstm' | 'gru'): { state: Map<string, LoadedTensor>; get: (k: string) => LoadedTensor } {
  const { tensors } = loadSafetensorsFile(join(FIX, `${kind}.safetensors`));
  const state = new Map([...tensors].filter(([k]) => !k.includes('.')));
  return { state, get: (k) => tensors.get(k) ?? assert.fail(`fixture ${kind} has no ${k}`) };
}

function leafOf(t: LoadedTensor, requiresGrad = false): Tensor {
  return fromStorage((t.data as Float32Array).slice(), t.shape, { requiresGrad });
}

/** max |got − want| / max(1, |want|). */
function relErr(got: Float32Array, want: Float32Array): number {
  assert.equal(got.length, want.length);
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  return m;
}

function build(kind: 'lstm' | 'gru'): LSTM | GRU {
  const opts = { inputSize: 5, hiddenSize: 6, numLayers: 2, bidirectional: true };
  return kind === 'lstm' ? new LSTM(opts) : new GRU(opts);
}

forEachBackend((backend) => {
  for (const kind of ['lstm', 'gru'] as const) {
    test(`${kind}: PyTorch's state dict loads; outputs and gradients on a padded batch match within 1e-5 (${backend})`, () => {
      const fx = fixture(kind);
      const layer = build(kind);
      layer.loadStateDict(fx.state, `${kind}.safetensors`);
      assert.deepEqual([...layer.stateDict().keys()].sort(), [...fx.state.keys()].sort()); // PyTorch's names, all of them
      const x = leafOf(fx.get('io.input'), true);
      const h0 = leafOf(fx.get('io.h0'), true);
      const lengths = fx.get('io.lengths').data as Int32Array;
      let loss: Tensor;
      let c0: Tensor | null = null;
      if (layer instanceof LSTM) {
        c0 = leafOf(fx.get('io.c0'), true);
        const r = layer.forward(x, { h0, c0, lengths });
        for (const [name, t] of [['output', r.output], ['h_n', r.h_n], ['c_n', r.c_n]] as const) {
          const e = relErr(t.toFloat32Array(), fx.get(`io.${name}`).data as Float32Array);
          assert.ok(e < 1e-5, `${kind} ${name} differs from PyTorch by ${e}`);
        }
        loss = add(add(sum(mul(r.output, leafOf(fx.get('io.w_output')))), sum(mul(r.h_n, leafOf(fx.get('io.w_h_n'))))), sum(mul(r.c_n, leafOf(fx.get('io.w_c_n')))));
      } else {
        const r = layer.forward(x, { h0, lengths });
        for (const [name, t] of [['output', r.output], ['h_n', r.h_n]] as const) {
          const e = relErr(t.toFloat32Array(), fx.get(`io.${name}`).data as Float32Array);
          assert.ok(e < 1e-5, `${kind} ${name} differs from PyTorch by ${e}`);
        }
        loss = add(sum(mul(r.output, leafOf(fx.get('io.w_output')))), sum(mul(r.h_n, leafOf(fx.get('io.w_h_n')))));
      }
      loss.backward();
      const grads: [string, Tensor][] = [...layer.namedParameters(), ['input', x], ['h0', h0]];
      if (c0) grads.push(['c0', c0]);
      for (const [name, t] of grads) {
        assert.ok(t.grad, `${kind}: no gradient for ${name}`);
        const e = relErr(t.grad.toFloat32Array(), fx.get(`grad.${name}`).data as Float32Array);
        assert.ok(e < 1e-5, `${kind}: gradient of ${name} differs from PyTorch by ${e}`);
      }
    });

    test(`${kind}: with no lengths and no initial state (every step real, zero state) as PyTorch (${backend})`, () => {
      const fx = fixture(kind);
      const layer = build(kind);
      layer.loadStateDict(fx.state);
      const x = leafOf(fx.get('io.input'));
      const r = noGrad(() => layer.forward(x));
      assert.ok(relErr(r.output.toFloat32Array(), fx.get('full.output').data as Float32Array) < 1e-5, 'output');
      assert.ok(relErr(r.h_n.toFloat32Array(), fx.get('full.h_n').data as Float32Array) < 1e-5, 'h_n');
      if ('c_n' in r) assert.ok(relErr((r as { c_n: Tensor }).c_n.toFloat32Array(), fx.get('full.c_n').data as Float32Array) < 1e-5, 'c_n');
    });
  }
});

test('a GRU state dict given to an LSTM (and a wrong hidden size) is an error that explains the gate rows', () => {
  const gru = fixture('gru');
  assert.throws(() => build('lstm').loadStateDict(gru.state, 'gru.safetensors'), (e: Error) => {
    assert.match(e.message, /LSTM gru\.safetensors does not fit this layer/);
    assert.match(e.message, /weight_ih_l0 has shape \[18, 5\], expected \[24, 5\]: 18 rows are 3 gates of 6, a LSTM stacks 4 gates \(i, f, g, o\) — a GRU has 3 \(r, z, n\)/);
    return true;
  });
  const lstm = fixture('lstm');
  const wide = new GRU({ inputSize: 5, hiddenSize: 7, numLayers: 2, bidirectional: true });
  assert.throws(() => wide.loadStateDict(lstm.state), /weight_hh_l0 has shape \[24, 6\], expected \[21, 7\]/);
  const single = new LSTM({ inputSize: 5, hiddenSize: 6, numLayers: 1, bidirectional: true });
  assert.throws(() => single.loadStateDict(lstm.state), /unexpected key weight_ih_l1/);
  const missing = new Map(lstm.state);
  missing.delete('bias_hh_l1_reverse');
  assert.throws(() => build('lstm').loadStateDict(missing), /missing bias_hh_l1_reverse \(expected shape \[24\]\)/);
});

test('lengths past the padded batch, an empty sequence, and a c0 for a GRU are clear errors', () => {
  const lstm = build('lstm');
  const x = fromStorage(new Float32Array(4 * 2 * 5), [4, 2, 5]);
  assert.throws(() => lstm.forward(x, { lengths: [4, 9] }), /lengths\[1\] = 9 is longer than the padded batch \(T = 4 steps\)/);
  assert.throws(() => lstm.forward(x, { lengths: [0, 3] }), /lengths\[0\] = 0: sequence 0 is empty/);
  assert.throws(() => lstm.forward(x, { lengths: [3] }), /lengths has 1 entries, expected one per sequence \(B = 2\)/);
  assert.throws(() => lstm.forward(fromStorage(new Float32Array(0), [0, 2, 5])), /no time steps/);
  assert.throws(() => lstm.forward(fromStorage(new Float32Array(4 * 2 * 3), [4, 2, 3])), /input has 3 features per step, the layer was built for inputSize 5/);
  assert.throws(() => lstm.forward(x, { h0: fromStorage(new Float32Array(2 * 6), [1, 2, 6]) }), /h0 has shape \[1, 2, 6\], expected \(L·D, B, H\) = \[4, 2, 6\]/);
  assert.throws(() => build('gru').forward(x, { c0: fromStorage(new Float32Array(4 * 2 * 6), [4, 2, 6]) }), /a GRU has no cell state/);
});
