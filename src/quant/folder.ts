// Quantised model folders on disk (Node): what `attn quantize --model DIR --bits 8|4 --out DIR` does.
//
//   quantizeFolder('runs/shakespeare', 'runs/shakespeare-int8', { bits: 8 })
//
// The output is the input folder with the weights replaced (./load.ts documents model.safetensors exactly):
//   config.json            the input's, plus "quantization_config" (QuantizationConfig in ./load.ts)
//   model.safetensors      quantised weights (I8 / U8) + their `_scale` tensors (F32), the rest F32
//   tokenizer and generation files, copied as they are (COPIED_FILES); training state is not copied
// It is written atomically (src/io/atomic.ts), and loads like any folder of its family: fromPretrained (GPT-2),
// fromPretrainedBert (BERT, RoBERTa, DistilBERT), fromPretrainedSeq2Seq (Marian, T5), the AutoModel… classes and
// pipelines, `attn generate / eval / forward / pipeline`. Loading the input quantises each weight as it is read,
// so the float model is never held whole.

import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile, writeDirAtomic } from '../io/atomic.js';
import { saveSafetensorsFile } from '../io/node.js';
import type { TensorToSave } from '../io/safetensors.js';
import { BERT_FAMILIES, bertStateDict, fromPretrainedBert } from '../models/bert_pretrained.js';
import { fromPretrained, gptStateDict, readModelType } from '../models/pretrained.js';
import { fromPretrainedSeq2Seq, marianStateDict, SEQ2SEQ_MODEL_TYPES, t5StateDict } from '../models/seq2seq_pretrained.js';
import { Transformer } from '../models/transformer.js';
import type { Module } from '../nn/index.js';
import { checkQuantSpec, groupSizeFor, QUANT_BLOCK } from './format.js';
import { quantizationConfigFor, quantizationConfigOf, type QuantizationConfig, type QuantizeOnLoad } from './load.js';
import { quantizableWeights, type QuantizeOptions, type QuantizeReport } from './model.js';
import { asQuantized } from './ops.js';

/** Files of a model folder that belong to its tokenizer or generation settings: copied into the quantised folder. */
export const COPIED_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'vocab.txt',
  'spiece.model',
  'source.spm',
  'target.spm',
  'sentencepiece.bpe.model',
  'tokenizer.model',
  'generation_config.json',
  'README.md',
];

/**
 * What a (loaded) model's quantisation is: which weights are quantised, which could be but stayed float32 (and
 * why), and the bytes before and after. Example: `quantizationReport(fromPretrained('runs/x-int8').model, { bits: 8 })`.
 */
export function quantizationReport(model: Module, opts: QuantizeOptions): QuantizeReport {
  const report: QuantizeReport = { quantized: [], skipped: [], floatBytes: 0, quantizedBytes: 0 };
  for (const q of quantizableWeights(model).values()) {
    if (q.kind === 'embedding' && !(opts.embeddings ?? true)) continue;
    const w = q.holders[0]!.weight;
    const qt = asQuantized(w);
    if (qt) {
      const m = qt.quantized;
      report.quantized.push({ name: q.name, shape: [...w.shape], bits: m.bits, groupSize: m.groupSize });
      report.floatBytes += 4 * w.size;
      report.quantizedBytes += m.byteLength;
    } else {
      const g = groupSizeFor(opts, q.k);
      report.skipped.push({ name: q.name, why: 'why' in g ? g.why : 'not quantised' });
    }
  }
  return report;
}

/**
 * Write a quantised model's `tensors` (its state dict under the checkpoint's keys, quantised weights as values +
 * `_scale`) as a folder at `out`: the config.json of `src` plus `quantization`, and the tokenizer / generation
 * files of `src`. Atomic. Example: `writeQuantizedFolder('runs/x', 'runs/x-int8', gptStateDict(model), config)`.
 */
export function writeQuantizedFolder(src: string, out: string, tensors: Map<string, TensorToSave>, quantization: QuantizationConfig): void {
  const cfgFile = join(src, 'config.json');
  const raw = readJsonFile(cfgFile, 'model config') as Record<string, unknown>;
  writeDirAtomic(out, (tmp) => {
    writeFileSync(join(tmp, 'config.json'), JSON.stringify({ ...raw, quantization_config: quantization }, null, 2) + '\n');
    saveSafetensorsFile(join(tmp, 'model.safetensors'), tensors, { format: 'pt' });
    for (const f of COPIED_FILES) if (existsSync(join(src, f))) copyFileSync(join(src, f), join(tmp, f));
  });
}

/**
 * Load the float folder `src` with its weights quantised (per its model_type: GPT-2, BERT / RoBERTa / DistilBERT,
 * Marian, T5) and return the model and its state dict under the checkpoint's own keys.
 */
function loadQuantized(src: string, load: QuantizeOnLoad): { model: Module; tensors: Map<string, TensorToSave> } {
  const type = readModelType(src);
  if (type === 'gpt2') {
    const { model } = fromPretrained(src, load);
    return { model, tensors: gptStateDict(model) };
  }
  if ((BERT_FAMILIES as readonly string[]).includes(type)) {
    const { model } = fromPretrainedBert(src, load);
    return { model, tensors: bertStateDict(model) };
  }
  if ((SEQ2SEQ_MODEL_TYPES as readonly string[]).includes(type)) {
    const { model } = fromPretrainedSeq2Seq(src, load);
    return { model, tensors: model instanceof Transformer ? marianStateDict(model) : t5StateDict(model) };
  }
  throw new Error(`${join(src, 'config.json')}: model_type "${type}" cannot be quantised; attn quantises gpt2, ${BERT_FAMILIES.join(', ')}, ${SEQ2SEQ_MODEL_TYPES.join(', ')} folders`);
}

/**
 * Quantise the model folder `src` (float32, not already quantised; GPT-2, BERT-family, Marian or T5) into `out`.
 * Returns what was quantised and the config written. Errors name the folder: an already quantised input, bits
 * other than 8 or 4, a group size that does not divide some layer's inputs (naming the layer), no weight that
 * can take the format. Example: `quantizeFolder('runs/x', 'runs/x-int4', { bits: 4, groupSize: 64 })`.
 * Does not handle: sharded checkpoints, RNN models (their LSTM/GRU matrices are not Linear layers).
 */
export function quantizeFolder(src: string, out: string, opts: QuantizeOptions): { report: QuantizeReport; config: QuantizationConfig } {
  checkQuantSpec(opts, 'attn quantize');
  const cfgFile = join(src, 'config.json');
  if (!existsSync(src)) throw new Error(`model folder not found: ${src}`);
  const existing = quantizationConfigOf(readJsonFile(cfgFile, 'model config'), cfgFile);
  if (existing) {
    throw new Error(`${src} is already quantised (int${existing.bits}, quantization_config in config.json); quantise the float folder it was made from`);
  }
  if (opts.groupSize !== undefined && opts.groupSize % QUANT_BLOCK !== 0) {
    // groupSizeFor accepts g = K too; a folder-wide group size must suit every layer, so it has to be a multiple of 32
    throw new RangeError(`attn quantize: group size ${opts.groupSize} must be a multiple of ${QUANT_BLOCK} (the kernels' block of inputs)`);
  }
  const load: QuantizeOnLoad = { dtype: opts.bits === 8 ? 'int8' : 'int4', groupSize: opts.groupSize, quantizeEmbeddings: opts.embeddings };
  const { model, tensors } = loadQuantized(src, load);
  const report = quantizationReport(model, opts);
  if (report.quantized.length === 0) {
    throw new Error(`attn quantize: no weight of ${src} can be stored as int${opts.bits}: ${report.skipped.map((s) => `${s.name} (${s.why})`).join('; ')}`);
  }
  const config = quantizationConfigFor(opts, report);
  writeQuantizedFolder(src, out, tensors, config);
  return { report, config };
}
