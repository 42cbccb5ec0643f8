// Hugging Face folders of encoder-decoder models on disk: `model_type: marian` (the 2017 Transformer,
// transformer.ts) and `model_type: t5` (t5.ts). Node-only (files), like pretrained.ts for GPT-2; what does not
// touch files (config.json mapping, tied-weight checks, state dicts, generation defaults, teacher-forced
// outputs) is seq2seq_hf.ts, re-exported here, which the browser loader (src/browser/load_models.ts) shares.
//
//   fromPretrainedSeq2Seq(dir)    config.json's model_type picks the model; weights, generation defaults
//                                 (generation_config.json, else the generation keys of config.json, as
//                                 transformers' GenerationConfig.from_model_config) and tokenizer.json
//   saveSeq2Seq(model, dir)       config.json, generation_config.json, model.safetensors (+ tokenizer.json),
//                                 written atomically, under the names and fields save_pretrained writes
//
// Dispatch for a caller that handles several families: read config.json's model_type; 'gpt2' →
// pretrained.ts's fromPretrained, 'marian' | 't5' → fromPretrainedSeq2Seq (SEQ2SEQ_MODEL_TYPES).

import { existsSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Transformer } from './transformer.js';
import type { SaveOptions } from './pretrained.js';
import { withQuantizationConfig, type QuantizeOnLoad } from '../quant/load.js';
import { openSafetensorsFile, saveSafetensorsFile } from '../io/node.js';
import { readDirConsistent, readJsonFile, writeDirAtomic } from '../io/atomic.js';
import { SEQ2SEQ_MODEL_TYPES, defaultGenerationConfig, marianConfigToHF, marianStateDict, seq2seqFolderConfig, seq2seqFromReader, seq2seqGenerationConfig, t5ConfigToHF, t5StateDict, type PretrainedSeq2Seq, type Seq2SeqModel } from './seq2seq_hf.js';

export * from './seq2seq_hf.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The model_type of a folder's config.json (read and checked). */
export function readModelType(dir: string): string {
  if (!existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
  const file = join(dir, 'config.json');
  const raw = readJsonFile(file, 'model config');
  if (!isRecord(raw)) throw new Error(`${file}: expected a JSON object`);
  const t = raw['model_type'];
  if (typeof t !== 'string') throw new Error(`${file}: "model_type" is missing (expected one of gpt2, ${SEQ2SEQ_MODEL_TYPES.join(', ')})`);
  return t;
}

/**
 * Load a Marian or T5 folder. Example: `const { model, generationConfig } = fromPretrainedSeq2Seq('models/opus-mt-en-de')`.
 * A quantised folder (`attn quantize`) loads as it is; `{ dtype: 'int8' | 'int4' }` quantises a float one while loading.
 * Does not handle: sharded checkpoints, pytorch_model.bin. tokenizerJson is null when the folder has no
 * tokenizer.json (an opus-mt folder's source.spm + vocab.json are read by loadTokenizerFromFolder).
 */
export function fromPretrainedSeq2Seq(dir: string, opts: QuantizeOnLoad = {}): PretrainedSeq2Seq {
  // A reader never changes the folder (a writer may be swapping it right now): read one consistent version.
  return readDirConsistent(dir, (d) => ({ ...loadSeq2SeqFolder(d, opts), dir }));
}

function loadSeq2SeqFolder(dir: string, opts: QuantizeOnLoad): PretrainedSeq2Seq {
  if (!existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
  const cfgFile = join(dir, 'config.json');
  const raw = readJsonFile(cfgFile, 'model config');
  const parsed = seq2seqFolderConfig(raw, cfgFile);
  const weights = join(dir, 'model.safetensors');
  if (!existsSync(weights)) {
    const alt = ['pytorch_model.bin', 'model.safetensors.index.json', 'tf_model.h5'].find((f) => existsSync(join(dir, f)));
    throw new Error(`${weights} not found${alt ? ` (the folder has ${alt}, which attn does not read; convert it to a single model.safetensors)` : ''}`);
  }
  const reader = openSafetensorsFile(weights);
  let model: Seq2SeqModel;
  try {
    model = seq2seqFromReader(raw, cfgFile, parsed, reader, weights, opts);
  } finally {
    reader.close();
  }
  const genFile = join(dir, 'generation_config.json');
  const generationConfig = seq2seqGenerationConfig(raw as Record<string, unknown>, existsSync(genFile) ? readJsonFile(genFile, 'generation config') : null, model, genFile);
  const tokFile = join(dir, 'tokenizer.json');
  const tokenizerJson = existsSync(tokFile) ? readFileSync(tokFile, 'utf8') : null;
  return { model, modelType: parsed.modelType, generationConfig, tokenizerJson, dir };
}

/**
 * Write a Marian or T5 folder atomically: config.json, generation_config.json, model.safetensors, and
 * tokenizer.json / extra files when given. Example: `saveSeq2Seq(model, 'runs/g2p', { tokenizerJson })`.
 */
export function saveSeq2Seq(model: Seq2SeqModel, dir: string, opts: SaveOptions & { generationConfig?: Record<string, unknown> } = {}): void {
  const isMarian = model instanceof Transformer;
  const config = withQuantizationConfig(isMarian ? marianConfigToHF(model.config) : t5ConfigToHF(model.config), model); // + quantization_config when quantised
  const tensors = isMarian ? marianStateDict(model) : t5StateDict(model);
  const generation = { _from_model_config: opts.generationConfig === undefined, ...(opts.generationConfig ?? defaultGenerationConfig(model)), transformers_version: '4.36.2' };
  writeDirAtomic(dir, (tmp) => {
    writeFileSync(join(tmp, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    writeFileSync(join(tmp, 'generation_config.json'), JSON.stringify(generation, null, 2) + '\n');
    saveSafetensorsFile(join(tmp, 'model.safetensors'), tensors, { format: 'pt' });
    if (opts.tokenizerJson !== undefined && opts.tokenizerJson !== null) writeFileSync(join(tmp, 'tokenizer.json'), opts.tokenizerJson);
    for (const [name, data] of Object.entries(opts.extraFiles ?? {})) writeFileSync(join(tmp, name), data);
    for (const [name, t] of Object.entries(opts.extraTensors ?? {})) saveSafetensorsFile(join(tmp, name), t, { format: 'attn' });
    for (const [name, from] of Object.entries(opts.copyFiles ?? {})) if (existsSync(from)) copyFileSync(from, join(tmp, name));
  });
}
