// Module parameter discovery and naming, and the basic layers against hand computations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Dropout, Embedding, LayerNorm, Linear, Module } from '../../src/nn/index.js';
import * as T from '../../src/tensor/index.js';
import { Rng, tensor, type Tensor } from '../../src/tensor/index.js';

class Attn extends Module {
  c_attn = new Linear(4, 12, { layout: 'in_out' });
  c_proj = new Linear(4, 4, { layout: 'in_out' });
}
class Block extends Module {
  ln_1 = new LayerNorm(4);
  attn = new Attn();
  drop = new Dropout(0.1);
}
class Tiny extends Module {
  wte = new Embedding(10, 4);
  h = [new Block(), new Block()];
  ln_f = new LayerNorm(4);
  lm_head: Tensor;
  _cache: Tensor = T.zeros([3]); // underscore: not a parameter
  notATensor = 5;
  constructor() {
    super();
    this.lm_head = this.wte.weight; // tied weights are listed once
  }
}

test('namedParameters walks fields in order, with dotted names and array indices', () => {
  const m = new Tiny();
  const names = m.namedParameters().map(([n]) => n);
  assert.deepEqual(names, [
    'wte.weight',
    'h.0.ln_1.weight',
    'h.0.ln_1.bias',
    'h.0.attn.c_attn.weight',
    'h.0.attn.c_attn.bias',
    'h.0.attn.c_proj.weight',
    'h.0.attn.c_proj.bias',
    'h.1.ln_1.weight',
    'h.1.ln_1.bias',
    'h.1.attn.c_attn.weight',
    'h.1.attn.c_attn.bias',
    'h.1.attn.c_proj.weight',
    'h.1.attn.c_proj.bias',
    'ln_f.weight',
    'ln_f.bias',
  ]);
  assert.equal(m.parameters().length, names.length);
  assert.deepEqual(m.namedParameters()[3][1].shape, [4, 12], "GPT-2 Conv1D layout is (in, out)");
  // 10·4 + 2·(4 + 4 + 4·12 + 12 + 4·4 + 4) + 4 + 4
  assert.equal(m.numParameters(), 40 + 2 * (8 + 60 + 20) + 8);
});

test('train()/eval() reach every child module; Dropout is the identity in eval', () => {
  const m = new Tiny();
  assert.equal(m.h[1].drop.training, true);
  m.eval();
  assert.equal(m.training, false);
  assert.equal(m.h[1].drop.training, false);
  const x = T.ones([100]);
  assert.equal(m.h[0].drop.forward(x), x);
  m.train();
  const y = m.h[0].drop.forward(x).toArray();
  assert.ok(y.some((v) => v === 0), 'dropout active again in training mode');
  assert.deepEqual(m.namedModules().map(([n]) => n).slice(0, 4), ['', 'wte', 'h.0', 'h.0.ln_1']);
});

test('Linear computes x·Wᵀ + b (out_in) and x·W + b (in_out); PyTorch init bounds', () => {
  const lin = new Linear(3, 2, { rng: new Rng(1) });
  assert.deepEqual(lin.weight.shape, [2, 3]);
  const bound = 1 / Math.sqrt(3);
  assert.ok(lin.weight.toArray().every((v) => Math.abs(v) <= bound));
  lin.weight.copyFrom(tensor([1, 2, 3, 4, 5, 6], [2, 3]));
  lin.bias?.copyFrom(tensor([10, 20]));
  // [1, 1, 1]·Wᵀ = [1+2+3, 4+5+6] = [6, 15]
  assert.deepEqual(lin.forward(tensor([1, 1, 1], [1, 3])).toArray(), [16, 35]);
  const conv = new Linear(3, 2, { layout: 'in_out', bias: false });
  assert.equal(conv.bias, null);
  conv.weight.copyFrom(tensor([1, 2, 3, 4, 5, 6], [3, 2]));
  // [1, 1, 1]·W = [1+3+5, 2+4+6]
  assert.deepEqual(conv.forward(tensor([1, 1, 1], [1, 3])).toArray(), [9, 12]);
  assert.deepEqual(conv.namedParameters().map(([n]) => n), ['weight']);
});

test('Embedding and LayerNorm layers', () => {
  const emb = new Embedding(4, 2);
  emb.weight.copyFrom(tensor([0, 0, 1, 1, 2, 2, 3, 3], [4, 2]));
  assert.deepEqual(emb.forward(tensor([3, 1], [2], { dtype: 'int32' })).toArray(), [3, 3, 1, 1]);
  const ln = new LayerNorm(2, 0);
  // x = [1, 3]: mean 2, biased variance 1 → [-1, 1]
  assert.deepEqual(ln.forward(tensor([1, 3], [1, 2])).toArray(), [-1, 1]);
  assert.deepEqual(ln.namedParameters().map(([n, p]) => [n, p.toArray()]), [
    ['weight', [1, 1]],
    ['bias', [0, 0]],
  ]);
});

test('a module trains end to end: gradients reach every parameter', () => {
  const lin = new Linear(4, 3);
  const ln = new LayerNorm(3);
  const x = T.randn([5, 4], { rng: new Rng(2) });
  const loss = T.crossEntropy(ln.forward(lin.forward(x)), tensor([0, 1, 2, 1, 0], [5], { dtype: 'int32' }));
  loss.backward();
  for (const [n, p] of [...lin.namedParameters(), ...ln.namedParameters()]) {
    assert.ok(p.grad, `${n} has a gradient`);
    assert.ok(p.grad.toArray().some((v) => v !== 0), `${n} gradient is not all zero`);
  }
  lin.zeroGrad();
  assert.equal(lin.weight.grad, null);
});

test('layer constructors reject bad sizes with the values', () => {
  assert.throws(() => new Linear(0, 3), /Linear: sizes must be positive integers, got in=0, out=3/);
  assert.throws(() => new Embedding(5, 2.5), /Embedding: sizes must be positive integers, got num=5, dim=2.5/);
  assert.throws(() => new Dropout(-0.1), /Dropout: p must be in \[0, 1\], got -0.1/);
});
