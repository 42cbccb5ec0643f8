// "LLM sizes": what a GPT config costs in parameters, arithmetic and memory, from first principles.
//
// Parameters (N): see gptParameterCount. Arithmetic per token (Kaplan et al. 2020, "Scaling Laws", table 1):
//   forward ≈ 2·N_matmul + 2·n_layer·S·C      (each weight is one multiply-add per token; attention's q·k and
//                                               p·v add 2·S·C per layer for a context of S tokens)
//   training ≈ 3 × forward                      (backward costs twice the forward: grads of inputs and weights)
// where N_matmul excludes the embedding tables' lookups but includes the LM head (V·C multiply-adds).
// Memory, float32 (4 bytes):
//   inference = weights + KV cache (2·n_layer·S·C per sequence) + activations of one layer (small)
//   training  = weights + gradients + AdamW's two moments (16 bytes per parameter) + the activations the
//               backward pass keeps: about ACT_FLOATS_PER_TOKEN_LAYER·C floats per token per layer with the fused
//               attention kernel (no T×T matrix kept), plus logits and their gradient (2·V per token).

import { gptParameterCount, type GPTConfig } from './gpt.js';

/** Floats kept per token per layer for backward: x, ln_1, qkv (3C), attention out, c_proj in/out, residual, ln_2, c_fc out (4C), gelu out (4C). */
export const ACT_FLOATS_PER_TOKEN_LAYER = 17;

export interface SizeReport {
  parameters: number;
  nonEmbeddingParameters: number;
  forwardFlopsPerToken: number;
  trainFlopsPerToken: number;
  inferenceBytes: number; // batch 1, full context
  kvCacheBytesPerToken: number;
  trainingBytes: number; // for the given batch
}

/** Sizes at context S = n_positions (or `context`) and training batch `batch` × S. */
export function gptSizes(cfg: GPTConfig, opts: { context?: number; batch?: number } = {}): SizeReport {
  const S = opts.context ?? cfg.n_positions;
  const B = opts.batch ?? 1;
  const C = cfg.n_embd;
  const N = gptParameterCount(cfg);
  const embeddings = cfg.vocab_size * C + cfg.n_positions * C;
  const nonEmb = N - embeddings;
  const matmulParams = nonEmb + cfg.vocab_size * C; // blocks + LM head (tied to wte, but it is a real matmul)
  const forward = 2 * matmulParams + 2 * cfg.n_layer * S * C;
  const kvPerToken = 2 * cfg.n_layer * C * 4;
  const inference = N * 4 + kvPerToken * S + (4 * C + cfg.vocab_size) * 4 * 2;
  const activations = B * S * (cfg.n_layer * ACT_FLOATS_PER_TOKEN_LAYER * C + 2 * cfg.vocab_size) * 4;
  return {
    parameters: N,
    nonEmbeddingParameters: nonEmb,
    forwardFlopsPerToken: forward,
    trainFlopsPerToken: 3 * forward,
    inferenceBytes: inference,
    kvCacheBytesPerToken: kvPerToken,
    trainingBytes: N * 16 + activations,
  };
}
