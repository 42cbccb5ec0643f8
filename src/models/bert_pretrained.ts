// Hugging Face folders for BERT, RoBERTa and DistilBERT on disk: config.json + model.safetensors (+ tokenizer).
//
//   fromPretrainedBert('models/bert-base-uncased')                      the head config.json's architectures names
//   fromPretrainedBert(dir, { head: 'sequence-classification', id2label: ['neg', 'pos'] })   a new head on it
//   saveBertPretrained(model, 'runs/my-bert', { tokenizer })             a folder transformers loads as it is
//
// This file reads and writes the files; what does not touch them (config.json ↔ BertConfig, key names, the
// state-dict walk with its rules for heads, the model built from a folder's parts) is bert_hf.ts, re-exported
// here, which the browser loader (src/browser/load_models.ts) shares.
//
// Also here: the folder's tokenizer, read synchronously from tokenizer.json or the older files (vocab.txt for
// WordPiece, vocab.json + merges.txt for RoBERTa's byte-level BPE) with the builders of src/tokenizers.
// Node-only (files).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensorsFile, saveSafetensorsFile } from '../io/node.js';
import { readDirConsistent, readJsonFile, writeDirAtomic } from '../io/atomic.js';
import type { Tokenizer } from '../tokenizers/index.js';
import { tokenizerFromFolderFiles } from '../tokenizers/legacy_files.js';
import type { SaveOptions } from './pretrained.js';
import { withQuantizationConfig } from '../quant/load.js';
import type { BertAnyModel } from './bert.js';
import { bertConfigToHF, bertFolderConfig, bertFromReader, bertStateDict, bertTokenizerConfig, checkTokenizerFits, type BertLoadReport, type FromPretrainedBertOptions, type PretrainedBert } from './bert_hf.js';

export * from './bert_hf.js';

// -----------------------------------------------------------------------------------------------------------
// The tokenizer of a folder.

/**
 * The folder's tokenizer, read synchronously: tokenizer.json; else vocab.json + merges.txt (RoBERTa / GPT-2
 * byte-level BPE) or vocab.txt (BERT WordPiece), with tokenizer_config.json / special_tokens_map.json /
 * added_tokens.json, as loadTokenizerFromFolder reads them. null when the folder has none of these.
 * Example: `readFolderTokenizer('models/distilbert-base-uncased')`. Does not handle SentencePiece models.
 */
export function readFolderTokenizer(dir: string): Tokenizer | null {
  const file = (name: string): string => join(dir, name);
  try {
    return tokenizerFromFolderFiles({
      text: (name) => (existsSync(file(name)) ? readFileSync(file(name), 'utf8') : null),
      json: (name) => (existsSync(file(name)) ? readJsonFile(file(name), 'tokenizer config') : null),
      path: file,
    });
  } catch (e) {
    throw new Error(`tokenizer of ${dir}: ${(e as Error).message}`);
  }
}

// -----------------------------------------------------------------------------------------------------------
// Folders

/**
 * Load a BERT / RoBERTa / DistilBERT folder. `fromPretrainedBert('models/bert-base-uncased').model.forward(ids)`.
 * Accepts both key styles (LayerNorm gamma/beta, position_ids buffers) and bare-encoder checkpoints. A quantised
 * folder (`attn quantize`) loads as it is; `{ dtype: 'int8' }` quantises a float one while loading (own head only).
 * Does not handle: sharded checkpoints, pytorch_model.bin, TensorFlow/Flax weights.
 */
export function fromPretrainedBert(dir: string, opts: FromPretrainedBertOptions = {}): PretrainedBert {
  // A reader never changes the folder (a writer may be swapping it right now): read one consistent version.
  return readDirConsistent(dir, (d) => ({ ...loadBertFolder(d, opts), dir }));
}

function loadBertFolder(dir: string, opts: FromPretrainedBertOptions): PretrainedBert {
  if (!existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
  const cfgFile = join(dir, 'config.json');
  const raw = readJsonFile(cfgFile, 'model config');
  const prepared = bertFolderConfig(raw, cfgFile, opts);
  const weights = join(dir, 'model.safetensors');
  if (!existsSync(weights)) {
    const alt = ['pytorch_model.bin', 'model.safetensors.index.json', 'tf_model.h5'].find((f) => existsSync(join(dir, f)));
    throw new Error(`${weights} not found${alt ? ` (the folder has ${alt}, which attn does not read; convert it to a single model.safetensors)` : ''}`);
  }
  const reader = openSafetensorsFile(weights);
  let loaded: { model: BertAnyModel; report: BertLoadReport };
  try {
    loaded = bertFromReader(raw, cfgFile, dir, prepared, reader, weights, opts);
  } finally {
    reader.close();
  }
  const tokenizer = readFolderTokenizer(dir);
  if (tokenizer) checkTokenizerFits(tokenizer, prepared.config, dir);
  return { ...loaded, config: prepared.config, head: prepared.head, tokenizer, dir };
}

export interface SaveBertOptions extends Omit<SaveOptions, 'generationConfig' | 'tokenizerJson'> {
  /** Written as tokenizer.json (+ a tokenizer_config.json naming its special tokens). */
  tokenizer?: Tokenizer | null; // null (what fromPretrainedBert returns for a folder without one): none written
}

/**
 * Write `dir` as a Hugging Face folder, atomically (a kill at any moment leaves the old folder or the new one):
 * config.json (architectures from the head, id2label), model.safetensors, tokenizer files when given.
 * Example: `saveBertPretrained(model, 'runs/sst2', { tokenizer })`; Python loads it with AutoModelFor….
 */
export function saveBertPretrained(model: BertAnyModel, dir: string, opts: SaveBertOptions = {}): void {
  const cfg = model.config;
  writeDirAtomic(dir, (tmp) => {
    writeFileSync(join(tmp, 'config.json'), JSON.stringify(withQuantizationConfig(bertConfigToHF(cfg, model.head), model), null, 2) + '\n');
    // transformers writes a generation_config.json for BertForMaskedLM (it can generate, in its book), with the pad id.
    if (cfg.model_type === 'bert' && model.head === 'masked-lm') {
      writeFileSync(join(tmp, 'generation_config.json'), JSON.stringify({ _from_model_config: true, pad_token_id: cfg.pad_token_id, transformers_version: '4.36.2' }, null, 2) + '\n');
    }
    saveSafetensorsFile(join(tmp, 'model.safetensors'), bertStateDict(model), { format: 'pt' });
    if (opts.tokenizer) {
      writeFileSync(join(tmp, 'tokenizer.json'), opts.tokenizer.toString() + '\n');
      writeFileSync(join(tmp, 'tokenizer_config.json'), JSON.stringify(bertTokenizerConfig(opts.tokenizer, cfg), null, 2) + '\n');
    }
    for (const [name, data] of Object.entries(opts.extraFiles ?? {})) writeFileSync(join(tmp, name), data);
    for (const [name, tensors] of Object.entries(opts.extraTensors ?? {})) saveSafetensorsFile(join(tmp, name), tensors, { format: 'attn' });
    for (const [name, from] of Object.entries(opts.copyFiles ?? {})) if (existsSync(from)) writeFileSync(join(tmp, name), readFileSync(from));
  });
}
