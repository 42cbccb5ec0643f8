// Quantised checkpoints: the state dict of a quantised model (what `attn quantize` writes), and loading one —
// or loading a float checkpoint and quantising it on the way in (`--dtype int8|int4`).
//
// In model.safetensors a quantised weight keeps its parameter's own key and its scales sit beside it:
//
//   <key>          I8 [N, K]     int8 values q (two's complement), one output per row          (bits 8)
//                  U8 [N, K/2]   int4: byte i of a row = (q[2i] + 8) | (q[2i+1] + 8) << 4     (bits 4)
//   <key>_scale    F32 [N, G]    one scale per group of K/G inputs: W[j, k] = scale[j, ⌊k·G/K⌋] · q[j, k]
//
// N is the layer's outputs and K its inputs, whatever layout the float weight had: GPT-2's Conv1D weights,
// stored (in, out) = (K, N) as float, are stored (N, K) when quantised. Every other tensor (biases, norms, layers
// left in float) is F32 under its usual key, so the file is the float checkpoint with some tensors replaced.
// config.json gets a "quantization_config" object (QuantizationConfig below) saying so. A tensor is read as
// quantised exactly when it is I8 or U8 and has a `_scale` companion; the config's bits must agree.
//
// Loading checks every key and shape, as loading a float checkpoint does (missing, unexpected, misshapen keys
// all reported together, by name), reads quantised bytes straight into backend memory, and leaves the model
// inference-only (freezeForInference).

import { getBackend } from '../backend/index.js';
import type { SafetensorsReader, TensorToSave } from '../io/safetensors.js';
import type { CheckpointRules } from '../models/pretrained.js';
import type { Module } from '../nn/index.js';
import { fromStorage, type Tensor } from '../tensor/index.js';
import { checkQuantSpec, DEFAULT_INT4_GROUP, groupSizeFor, QuantizedMatrix, quantizeMatrix, type QuantBits } from './format.js';
import { freezeForInference, quantizableWeights, quantizeModel, type QuantizeOptions, type QuantizeReport } from './model.js';
import { asQuantized } from './ops.js';
import { QuantizedTensor } from './tensor.js';

/** Suffix of a quantised weight's scales in a checkpoint. */
export const SCALE_SUFFIX = '_scale';

/**
 * config.json's "quantization_config" for a folder written by `attn quantize`:
 *   quant_method   "attn" (this format)
 *   bits           8 or 4
 *   group_size     inputs per scale; -1 = one scale per output channel (GPTQ's convention)
 *   sym            true: no zero point (q = round(w / scale))
 *   quantize_embeddings  whether Embedding tables (so a tied LM head) are quantised
 *   modules_not_quantized  weights that could not take the format and stayed float32 (e.g. int4 with K not a
 *                  multiple of 32), by parameter name
 */
export interface QuantizationConfig {
  quant_method: 'attn';
  bits: QuantBits;
  group_size: number;
  sym: true;
  quantize_embeddings: boolean;
  modules_not_quantized: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The quantization_config of a parsed config.json, checked field by field, or null when there is none.
 * Example: `quantizationConfigOf(JSON.parse(text), 'runs/x/config.json')?.bits`.
 */
export function quantizationConfigOf(raw: unknown, file: string): QuantizationConfig | null {
  if (!isRecord(raw) || raw['quantization_config'] === undefined || raw['quantization_config'] === null) return null;
  const q = raw['quantization_config'];
  const bad = (what: string) => new Error(`${file}: "quantization_config" ${what}`);
  if (!isRecord(q)) throw bad(`must be an object, got ${JSON.stringify(q)}`);
  if (q['quant_method'] !== 'attn') {
    throw bad(`has quant_method ${JSON.stringify(q['quant_method'])}; attn reads only its own format ("attn", written by attn quantize), not ${String(q['quant_method'])} checkpoints`);
  }
  if (q['bits'] !== 8 && q['bits'] !== 4) throw bad(`"bits" must be 8 or 4, got ${JSON.stringify(q['bits'])}`);
  const g = q['group_size'];
  if (typeof g !== 'number' || !Number.isInteger(g) || (g < 1 && g !== -1)) throw bad(`"group_size" must be a positive integer or -1 (one scale per output channel), got ${JSON.stringify(g)}`);
  if (q['sym'] !== true) throw bad(`"sym" must be true (attn's format is symmetric), got ${JSON.stringify(q['sym'])}`);
  const emb = q['quantize_embeddings'] ?? false;
  if (typeof emb !== 'boolean') throw bad(`"quantize_embeddings" must be true or false, got ${JSON.stringify(emb)}`);
  const skipped = q['modules_not_quantized'] ?? [];
  if (!Array.isArray(skipped) || !skipped.every((s) => typeof s === 'string')) throw bad(`"modules_not_quantized" must be a list of names`);
  return { quant_method: 'attn', bits: q['bits'], group_size: g, sym: true, quantize_embeddings: emb, modules_not_quantized: skipped as string[] };
}

/** The quantization_config to write for a model quantised with `opts` (and what quantizeModel reported). */
export function quantizationConfigFor(opts: QuantizeOptions, report: Pick<QuantizeReport, 'skipped'>): QuantizationConfig {
  return {
    quant_method: 'attn',
    bits: opts.bits,
    group_size: opts.groupSize ?? (opts.bits === 8 ? -1 : DEFAULT_INT4_GROUP),
    sym: true,
    quantize_embeddings: opts.embeddings ?? true,
    modules_not_quantized: report.skipped.map((s) => s.name),
  };
}

/**
 * One parameter's entries in a state dict to save: a float tensor as F32 under `key`; a quantised weight as its
 * values under `key` (I8, or U8 for int4) and its scales under `key + "_scale"` (F32). The arrays are views of the
 * parameter's own (nothing is copied). Every family's state dict goes through this, so each saves quantised
 * models. Example: `for (const [name, p] of model.namedParameters()) addStateEntry(out, 'transformer.' + name, p)`.
 */
export function addStateEntry(out: Map<string, TensorToSave>, key: string, p: Tensor): void {
  const q = asQuantized(p);
  if (!q) {
    out.set(key, { shape: p.shape, data: p.toFloat32Array() });
    return;
  }
  const m = q.quantized;
  const data = m.bits === 8 ? new Int8Array(m.data.buffer, m.data.byteOffset, m.data.length) : m.data;
  out.set(key, { dtype: m.bits === 8 ? 'I8' : 'U8', shape: [m.n, m.bits === 8 ? m.k : m.k / 2], data });
  out.set(key + SCALE_SUFFIX, { shape: [m.n, m.k / m.groupSize], data: m.scales });
}

/**
 * The tensors to save for a (partly) quantised model, under checkpoint keys `prefix + name` (addStateEntry).
 * Example: `saveSafetensorsFile(path, quantizedStateDict(model, 'transformer.'))`.
 */
export function quantizedStateDict(model: Module, prefix = ''): Map<string, TensorToSave> {
  const out = new Map<string, TensorToSave>();
  for (const [name, p] of model.namedParameters()) addStateEntry(out, prefix + name, p);
  return out;
}

/** config.json's contents with the model's quantization_config added when it is quantised (for the savers). */
export function withQuantizationConfig(hf: Record<string, unknown>, model: Module): Record<string, unknown> {
  const q = quantizationConfigOfModel(model);
  return q ? { ...hf, quantization_config: q } : hf;
}

/** What to quantise float weights to while loading (`attn generate --dtype int8`). */
export type LoadDtype = 'float32' | 'int8' | 'int4';

/**
 * How a family's checkpoint keys map onto its parameter names — the part of a loader that is not about
 * quantisation. `nameOf(key)`: the parameter a key loads into, or null for keys to skip (buffers such as GPT-2's
 * attn.bias masks). `tiedCopyOf(key)`: for a key that stores a copy of a tied parameter (a tied LM head saved
 * as well), the name of that parameter, else null. Example: `checkpointNames(CHECKPOINT_RULES)` for GPT-2.
 */
export interface CheckpointNames {
  nameOf(key: string): string | null;
  tiedCopyOf?(key: string): string | null;
}

/** CheckpointNames from a model file's CheckpointRules (a key prefix, keys to ignore, a tied head key). */
export function checkpointNames(rules: CheckpointRules, tiedTo = 'wte.weight'): CheckpointNames {
  return {
    nameOf(key) {
      const name = key.startsWith(rules.prefix) ? key.slice(rules.prefix.length) : key;
      return rules.ignore.some((re) => re.test(name)) ? null : name;
    },
    tiedCopyOf: (key) => (rules.tiedHead !== undefined && key === rules.tiedHead ? tiedTo : null),
  };
}

/**
 * Load `reader` into `module`, taking quantised tensors as they are and, when `quantize` is given, quantising the
 * float weights of Linear and Embedding layers as they are read (each float tensor is read into an ordinary
 * array, quantised into backend memory and dropped, so the float model is never held whole). `names`: how keys
 * map to parameters (checkpointNames(CHECKPOINT_RULES) for GPT-2); `config`: the folder's quantization_config.
 * Example: `loadQuantizedStateDict(gpt, reader, checkpointNames(CHECKPOINT_RULES), 'dir/model.safetensors', config, null)`.
 * Errors, all found before any weight is read and reported together: missing / unexpected / misshapen keys (by
 * name), a quantised tensor for a parameter that is not a Linear or Embedding weight, a dtype or group size that
 * disagrees with the config, a quantised checkpoint asked to be quantised again; then non-finite scales, and a
 * stored copy of a tied weight that differs from it.
 */
export function loadQuantizedStateDict(
  module: Module,
  reader: SafetensorsReader,
  names: CheckpointNames,
  file: string,
  config: QuantizationConfig | null,
  quantize: QuantizeOptions | null,
): void {
  const params = new Map(module.namedParameters());
  const qweights = quantizableWeights(module);
  const keyFor = new Map<string, string>(); // parameter name → checkpoint key
  const unexpected: string[] = [];
  const tiedCopies: [string, string][] = []; // [checkpoint key, parameter it must equal]
  const isScale = (key: string) => key.endsWith(SCALE_SUFFIX) && reader.has(key.slice(0, -SCALE_SUFFIX.length));
  for (const key of reader.names()) {
    if (isScale(key)) continue;
    const tied = names.tiedCopyOf?.(key) ?? null;
    if (tied !== null) {
      tiedCopies.push([key, tied]);
      continue;
    }
    const name = names.nameOf(key);
    if (name === null) continue;
    if (!params.has(name)) unexpected.push(key);
    else if (keyFor.has(name)) unexpected.push(`${key} (duplicate of ${keyFor.get(name)})`);
    else keyFor.set(name, key);
  }
  const missing = [...params.keys()].filter((n) => !keyFor.has(n));

  // What each key is, and whether its shape and dtype fit.
  interface Stored { name: string; key: string; bits: QuantBits; n: number; k: number; groupSize: number; transposed: boolean }
  const stored: Stored[] = [];
  const floats: { name: string; key: string }[] = [];
  const problems: string[] = [];
  for (const [name, key] of keyFor) {
    const info = reader.info(key);
    const scaleKey = key + SCALE_SUFFIX;
    if ((info.dtype === 'I8' || info.dtype === 'U8') && reader.has(scaleKey)) {
      const q = qweights.get(name);
      const bits: QuantBits = info.dtype === 'I8' ? 8 : 4;
      if (!q) {
        problems.push(`${key} is quantised, but ${name} is not the weight of a Linear or Embedding layer`);
        continue;
      }
      if (config === null) problems.push(`${key} is quantised (${info.dtype} + ${scaleKey}), but config.json has no "quantization_config"`);
      else if (config.bits !== bits) problems.push(`${key} is ${info.dtype} (int${bits}), but quantization_config says bits ${config.bits}`);
      const want = [q.n, bits === 8 ? q.k : q.k / 2];
      const scale = reader.info(scaleKey);
      const G = scale.shape[1] ?? 0;
      if (info.shape.length !== 2 || info.shape[0] !== want[0] || info.shape[1] !== want[1]) {
        problems.push(`${key}: checkpoint ${info.dtype} [${info.shape.join(', ')}], model needs [${want.join(', ')}] (N outputs, ${bits === 8 ? 'K inputs' : 'K/2 bytes'})`);
      } else if (scale.dtype !== 'F32' || scale.shape.length !== 2 || scale.shape[0] !== q.n || !(G > 0) || q.k % G !== 0) {
        problems.push(`${scaleKey}: checkpoint ${scale.dtype} [${scale.shape.join(', ')}], model needs F32 [${q.n}, G] with G dividing K = ${q.k}`);
      } else {
        const g = groupSizeFor({ bits, groupSize: q.k / G }, q.k);
        const configG = config === null ? null : config.group_size === -1 ? q.k : config.group_size;
        if ('why' in g) problems.push(`${key}: ${g.why}`);
        else if (configG !== null && configG !== g.groupSize) {
          problems.push(`${scaleKey} has ${G} scales per row (groups of ${g.groupSize}), but quantization_config says group_size ${config!.group_size}${config!.group_size === -1 ? ' (one per row)' : ''}`);
        } else stored.push({ name, key, bits, n: q.n, k: q.k, groupSize: g.groupSize, transposed: q.layout === 'in_out' });
      }
      continue;
    }
    if (info.dtype === 'I8' || info.dtype === 'U8') problems.push(`${key} is ${info.dtype} but has no ${scaleKey}: a quantised weight needs its scales`);
    const want = params.get(name)!.shape;
    if (info.shape.length !== want.length || info.shape.some((d, i) => d !== want[i])) problems.push(`${key}: checkpoint [${info.shape.join(', ')}], model [${want.join(', ')}]`);
    else floats.push({ name, key });
  }
  if (config !== null && stored.length === 0 && problems.length === 0) {
    problems.push(`config.json has a "quantization_config" (int${config.bits}), but no tensor is quantised (an I8 or U8 weight with a ${SCALE_SUFFIX} beside it)`);
  }
  if (quantize && stored.length > 0) {
    problems.push(`the checkpoint is already quantised (${stored[0]!.key} is int${stored[0]!.bits}): it cannot be quantised again to int${quantize.bits}; load it as it is, or quantise the float folder`);
  }
  const storedNames = new Set(stored.map((s) => s.name));
  for (const [key, original] of tiedCopies) {
    if (storedNames.has(original)) unexpected.push(`${key} (a quantised folder keeps a tied weight once, as ${keyFor.get(original)})`);
    else if (!params.has(original)) unexpected.push(key);
  }
  if (missing.length || unexpected.length || problems.length) {
    const parts = [
      missing.length ? `missing keys (${missing.length}): ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}` : '',
      unexpected.length ? `unexpected keys (${unexpected.length}): ${unexpected.slice(0, 10).join(', ')}${unexpected.length > 10 ? ', ...' : ''}` : '',
      problems.length ? problems.join('; ') : '',
    ].filter(Boolean);
    throw new Error(`${file} does not fit this model:\n  ${parts.join('\n  ')}`);
  }

  // Which float weights to quantise on the way in (checked before anything is read).
  const toQuantize = new Map<string, { groupSize: number }>();
  if (quantize) {
    const embeddings = quantize.embeddings ?? true;
    for (const q of qweights.values()) {
      if (q.kind === 'embedding' && !embeddings) continue;
      const g = groupSizeFor(quantize, q.k);
      if ('groupSize' in g) toQuantize.set(q.name, g);
      else if (quantize.groupSize !== undefined) throw new RangeError(`cannot quantise ${q.name} (${q.n} outputs × ${q.k} inputs) to int${quantize.bits}: ${g.why}`);
    }
  }

  // A stored copy of a tied weight (a float checkpoint's LM head) must be that weight, or the model is another one.
  for (const [key, original] of tiedCopies) {
    const copy = reader.get(key).data;
    const orig = reader.get(keyFor.get(original)!).data;
    if (copy.length !== orig.length || copy.some((v, i) => v !== orig[i])) {
      throw new Error(`${file}: ${key} differs from ${keyFor.get(original)}, the weight it is tied to; untied weights are not supported for this model`);
    }
  }

  const be = getBackend();
  const alloc = (n: number) => be.allocate(n);
  const install = (name: string, t: QuantizedTensor) => {
    for (const h of qweights.get(name)!.holders) h.weight = t;
  };
  for (const s of stored) {
    const m = QuantizedMatrix.allocate(s.bits, s.n, s.k, s.groupSize, alloc);
    reader.bytes(s.key, () => m.data); // straight into backend memory
    reader.get(s.key + SCALE_SUFFIX, () => m.scales);
    const bad = m.scales.findIndex((v) => !Number.isFinite(v) || v < 0);
    if (bad >= 0) throw new Error(`${file}: ${s.key}${SCALE_SUFFIX} has a scale of ${m.scales[bad]} at flat index ${bad} (row ${Math.floor(bad / (s.k / s.groupSize))}); scales are finite and non-negative`);
    install(s.name, new QuantizedTensor(m, { transposed: s.transposed, name: s.name }));
  }
  for (const { name, key } of floats) {
    const g = toQuantize.get(name);
    if (g && quantize) {
      const q = qweights.get(name)!;
      const t = reader.get(key); // an ordinary array: it is dropped as soon as the weight is quantised
      if (!(t.data instanceof Float32Array)) throw new Error(`${file}: tensor ${key} has dtype ${t.dtype}; a floating-point weight was expected`);
      const m = quantizeMatrix(t.data, q.n, q.k, q.layout, { bits: quantize.bits, groupSize: g.groupSize }, alloc);
      install(name, new QuantizedTensor(m, { transposed: q.layout === 'in_out', name }));
      continue;
    }
    const t = reader.get(key, alloc);
    if (!(t.data instanceof Float32Array)) throw new Error(`${file}: tensor ${key} has dtype ${t.dtype}; a floating-point parameter was expected`);
    const tensor = fromStorage(t.data, t.shape, { requiresGrad: true });
    const q = qweights.get(name);
    if (q) for (const h of q.holders) h.weight = tensor; // every holder of a tied weight
    else module.setParameter(name, tensor);
  }
  if (stored.length > 0 || quantize) freezeForInference(module);
}

/** Quantising while loading: the dtype to load float weights as, and the quantizeModel options that go with it. */
export interface QuantizeOnLoad {
  dtype?: LoadDtype;
  /** Inputs per scale (default: per output channel for int8, 32 for int4). */
  groupSize?: number | undefined;
  /** Quantise Embedding tables (and a tied LM head) too: default true. */
  quantizeEmbeddings?: boolean | undefined;
}

/**
 * The quantizeModel options a load request means, or null for float32 (or no dtype).
 * Example: `quantizeOptionsFor({ dtype: 'int4' })` → `{ bits: 4 }`.
 */
export function quantizeOptionsFor(o: QuantizeOnLoad): QuantizeOptions | null {
  const { dtype } = o;
  if (dtype === undefined || dtype === 'float32') return null;
  if (dtype !== 'int8' && dtype !== 'int4') throw new RangeError(`dtype must be float32, int8 or int4, got ${JSON.stringify(dtype)}`);
  const q: QuantizeOptions = { bits: dtype === 'int8' ? 8 : 4 };
  if (o.groupSize !== undefined) q.groupSize = o.groupSize;
  if (o.quantizeEmbeddings !== undefined) q.embeddings = o.quantizeEmbeddings;
  checkQuantSpec(q, `dtype ${dtype}`);
  return q;
}

/**
 * What a loader does with a folder: null to load it as float32 (no quantization_config, no dtype asked), else the
 * folder's quantization_config (null for a float folder) and how to quantise float weights on the way in (null
 * for a quantised folder). Asking a quantised folder for its own dtype is allowed (it loads as it is); asking
 * it for another (float32 included) is an error, as is asking a float folder for a group size without a dtype.
 * Example: `quantizedLoadPlan(JSON.parse(text), 'runs/x/config.json', { dtype: 'int8' })` → `{ config: null, quantize: { bits: 8 } }`.
 */
export function quantizedLoadPlan(rawConfig: unknown, configFile: string, opts: QuantizeOnLoad): { config: QuantizationConfig | null; quantize: QuantizeOptions | null } | null {
  const config = quantizationConfigOf(rawConfig, configFile);
  const quantize = quantizeOptionsFor(opts);
  if (quantize === null && (opts.groupSize !== undefined || opts.quantizeEmbeddings !== undefined) && config === null) {
    throw new RangeError(`a group size or quantizeEmbeddings was given without dtype 'int8' or 'int4'; ${configFile} is float32`);
  }
  if (config === null) return quantize === null ? null : { config: null, quantize };
  if (opts.dtype === 'float32') {
    throw new Error(`${configFile}: this folder is quantised (int${config.bits}); it cannot be loaded as float32 (its float weights are not in it): load it as it is, or load the float folder it was made from`);
  }
  if (quantize !== null && (quantize.bits !== config.bits || opts.groupSize !== undefined)) {
    throw new Error(`${configFile}: this folder is already quantised (int${config.bits}); it cannot be loaded as int${quantize.bits}${opts.groupSize !== undefined ? ` with group size ${opts.groupSize}` : ''}: load it as it is, or quantise the float folder it was made from`);
  }
  return { config, quantize: null };
}

/**
 * The quantization_config that describes a loaded, quantised model (for savePretrained), or null when no weight
 * is quantised. Example: `quantizationConfigOfModel(quantizedGpt)?.bits` → 8.
 * Errors: a model whose weights mix bit widths or group sizes (quantizeModel never makes one).
 */
export function quantizationConfigOfModel(model: Module): QuantizationConfig | null {
  const weights = [...quantizableWeights(model).values()];
  const quantized = weights.flatMap((q) => {
    const t = asQuantized(q.holders[0]!.weight);
    return t ? [{ q, m: t.quantized }] : [];
  });
  if (quantized.length === 0) return null;
  const bits = quantized[0]!.m.bits;
  const perRow = quantized.every(({ m }) => m.groupSize === m.k);
  const groupSize = perRow ? -1 : quantized[0]!.m.groupSize;
  for (const { q, m } of quantized) {
    if (m.bits !== bits) throw new Error(`quantization_config: ${q.name} is int${m.bits}, ${quantized[0]!.q.name} int${bits}; a folder has one bit width`);
    if (!perRow && m.groupSize !== groupSize) throw new Error(`quantization_config: ${q.name} has groups of ${m.groupSize}, ${quantized[0]!.q.name} of ${groupSize}; a folder has one group size`);
  }
  const embeddings = quantized.some(({ q }) => q.kind === 'embedding');
  const skipped = weights.filter((q) => (q.kind === 'linear' || embeddings) && !asQuantized(q.holders[0]!.weight)).map((q) => q.name);
  return { quant_method: 'attn', bits, group_size: groupSize, sym: true, quantize_embeddings: embeddings, modules_not_quantized: skipped };
}

/**
 * Quantise a model that is already loaded (any family): quantizeModel with the options `--dtype` gives.
 * Example: `quantizeLoaded(model, 'int8')`. 'float32' does nothing.
 */
export function quantizeLoaded(model: Module, dtype: LoadDtype, opts: { groupSize?: number; embeddings?: boolean } = {}): QuantizeReport | null {
  if (dtype === 'float32') return null;
  return quantizeModel(model, { bits: dtype === 'int8' ? 8 : 4, ...opts });
}
