// Shared by the quantisation tests: the float twin of a quantised model, i.e. the same model loaded as float32
// with every quantised weight replaced by its dequantised values — what the quantised format promises the weights
// are (W ≈ scale·q, exactly those numbers), run through the ordinary float path, which knows nothing of
// quantisation. Comparing a quantised model with its twin tests that every Linear / Embedding goes through the
// quantised kernels correctly, independently of how much quantisation itself changes the outputs.
import type { Module } from '../../src/nn/index.js';
import { quantizableWeights } from '../../src/quant/model.js';
import { asQuantized } from '../../src/quant/ops.js';
import { dequantize } from '../../src/quant/tensor.js';

/** Replace, in `float` (a float32 load of the same folder), every weight that is quantised in `quantized` by its dequantised values. */
export function makeFloatTwin<M extends Module>(quantized: Module, float: M): M {
  const q = quantizableWeights(quantized);
  let replaced = 0;
  for (const [name, w] of quantizableWeights(float)) {
    const qt = q.get(name) ? asQuantized(q.get(name)!.holders[0]!.weight) : null;
    if (!qt) continue;
    for (const h of w.holders) h.weight = dequantize(qt);
    replaced++;
  }
  if (replaced === 0) throw new Error('makeFloatTwin: the quantised model has no quantised weight');
  return float;
}

/** max |a − b| and max |b| over two equal-length arrays. */
export function maxDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  if (a.length !== b.length) throw new Error(`maxDiff: lengths ${a.length} and ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}
