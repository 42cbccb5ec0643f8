// Bad input gives errors that name the op and show the offending shapes/values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { tensor } from '../../src/tensor/index.js';

const i32 = (values: number[], shape: number[]) => tensor(values, shape, { dtype: 'int32' });

test('shape mismatches name the op and both shapes', () => {
  assert.throws(() => T.add(T.zeros([2, 3]), T.zeros([4])), /add: shapes \[2, 3\] and \[4\] cannot be broadcast/);
  assert.throws(() => T.mul(T.zeros([2, 3]), T.zeros([3, 2])), /mul: shapes \[2, 3\] and \[3, 2\]/);
  assert.throws(() => T.matmul(T.zeros([2, 3]), T.zeros([4, 5])), /matmul: shapes \[2, 3\] and \[4, 5\] cannot be multiplied/);
  assert.throws(() => T.matmul(T.zeros([2, 2, 3]), T.zeros([3, 3, 4])), /matmul: batch dims of \[2, 2, 3\] and \[3, 3, 4\] cannot be broadcast together/);
  assert.throws(() => T.linear(T.zeros([2, 3]), T.zeros([4, 5]), null, 'in_out'), /linear: input \[2, 3\] does not match weight \[4, 5\]/);
  assert.throws(() => T.linear(T.zeros([2, 4]), T.zeros([4, 5]), T.zeros([4]), 'in_out'), /linear: bias has shape \[4\], expected \[5\]/);
  assert.throws(() => T.layerNorm(T.zeros([2, 4]), T.zeros([3]), null), /layerNorm: weight has shape \[3\], expected \[4\]/);
  assert.throws(() => T.zeros([2, 3]).reshape(4, 2), /reshape: cannot reshape tensor of shape \[2, 3\] \(6 elements\) into \[4, 2\]/);
  assert.throws(() => T.cat([T.zeros([2, 3]), T.zeros([3, 3])], 1), /cat: shapes \[2, 3\] and \[3, 3\] differ outside dim 1/);
  assert.throws(() => T.maskedFill(T.zeros([2]), T.zeros([3, 2]), 0), /maskedFill: mask of shape \[3, 2\] must broadcast to the input's shape \[2\]/);
  assert.throws(
    () => T.scaledDotProductAttention(T.zeros([1, 2, 3, 4]), T.zeros([1, 2, 3, 5]), T.zeros([1, 2, 3, 4])),
    /scaledDotProductAttention: q \[1, 2, 3, 4\], k \[1, 2, 3, 5\]/,
  );
  assert.throws(
    () => T.scaledDotProductAttention(T.zeros([1, 1, 4, 2]), T.zeros([1, 1, 3, 2]), T.zeros([1, 1, 3, 2]), { causal: true, queryOffset: 0.5 }),
    /queryOffset must be an integer, got 0.5/,
  );
  assert.throws(() => T.crossEntropy(T.zeros([4, 5]), i32([0, 1, 2], [3])), /crossEntropy: logits \[4, 5\] and targets \[3\] do not match/);
});

test('wrong dtypes are refused with the op name', () => {
  assert.throws(() => T.exp(i32([1], [1])), /exp: input must be float32, got int32/);
  assert.throws(() => T.add(T.zeros([1]), i32([1], [1])), /add: second argument must be float32/);
  assert.throws(() => T.embedding(T.zeros([3, 2]), T.zeros([2])), /embedding: ids must be an int32 tensor/);
  assert.throws(() => T.crossEntropy(T.zeros([2, 3]), T.zeros([2])), /crossEntropy: targets must be an int32 tensor/);
  assert.throws(() => T.gather(T.zeros([2, 3]), 1, T.zeros([2, 1])), /gather: index must be an int32 tensor/);
  assert.throws(() => {
    i32([1], [1]).requiresGrad = true;
  }, /only float32 tensors can require grad/);
  assert.throws(() => tensor([1.5], [1], { dtype: 'int32' }), /non-integer value 1.5/);
});

test('out-of-range ids and indices name the value, its position and the bound', () => {
  assert.throws(() => T.embedding(T.zeros([5, 2]), i32([0, 7, 1], [3])), /embedding: id 7 at position 1 .* out of range for a table of 5 rows/);
  assert.throws(() => T.embedding(T.zeros([5, 2]), i32([-1], [1])), /id -1 at position 0/);
  assert.throws(() => T.crossEntropy(T.zeros([2, 3]), i32([0, 3], [2])), /crossEntropy: target 3 at position 1 is out of range for 3 classes/);
  assert.throws(() => T.gather(T.zeros([2, 3]), 1, i32([0, 3], [2, 1])), /gather: index 3 at position 1 is out of range for dim 1 of size 3/);
  assert.throws(() => T.indexSelect(T.zeros([2, 3]), 0, i32([2], [1])), /indexSelect: index 2 at position 0 is out of range for dim 0 of size 2/);
  assert.throws(() => T.zeros([2, 3]).transpose(0, 2), /transpose: dim 2 is out of range for a tensor with 2 dims/);
  assert.throws(() => T.sum(T.zeros([2, 3]), 3), /sum: dim 3 is out of range/);
});

test('backward misuse: non-scalar without grad, tensors that do not require grad, wrong grad shape', () => {
  const x = T.ones([2, 2], { requiresGrad: true });
  assert.throws(() => T.mul(x, 2).backward(), /backward: grad can be implicit only for a scalar; this tensor has shape \[2, 2\]/);
  assert.throws(() => T.ones([1]).backward(), /does not require grad/);
  assert.throws(() => T.mul(x, 2).backward(T.ones([3])), /backward: grad has shape \[3\] \(float32\), expected float32 of shape \[2, 2\]/);
  assert.throws(() => T.zeros([2]).item(), /item: only one-element tensors have an item; this one has shape \[2\]/);
});

test('bad arguments to options', () => {
  assert.throws(() => T.dropout(T.zeros([2]), 1.5), /dropout: p must be in \[0, 1\], got 1.5/);
  assert.throws(() => T.gelu(T.zeros([1]), 'fast' as 'tanh'), /gelu: approximate must be 'tanh' or 'none', got 'fast'/);
  assert.throws(() => T.crossEntropy(T.zeros([1, 2]), i32([0], [1]), { labelSmoothing: 2 }), /labelSmoothing must be in \[0, 1\]/);
  assert.throws(() => T.split(T.zeros([5]), [2, 2]), /split: sizes \[2, 2\] must be non-negative and sum to 5/);
  assert.throws(() => T.zeros([2, -1]), /zeros: invalid size -1 in shape \[2, -1\]/);
});
