// Saving a model from a browser: the Hugging Face folder as bytes (the same files, byte for byte, that
// savePretrained writes on Node), and handing them to the user as a .zip download or one download per file.
//
//   const files = savePretrainedFiles(model, { tokenizerJson });   // Map: 'config.json' → bytes, ...
//   downloadFolder(files, 'shakespeare');                          // shakespeare.zip
//
// Does not handle: writing into a folder on disk directly (the File System Access API is Chromium-only);
// a .zip is what every browser can save.

import type { GPT } from '../models/gpt.js';
import { gptConfigToHF, gptStateDict, type GenerationDefaults } from '../models/pretrained.js';
import { withQuantizationConfig } from '../quant/load.js';
import { serializeSafetensors } from '../io/safetensors.js';
import { zipFiles } from './zip.js';

export interface SaveFilesOptions {
  /** tokenizer.json text to include. */
  tokenizerJson?: string;
  generationConfig?: GenerationDefaults;
  /** More files: name → text or bytes (training metrics, a README). */
  extraFiles?: Record<string, string | Uint8Array>;
}

/**
 * config.json, generation_config.json, model.safetensors (and tokenizer.json) of `model`, as savePretrained
 * writes them on Node. Example: `const files = savePretrainedFiles(model, { tokenizerJson })`.
 */
export function savePretrainedFiles(model: GPT, opts: SaveFilesOptions = {}): Map<string, Uint8Array> {
  const cfg = model.config;
  const text = new TextEncoder();
  const generation = opts.generationConfig ?? { bos_token_id: cfg.bos_token_id, eos_token_id: cfg.eos_token_id };
  const files = new Map<string, Uint8Array>();
  const hf = withQuantizationConfig(gptConfigToHF(cfg), model); // a quantised model is saved as a quantised folder
  files.set('config.json', text.encode(JSON.stringify(hf, null, 2) + '\n'));
  files.set('generation_config.json', text.encode(JSON.stringify({ _from_model_config: true, ...generation, transformers_version: '4.36.2' }, null, 2) + '\n'));
  files.set('model.safetensors', serializeSafetensors(gptStateDict(model), { format: 'pt' }));
  if (opts.tokenizerJson !== undefined) files.set('tokenizer.json', text.encode(opts.tokenizerJson));
  for (const [name, data] of Object.entries(opts.extraFiles ?? {})) files.set(name, typeof data === 'string' ? text.encode(data) : data);
  return files;
}

/** The files as a .zip whose entries sit in a folder named `name`. Example: `zipFolder(files, 'my-gpt')`. */
export function zipFolder(files: ReadonlyMap<string, Uint8Array>, name: string): Uint8Array {
  return zipFiles(new Map([...files].map(([file, bytes]) => [`${name}/${file}`, bytes])));
}

/**
 * Offer the folder to the user as `name.zip` (or, with zip: false, one download per file). Page only (needs a
 * document). Example: `downloadFolder(savePretrainedFiles(model), 'shakespeare')`.
 */
export function downloadFolder(files: ReadonlyMap<string, Uint8Array>, name: string, opts: { zip?: boolean } = {}): void {
  if (typeof document === 'undefined') throw new Error('downloadFolder needs a page (document); in a worker, send zipFolder(files, name) to the page');
  if (opts.zip ?? true) downloadBytes(zipFolder(files, name), `${name}.zip`, 'application/zip');
  else for (const [file, bytes] of files) downloadBytes(bytes, `${name}-${file}`, 'application/octet-stream');
}

/** Save bytes as a file through a temporary link (the way browsers offer downloads). */
export function downloadBytes(bytes: Uint8Array, fileName: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
