// Loading Hugging Face model folders and tokenizers in a browser: the async counterparts of
// src/models/pretrained.ts's fromPretrained(dir) and src/tokenizers/node.ts's loadTokenizer(dir).
//
//   const { model, config, tokenizerJson } = await fromPretrained('https://huggingface.co/gpt2/resolve/main/',
//                                                                  { onProgress: (p) => show(p) });
//   const lm = await AutoModelForCausalLM.fromPretrained(input.files);   // a folder the user picked
//
// model.safetensors is read as it arrives into one buffer of the file's size: its header is checked as soon
// as its bytes are in (a wrong or corrupt file fails after a few KB, not after the whole download), and the
// tensors are then views into that buffer, so the weights are in memory once. Every key and shape is checked
// by the same loadStateDict as on Node, so errors read the same.
//
// Does not handle: sharded checkpoints (model-00001-of-00002.safetensors), pytorch_model.bin, and model types
// other than GPT-2 (as fromPretrained on Node).

import { GPT, CHECKPOINT_RULES } from '../models/gpt.js';
import { gptConfigFromHF, loadStateDict, type GenerationDefaults, type PretrainedGPT } from '../models/pretrained.js';
import { openSafetensors, parseSafetensorsHeader, safetensorsHeaderLength, SafetensorsError, type SafetensorsReader } from '../io/safetensors.js';
import { parseJson } from '../io/json.js';
import { checkpointNames, loadQuantizedStateDict, quantizedLoadPlan, type QuantizeOnLoad } from '../quant/load.js';
import { CausalLM } from '../pipelines/text_generation.js';
import { collect, openFolder, type ByteStream, type FileProgress, type Folder, type FolderOptions, type FolderSource } from './folder.js';

export interface LoadOptions extends FolderOptions, QuantizeOnLoad {
  /** Called as each file arrives (model.safetensors is the big one). */
  onProgress?: (p: FileProgress) => void;
}

/**
 * Read model.safetensors as it arrives; the header is validated once its bytes are in.
 * Example: `const reader = await readSafetensorsStream(stream)` then `reader.get('wte.weight')`.
 */
export async function readSafetensorsStream(s: ByteStream): Promise<SafetensorsReader> {
  if (s.size === null) {
    // No length announced: gather everything, then parse (the header cannot be checked against a length yet).
    const bytes = await collect(s);
    return openSafetensors(bytes, s.name);
  }
  const buf = new Uint8Array(s.size);
  let at = 0;
  let headerChecked = false;
  for await (const chunk of s.chunks()) {
    if (at + chunk.length > buf.length) throw new SafetensorsError(s.name, undefined, `received more than the announced ${s.size} bytes`);
    buf.set(chunk, at);
    at += chunk.length;
    if (!headerChecked && at >= 8) {
      const headerLength = safetensorsHeaderLength(buf.subarray(0, 8), s.size, s.name);
      if (at >= 8 + headerLength) {
        parseSafetensorsHeader(buf.subarray(0, 8 + headerLength), s.name, s.size); // throws on a bad header
        headerChecked = true;
      }
    }
  }
  return openSafetensors(buf, s.name); // F32 tensors are views into buf: one copy of the weights
}

async function json(folder: Folder, name: string, what: string): Promise<unknown | null> {
  const text = await folder.text(name);
  if (text === null) return null;
  return parseJson(text, `${folder.where}${name} (${what})`);
}

/**
 * Load a GPT-2-family folder from a URL or picked files: config, weights, generation defaults, tokenizer. A
 * quantised folder loads as it is; `dtype: 'int8' | 'int4'` quantises a float folder while loading.
 * Example: `const { model } = await fromPretrained('/models/shakespeare/')`.
 */
export async function fromPretrained(source: FolderSource, opts: LoadOptions = {}): Promise<PretrainedGPT> {
  const folder = openFolder(source, opts);
  const rawConfig = await json(folder, 'config.json', 'model config');
  if (rawConfig === null) {
    throw new Error(`${folder.where}: no config.json; a Hugging Face model folder has config.json and model.safetensors`);
  }
  const config = gptConfigFromHF(rawConfig, `${folder.where}config.json`);
  const stream = await folder.stream('model.safetensors', opts.onProgress);
  if (stream === null) {
    throw new Error(`${folder.where}: no model.safetensors (attn reads a single model.safetensors; pytorch_model.bin and sharded checkpoints are not supported)`);
  }
  const reader = await readSafetensorsStream(stream);
  const model = new GPT(config, undefined, { init: false });
  // A quantised folder (attn quantize), or `dtype: 'int8' | 'int4'` to quantise while loading: src/quant, as on Node.
  const plan = quantizedLoadPlan(rawConfig, `${folder.where}config.json`, opts);
  if (plan) loadQuantizedStateDict(model, reader, checkpointNames(CHECKPOINT_RULES), `${folder.where}model.safetensors`, plan.config, plan.quantize);
  else loadStateDict(model, reader, CHECKPOINT_RULES, `${folder.where}model.safetensors`);
  model.train(false);
  const generationConfig = ((await json(folder, 'generation_config.json', 'generation config')) ?? {}) as GenerationDefaults;
  const tokenizerJson = await folder.text('tokenizer.json');
  const [vocab, merges] = tokenizerJson === null ? await Promise.all([folder.text('vocab.json'), folder.text('merges.txt')]) : [null, null];
  const vocabMerges = vocab !== null && merges !== null ? { vocab, merges } : null;
  return { model, config, generationConfig, tokenizerJson, vocabMerges, dir: folder.where };
}

/** The browser's AutoModelForCausalLM: as on Node, but fromPretrained is async and takes a URL or files. */
export const AutoModelForCausalLM = {
  /** Example: `const lm = await AutoModelForCausalLM.fromPretrained('/models/shakespeare/'); lm.generateText('To be')`. */
  async fromPretrained(source: FolderSource, opts: LoadOptions = {}): Promise<CausalLM> {
    const loaded = await fromPretrained(source, opts);
    try {
      return new CausalLM(loaded); // parses the tokenizer
    } catch (e) {
      const file = loaded.tokenizerJson !== null ? 'tokenizer.json' : 'vocab.json + merges.txt';
      throw new Error(`${loaded.dir}${file}: ${(e as Error).message}`);
    }
  },
};

export type TextGenerationPipeline = (text: string, options?: Parameters<CausalLM['generate']>[1]) => Array<{ generated_text: string }>;

/** transformers.js style: `const gen = await pipeline('text-generation', url); gen('To be', { max_new_tokens: 20 })`. */
export async function pipeline(task: 'text-generation', source: FolderSource, opts: LoadOptions = {}): Promise<TextGenerationPipeline> {
  if (task !== 'text-generation') throw new Error(`pipeline: task '${String(task)}' is not supported yet; supported: text-generation`);
  const lm = await AutoModelForCausalLM.fromPretrained(source, opts);
  const tok = lm.tokenizer;
  if (!tok) throw new Error(`pipeline: the model folder has no tokenizer.json (nor vocab.json + merges.txt)`);
  return (text, options = {}) => {
    const ids = tok.encode(text, undefined, { addSpecialTokens: false }).ids;
    const out = lm.generate([ids], options);
    return out.sequences.map((s) => ({ generated_text: text + tok.decode(s.subarray(out.prompt_length), { skipSpecialTokens: true }) }));
  };
}
