// attn's entry point for browsers (bundled as dist/browser/attn.js; `import … from 'attn'` in a bundler that
// picks the "browser" condition). The same public API as the Node entry (src/index.ts), with these differences:
//
//   - `await ready()` once before using the engine: it compiles the WebAssembly kernels (browsers want that
//     asynchronous), starts the worker pool when the page is cross-origin isolated, and picks the backend.
//     `backendInfo()` says what it chose and why.
//   - Folders are URLs or picked files, and loading is async: `await fromPretrained(url, { onProgress })`,
//     `await AutoModelForCausalLM.fromPretrained(url)`, `await pipeline('text-generation', url)`,
//     `await loadTokenizer(url)`. Downloads are kept in the Cache API, so a second visit loads offline.
//   - Saving gives bytes: `savePretrainedFiles(model, { tokenizerJson })` → Map of files; `downloadFolder`
//     offers them as a .zip. (CausalLM.savePretrained(dir) and the Node file helpers need Node.)
//
//   import * as attn from './attn.js';
//   await attn.ready();                                            // { backend: 'wasm', threads: 8, ... }
//   const gen = await attn.pipeline('text-generation', '/models/shakespeare/');
//   gen('To be, or not', { max_new_tokens: 40, do_sample: true, top_p: 0.9 });

import { prepareBrowserBackend, type BackendInfo } from '../platform/browser.js';
import type { KernelVariant } from '../backend/wasm/index.js';
import { KERNEL_BYTES } from './kernel_bytes.js';

export * from '../tensor/index.js';
export { getBackend, setBackend, availableBackends, registerBackend, closeBackend, type Backend, type BackendOptions } from '../backend/index.js';
export * from '../nn/index.js';
export * from '../optim/index.js';

export { GPT, KVCache, gptConfig, gptParameterCount, GPT_PRESETS, GPT_DEFAULTS, CHECKPOINT_RULES, type GPTConfig, type GPTForwardOptions, type GPTOutput, type GPTPresetName } from '../models/gpt.js';
export { gptSizes, type SizeReport } from '../models/sizes.js';
export { gptConfigFromHF, gptConfigToHF, loadStateDict, gptStateDict, SUPPORTED_MODEL_TYPES, type PretrainedGPT, type GenerationDefaults } from '../models/pretrained.js';

export { generate, generateAsync, streamText, type GenerateOptions, type GenerateOutput, type GenerationConfig, type CausalLMStepper, type Streamer } from '../generate/index.js';
export { stepperFromModel } from '../generate/from_model.js';

export { trainLoop, evaluate, newTrainState, makeOptimizer, TRAIN_DEFAULTS, type TrainOptions, type TrainState, type MetricsRecord } from '../train/trainer.js';
export { buildTokenStream, randomBatch, sequentialBatches, bitsPerByte, type TokenStream, type Document } from '../train/data.js';

export { Tokenizer, trainTokenizer, type Encoding } from '../tokenizers/index.js';
export * from '../io/index.js'; // safetensors bytes in and out, float16 conversion, JSON checking
export { CausalLM, type CausalLMForwardOptions } from '../pipelines/text_generation.js';
export * from '../quant/index.js'; // int8 / int4 weights: quantizeModel, QuantizedTensor, quantised folders

export { fromPretrained, AutoModelForCausalLM, pipeline, readSafetensorsStream, type LoadOptions, type TextGenerationPipeline } from './load.js';
export { loadTokenizer } from './load_tokenizer.js';
export { openFolder, type Folder, type FolderSource, type FolderOptions, type FileProgress } from './folder.js';
export { savePretrainedFiles, zipFolder, downloadFolder, downloadBytes, type SaveFilesOptions } from './save.js';
export { zipFiles, crc32 } from './zip.js';
export type { BackendInfo } from '../platform/browser.js';

export interface ReadyOptions {
  /** Threads; default: all cores when the page is cross-origin isolated, else 1. */
  threads?: number;
  /** Kernel build; default: 'relaxed' (fused multiply-add) where the browser has relaxed SIMD, else 'baseline'. */
  simd?: KernelVariant;
  /** 'js' forces the reference backend. */
  backend?: 'wasm' | 'js';
  /**
   * URL of attn-worker.js (default: beside this bundle). Set it when a bundler moved the files apart.
   */
  workerUrl?: string | URL;
}

let info: BackendInfo | null = null;

/**
 * Get the engine ready: compile the kernels, start threads where the page allows, choose the backend.
 * Call it (and await it) before the first tensor op; call it again to change threads or the kernel build.
 * Example: `const { backend, threads } = await ready();`
 */
export async function ready(opts: ReadyOptions = {}): Promise<BackendInfo> {
  const workerUrl = String(opts.workerUrl ?? new URL('./attn-worker.js', import.meta.url));
  info = await prepareBrowserBackend({
    kernels: KERNEL_BYTES,
    workerUrl,
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.simd ? { simd: opts.simd } : {}),
    ...(opts.backend ? { backend: opts.backend } : {}),
  });
  return info;
}

/** What ready() chose (backend, threads, kernel build) and why; null before ready(). */
export function backendInfo(): BackendInfo | null {
  return info;
}
