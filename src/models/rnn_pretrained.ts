// RNN encoder-decoders (rnn_attention.ts) as folders on disk, so a trained model can be explained, decoded or
// trained further later. Node-only (files). Hugging Face has no model type for these, so the folder is attn's
// own, laid out like a Hugging Face one:
//
//   config.json        { "model_type": "rnn_seq2seq", "architectures": ["RNNSeq2Seq"], …RNNSeq2SeqConfig }
//   model.safetensors  every parameter under its namedParameters() name, float32 (the recurrent layers under
//                      PyTorch's nn.GRU / nn.LSTM names: encoder.weight_ih_l0, encoder.weight_hh_l0_reverse, …)
//   symbols.json       { "source": [...], "target": [...] }: id → symbol for each side ("<pad>", "<s>", …
//                      first, as G2PVocab writes them)
//
//   saveRNNSeq2Seq(model, dir, symbols)      written atomically (a reader sees the old folder or the new one)
//   loadRNNSeq2Seq(dir)                      → { model, symbols }; every file, key and shape checked

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensorsFile, saveSafetensorsFile } from '../io/node.js';
import { readDirConsistent, readJsonFile, writeDirAtomic, writeJsonFileAtomic } from '../io/atomic.js';
import { Rng, tensor } from '../tensor/index.js';
import { RNNSeq2Seq, rnnSeq2SeqConfig, RNN_SEQ2SEQ_DEFAULTS, type RNNSeq2SeqConfig } from './rnn_attention.js';

export const RNN_SEQ2SEQ_MODEL_TYPE = 'rnn_seq2seq';

/** Each side's symbols, by id. */
export interface RNNSymbols {
  source: readonly string[];
  target: readonly string[];
}

/** Write `model` and its symbol tables to `dir` (replaced atomically). `saveRNNSeq2Seq(model, 'runs/bahdanau', { source, target })`. */
export function saveRNNSeq2Seq(model: RNNSeq2Seq, dir: string, symbols: RNNSymbols): void {
  const c = model.config;
  if (symbols.source.length !== c.src_vocab_size || symbols.target.length !== c.tgt_vocab_size) {
    throw new RangeError(`saveRNNSeq2Seq: ${symbols.source.length} source and ${symbols.target.length} target symbols for a model of src_vocab_size ${c.src_vocab_size} and tgt_vocab_size ${c.tgt_vocab_size}`);
  }
  const tensors: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
  for (const [name, p] of model.namedParameters()) tensors[name] = { shape: p.shape, data: p.toFloat32Array() };
  writeDirAtomic(dir, (tmp) => {
    writeJsonFileAtomic(join(tmp, 'config.json'), { model_type: RNN_SEQ2SEQ_MODEL_TYPE, architectures: ['RNNSeq2Seq'], ...c });
    saveSafetensorsFile(join(tmp, 'model.safetensors'), tensors, { format: 'attn' });
    writeJsonFileAtomic(join(tmp, 'symbols.json'), { source: symbols.source, target: symbols.target });
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A model folder written by saveRNNSeq2Seq. Throws naming the file, key and value that do not fit. */
export function loadRNNSeq2Seq(dir: string): { model: RNNSeq2Seq; symbols: RNNSymbols } {
  if (!existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
  return readDirConsistent(dir, (d) => {
    const cfgFile = join(d, 'config.json');
    const raw = readJsonFile(cfgFile, 'model config');
    if (!isRecord(raw)) throw new Error(`${cfgFile}: expected a JSON object`);
    if (raw['model_type'] !== RNN_SEQ2SEQ_MODEL_TYPE) throw new Error(`${cfgFile}: model_type ${JSON.stringify(raw['model_type'])} is not '${RNN_SEQ2SEQ_MODEL_TYPE}'`);
    const fields: Partial<RNNSeq2SeqConfig> = {};
    for (const key of Object.keys(RNN_SEQ2SEQ_DEFAULTS) as Array<keyof RNNSeq2SeqConfig>) {
      if (!(key in raw)) throw new Error(`${cfgFile}: missing "${key}"`);
      const want = typeof RNN_SEQ2SEQ_DEFAULTS[key];
      if (typeof raw[key] !== want) throw new Error(`${cfgFile}: "${key}" is ${JSON.stringify(raw[key])}, expected a ${want}`);
      (fields as Record<string, unknown>)[key] = raw[key];
    }
    let config: RNNSeq2SeqConfig;
    try {
      config = rnnSeq2SeqConfig(fields);
    } catch (e) {
      throw new Error(`${cfgFile}: ${(e as Error).message}`);
    }

    const symFile = join(d, 'symbols.json');
    const sym = readJsonFile(symFile, 'symbol tables');
    const side = (key: 'source' | 'target', size: number): string[] => {
      const list = isRecord(sym) ? sym[key] : undefined;
      if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw new Error(`${symFile}: "${key}" must be a list of strings`);
      if (list.length !== size) throw new Error(`${symFile}: "${key}" has ${list.length} symbols, the model's ${key === 'source' ? 'src' : 'tgt'}_vocab_size is ${size}`);
      return list as string[];
    };
    const symbols = { source: side('source', config.src_vocab_size), target: side('target', config.tgt_vocab_size) };

    const weightsFile = join(d, 'model.safetensors');
    const reader = openSafetensorsFile(weightsFile);
    try {
      const model = new RNNSeq2Seq(config, new Rng(0));
      const expected = new Set<string>();
      for (const [name, p] of model.namedParameters()) {
        expected.add(name);
        const t = reader.get(name); // throws naming the file and a few names it has
        if (t.shape.length !== p.shape.length || t.shape.some((n, i) => n !== p.shape[i])) {
          throw new Error(`${weightsFile}: ${name} has shape [${t.shape.join(', ')}], the config makes it [${p.shape.join(', ')}]`);
        }
        if (!(t.data instanceof Float32Array)) throw new Error(`${weightsFile}: ${name} is ${t.dtype}, expected F32`);
        p.copyFrom(tensor(t.data, t.shape));
      }
      const extra = reader.names().filter((n) => !expected.has(n));
      if (extra.length > 0) throw new Error(`${weightsFile}: tensors this model does not have: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`);
      return { model: model.train(false), symbols };
    } finally {
      reader.close();
    }
  });
}
