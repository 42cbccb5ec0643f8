// The tensor engine's public API (see docs/ENGINE_API.md). Model files, trainers and generation import from
// here only: the Tensor class, creation functions, differentiable ops, autograd switches and the RNG.
export { Tensor, type DType, type Storage } from './tensor.js';
export { noGrad, isGradEnabled, setGradEnabled } from './autograd.js';
export { layerStep, trainingStep } from './step.js';
export { Rng, manualSeed, getDefaultRng } from './rng.js';
export {
  tensor,
  fromStorage,
  zeros,
  ones,
  full,
  arange,
  randn,
  rand,
  type TensorOptions,
  type RandomOptions,
  type NestedNumbers,
} from './creation.js';
export { add, sub, mul, div, neg, exp, log, sqrt, pow, tanh, relu, sigmoid, gelu, silu, erf, maskedFill, where } from './ops_elementwise.js';
export { sum, mean, max } from './ops_reduce.js';
export { reshape, transpose, permute, slice, expand, unsqueeze, squeeze, contiguous, cat, split, stack } from './ops_shape.js';
export { additiveScores } from './ops_additive.js';
export { lstmLayer, gruLayer, lstmDirections, gruDirections, type RecurrentLayerOptions, type RecurrentDirection, type LSTMLayerResult, type GRULayerResult } from './ops_rnn.js';
export { softmax, logSoftmax, layerNorm, addLayerNorm, rmsNorm, crossEntropy, dropout, type AddLayerNormOptions, type CrossEntropyOptions, type DropoutOptions } from './ops_nn.js';
export { embedding, gather, indexSelect, scatterRows } from './ops_index.js';
export { matmul, linear, type LinearActivation } from './matmul.js';
export { attention, scaledDotProductAttention, type AttentionOptions, type AttentionResult } from './attention.js';
