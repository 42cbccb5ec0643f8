// The bridge from attn's tensor models (GPT in src/models/gpt.ts, and any model with the same forward/cache
// convention) to the generation loop, which only speaks Float32Array logits (see model.ts).
//
// What the bridge does per call:
//   with the KV cache:  feed only the new columns P..S-1 of the batch (the whole prompt at prefill, then one
//                       token), their position ids, and the attention mask over all S positions; the model
//                       appends their keys/values to the cache. Beam search reorders the cache's rows.
//   without the cache:  feed all S columns every time (slower, the reference the cache must agree with).
// and returns the logits of the last position, (rows, V).
//
// The model runs with gradients off and in evaluation mode (no dropout) during each call; a model that was
// in training mode is put back afterwards.
//
// Decode steps run in step memory (src/tensor/step.ts), as training steps do: each token's activations are
// dead once its logits are out, so they take their arrays from the backend's step memory — on the WebAssembly
// backend arrays inside its memory that the kernels read and write in place, reused token after token — instead
// of fresh arrays copied in and out of every kernel. Only what survives the step leaves it: the logits (copied
// out) and the keys/values, which attn's KVCache copies into its own storage. So this is done only with that
// cache (a model with a cache of its own may keep tensors across steps), and not for the prefill, whose
// activations for a long prompt would make the step memory as large as the prompt's whole forward pass.

import { KVCache } from '../nn/attention.js';
import { noGrad, tensor, trainingStep, type Tensor } from '../tensor/index.js';
import { generationConfigFromJson, type GenerationConfig } from './config.js';
import { sliceColumns, type CausalLMStepper, type StepBatch } from './model.js';

/** A KV cache as the models keep it: rows can be selected/reordered (beam search). */
export interface RowSelectableCache {
  selectRows(rows: Int32Array | number[]): void;
}

/**
 * What a model must offer to be driven by generate(): GPT (src/models/gpt.ts) has exactly this.
 * forward takes int32 ids (B, T) and returns logits (B, T, V); attentionMask is (B, S) over cached + new
 * positions; positionIds is (B, T).
 */
export interface CausalLMModule<C extends RowSelectableCache = RowSelectableCache> {
  readonly config: { readonly vocab_size: number };
  readonly training: boolean;
  train(on?: boolean): unknown;
  forward(inputIds: Tensor, opts: { attentionMask?: Tensor; positionIds?: Tensor; cache?: C; logitsToKeep?: number }): { logits: Tensor };
  newCache(): C;
}

export interface StepperOptions {
  /** Use the KV cache (default true). false re-runs the whole sequence every step. */
  useCache?: boolean;
  /** Generation defaults, e.g. the parsed generation_config.json of the model folder. */
  generationConfig?: Record<string, unknown>;
}

/** Whether a call may run in step memory: a decode step (not the prefill) with attn's own KV cache. */
export function decodeInStepMemory(cache: unknown, useCache: boolean, pastLength: number): boolean {
  return useCache && pastLength > 0 && cache instanceof KVCache;
}

/**
 * A CausalLMStepper for a GPT-style model.
 * Example: `const { model, generationConfig } = fromPretrained(dir);
 *           generate(stepperFromModel(model, { generationConfig }), [ids], { max_new_tokens: 20 })`.
 * It does not handle encoder-decoder models (their stepper must also carry the encoder output).
 */
export function stepperFromModel<C extends RowSelectableCache>(model: CausalLMModule<C>, opts: StepperOptions = {}): CausalLMStepper {
  const useCache = opts.useCache ?? true;
  const V = model.config.vocab_size;
  const defaults: Partial<GenerationConfig> | undefined = opts.generationConfig ? generationConfigFromJson(opts.generationConfig) : undefined;
  let cache: C | null = null;

  const run = (b: StepBatch): Float32Array => {
    const from = useCache ? b.pastLength : 0; // first column to feed
    if (useCache && b.pastLength === 0) cache = model.newCache();
    const T = b.length - from; // new positions in this call
    const ids = tensor(sliceColumns(b.inputIds, b.rows, b.length, from), [b.rows, T], { dtype: 'int32' }); // (rows, T)
    const pos = tensor(sliceColumns(b.positionIds, b.rows, b.length, from), [b.rows, T], { dtype: 'int32' }); // (rows, T)
    // The mask covers every position the attention sees (cached + new). All ones means no padding: skip it.
    const anyPadding = b.attentionMask.some((m) => m === 0);
    const mask = anyPadding ? tensor(Int32Array.from(b.attentionMask), [b.rows, b.length], { dtype: 'int32' }) : undefined; // (rows, S)
    const step = (): Float32Array => {
      const { logits } = model.forward(ids, { attentionMask: mask, positionIds: pos, cache: useCache ? cache! : undefined, logitsToKeep: 1 }); // (rows, 1, V)
      return logits.toFloat32Array().slice(); // (rows · V), an ordinary array (the step's memory is reused)
    };
    return decodeInStepMemory(cache, useCache, b.pastLength) ? trainingStep(step) : step();
  };

  const stepper: CausalLMStepper = {
    vocabSize: V,
    forward(b: StepBatch): Float32Array {
      const wasTraining = model.training;
      if (wasTraining) model.train(false);
      try {
        return noGrad(() => run(b));
      } finally {
        if (wasTraining) model.train(true);
      }
    },
    reorderCache(rows: Int32Array): void {
      if (cache) cache.selectRows(rows);
    },
    reset(): void {
      cache = null;
    },
    finish(): void {
      if (cache instanceof KVCache) cache.release(); // only this stepper holds it
      cache = null;
    },
  };
  return defaults ? { ...stepper, generationConfig: defaults } : stepper;
}
