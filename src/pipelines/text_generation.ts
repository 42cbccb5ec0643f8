// The task-level API for causal language models, named after transformers / transformers.js so habits carry
// over:
//
//   const lm = AutoModelForCausalLM.fromPretrained('runs/shakespeare');   // or a downloaded gpt2 folder
//   lm.forward([[464, 3290]], { outputAttentions: true })                 // logits (+ attentions, hidden states)
//   lm.generate([[464, 3290]], { max_new_tokens: 20, num_beams: 4 })      // transformers' generate() options
//   lm.generateText('To be, or not', { max_new_tokens: 40, do_sample: true, top_p: 0.9 })
//
//   const generator = pipeline('text-generation', 'runs/shakespeare');
//   generator('To be, or not', { max_new_tokens: 40 })                    // [{ generated_text: '...' }]
//
// This layer only wires the pieces together: the model (src/models), its folder (pretrained.ts), the
// generation loop (src/generate) and the tokenizer (src/tokenizers). Node-only (reads folders).

import { tensor, noGrad, type Tensor } from '../tensor/index.js';
import { fromPretrained, savePretrained, type LoadOptions, type PretrainedGPT, type GenerationDefaults } from '../models/pretrained.js';
import type { GPT, GPTConfig, GPTOutput } from '../models/gpt.js';
import { generate, streamText, type GenerateOptions, type GenerateOutput } from '../generate/index.js';
import { stepperFromModel } from '../generate/from_model.js';
import { Tokenizer } from '../tokenizers/index.js';
import { ByteLevelBPE } from '../tokenizers/bpe.js';

export interface CausalLMForwardOptions {
  /** (B, S) 1 = token, 0 = padding; number[][] or an int32 tensor. */
  attentionMask?: number[][] | Tensor;
  /** (B, T) positions; default 0..T-1 (pass positions from the mask for left-padded rows, as generate does). */
  positionIds?: number[][] | Tensor;
  outputAttentions?: boolean;
  outputHiddenStates?: boolean;
}

function toIds(x: number[][] | Tensor, what: string): Tensor {
  if (!Array.isArray(x)) return x;
  if (x.length === 0 || x.some((r) => r.length !== x[0]!.length)) throw new Error(`${what} must be a non-empty (B, T) array with rows of equal length`);
  return tensor(Int32Array.from(x.flat()), [x.length, x[0]!.length], { dtype: 'int32' });
}

/** A loaded causal LM: its model, config, tokenizer (if the folder has one) and generation defaults. */
export class CausalLM {
  readonly model: GPT;
  readonly config: GPTConfig;
  readonly tokenizer: Tokenizer | null;
  readonly generationConfig: Record<string, unknown>;

  constructor(loaded: PretrainedGPT) {
    this.model = loaded.model;
    this.config = loaded.config;
    this.generationConfig = loaded.generationConfig as Record<string, unknown>;
    this.tokenizer =
      loaded.tokenizerJson !== null
        ? Tokenizer.fromJSON(loaded.tokenizerJson)
        : loaded.vocabMerges !== null
          ? Tokenizer.fromByteLevelBPE(ByteLevelBPE.fromVocabMerges(loaded.vocabMerges.vocab, loaded.vocabMerges.merges))
          : null;
  }

  /** Logits (B, T, V) for input ids (B, T), plus attentions / hidden states when asked. No gradients. */
  forward(inputIds: number[][] | Tensor, opts: CausalLMForwardOptions = {}): GPTOutput {
    return noGrad(() =>
      this.model.forward(toIds(inputIds, 'inputIds'), {
        ...(opts.attentionMask ? { attentionMask: toIds(opts.attentionMask, 'attentionMask') } : {}),
        ...(opts.positionIds ? { positionIds: toIds(opts.positionIds, 'positionIds') } : {}),
        outputAttentions: opts.outputAttentions ?? false,
        outputHiddenStates: opts.outputHiddenStates ?? false,
      }),
    );
  }

  /** transformers' generate(): prompts of ids (left-padded when their lengths differ), with the KV cache. */
  generate(inputIds: readonly ArrayLike<number>[], options: GenerateOptions = {}): GenerateOutput {
    const decode = this.tokenizer ? (ids: ArrayLike<number>) => this.tokenizer!.decode(ids, { skipSpecialTokens: true }) : undefined;
    return generate(stepperFromModel(this.model, { generationConfig: this.generationConfig }), inputIds, { ...(decode ? { decode } : {}), ...options });
  }

  /** Text in, text out (the continuation only). Needs the folder's tokenizer. */
  generateText(prompt: string, options: GenerateOptions = {}): string {
    const tok = this.requireTokenizer();
    const ids = tok.encode(prompt, undefined, { addSpecialTokens: false }).ids;
    const out = this.generate([ids], options);
    return tok.decode(out.sequences[0]!.subarray(out.prompt_length), { skipSpecialTokens: true });
  }

  /** The continuation as it is generated, whole characters at a time. */
  async *streamText(prompt: string, options: GenerateOptions = {}): AsyncGenerator<string, void, undefined> {
    const tok = this.requireTokenizer();
    const ids = tok.encode(prompt, undefined, { addSpecialTokens: false }).ids;
    const stepper = stepperFromModel(this.model, { generationConfig: this.generationConfig });
    for await (const chunk of streamText(stepper, [ids], { ...options, decode: (x) => tok.decode(x, { skipSpecialTokens: true }) })) yield chunk.text;
  }

  /** Write the model, its tokenizer and generation defaults as a Hugging Face folder (atomically). */
  savePretrained(dir: string): void {
    savePretrained(this.model, dir, {
      ...(this.tokenizer ? { tokenizerJson: JSON.stringify(this.tokenizer.toJSON()) } : {}),
      ...(Object.keys(this.generationConfig).length ? { generationConfig: stripBookkeeping(this.generationConfig) as GenerationDefaults } : {}),
    });
  }

  private requireTokenizer(): Tokenizer {
    if (!this.tokenizer) throw new Error('this model folder has no tokenizer.json (or vocab.json + merges.txt); use generate() with token ids');
    return this.tokenizer;
  }
}

/** generation_config.json minus the fields savePretrained writes itself. */
function stripBookkeeping(g: Record<string, unknown>): Record<string, unknown> {
  const { _from_model_config: _a, transformers_version: _b, ...rest } = g;
  return rest;
}

export const AutoModelForCausalLM = {
  /**
   * Load a GPT-2-family folder (float or quantised); see CausalLM. `opts.dtype` 'int8' | 'int4' quantises a
   * float folder's weights as they are read (src/quant): `AutoModelForCausalLM.fromPretrained(dir, { dtype: 'int8' })`.
   */
  fromPretrained(dir: string, opts: LoadOptions = {}): CausalLM {
    return new CausalLM(fromPretrained(dir, opts));
  },
};

export type TextGenerationPipeline = (text: string, options?: GenerateOptions) => Array<{ generated_text: string }>;

/**
 * transformers.js style: `pipeline('text-generation', dir)(prompt, options)` → [{ generated_text }] (prompt
 * included, as HF). `opts.dtype` quantises while loading: `pipeline('text-generation', dir, { dtype: 'int8' })`.
 */
export function pipeline(task: 'text-generation', dir: string, opts: LoadOptions = {}): TextGenerationPipeline {
  if (task !== 'text-generation') throw new Error(`pipeline: task '${String(task)}' is not supported yet; supported: text-generation`);
  const lm = AutoModelForCausalLM.fromPretrained(dir, opts);
  return (text, options = {}) => {
    const tok = lm.tokenizer;
    if (!tok) throw new Error(`pipeline: ${dir} has no tokenizer`);
    const ids = tok.encode(text, undefined, { addSpecialTokens: false }).ids;
    const out = lm.generate([ids], options);
    return out.sequences.map((s) => ({ generated_text: text + tok.decode(s.subarray(out.prompt_length), { skipSpecialTokens: true }) }));
  };
}
