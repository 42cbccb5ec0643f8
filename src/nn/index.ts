// Layers built on the tensor engine: Module (parameter discovery, train/eval) and the basic layers.
export { Module } from './module.js';
export { Linear, Embedding, LayerNorm, Dropout, setInitEnabled, type LinearOptions } from './layers.js';
export { LSTM, GRU, type StateTensor, type RNNOptions, type RNNForwardOptions, type RNNOutput, type LSTMOutput } from './rnn.js';
export { Packing, labelEnds } from './packing.js';
export { MultiHeadAttention, LayerKVCache, CrossAttentionCache, KVCache, type MultiHeadAttentionOptions, type AttentionCallOptions } from './attention.js';
