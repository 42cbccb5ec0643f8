// Training checkpoints: a Hugging Face model folder plus what resuming needs, written as one atomic folder.
//
//   DIR/config.json, model.safetensors, generation_config.json, tokenizer.json   ← loadable by transformers
//   DIR/training_state.json          step, tokens seen, RNG state, options, optimizer hyper-parameters
//   DIR/optimizer.safetensors        AdamW's moments, `<param name>.exp_avg` / `.exp_avg_sq`
//   DIR/metrics.jsonl, loss.svg, loss.png                                           ← the run's record
//
// The whole folder is replaced at once (src/io/atomic.ts: writeDirAtomic), so a kill -9 during a save leaves
// the previous complete checkpoint: the model, the optimizer and the step always belong together.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GPT } from '../models/gpt.js';
import { savePretrained } from '../models/pretrained.js';
import type { BertAnyModel } from '../models/bert.js';
import { saveBertPretrained } from '../models/bert_pretrained.js';
import { Tokenizer } from '../tokenizers/index.js';
import type { Module } from '../nn/index.js';
import { loadSafetensorsFile } from '../io/node.js';
import { readJsonFile } from '../io/atomic.js';
import type { TensorToSave } from '../io/safetensors.js';
import type { AdamWStateDict } from '../optim/index.js';
import { makeOptimizer, type TrainOptions, type TrainState } from './trainer.js';

export const TRAINING_STATE_FILE = 'training_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';

interface TrainingStateJson {
  format: 'attn-training-state';
  version: 1;
  step: number;
  tokensSeen: number;
  rngState: number[];
  bestValLoss: number | null; // JSON has no Infinity
  elapsedSec: number;
  options: TrainOptions; // (a seq2seq run stores its own options object here)
  /** Parameter names in optimizer order, with each one's AdamW step count (0 = no state yet). */
  params: Array<{ name: string; step: number }>;
  paramGroups: Array<Omit<AdamWStateDict['paramGroups'][number], 'params'> & { params: number[] }>;
  /** Free-form facts about the run for people (data files, tokenizer, time). */
  info: Record<string, unknown>;
}

/** Files and tensors describing `state`, ready for savePretrained's extraFiles / extraTensors. */
export function serializeState(model: Pick<Module, 'namedParameters'>, state: TrainState, options: object, info: Record<string, unknown>): { json: string; tensors: Map<string, TensorToSave> } {
  const sd = state.optimizer.stateDict();
  const names = new Map(model.namedParameters().map(([n, p]) => [p, n]));
  const ordered = sd.paramGroups.flatMap((g) => g.params);
  const paramsInOrder = state.optimizer.paramGroups.flatMap((g) => g.params);
  const tensors = new Map<string, TensorToSave>();
  const params = ordered.map((index) => {
    const p = paramsInOrder[index]!;
    const name = names.get(p);
    if (name === undefined) throw new Error(`checkpoint: optimizer parameter ${index} is not a parameter of the model`);
    const s = sd.state[index];
    if (s) {
      tensors.set(`${name}.exp_avg`, { shape: p.shape, data: s.expAvg });
      tensors.set(`${name}.exp_avg_sq`, { shape: p.shape, data: s.expAvgSq });
    }
    return { name, step: s?.step ?? 0 };
  });
  const json: TrainingStateJson = {
    format: 'attn-training-state',
    version: 1,
    step: state.step,
    tokensSeen: state.tokensSeen,
    rngState: state.rngState,
    bestValLoss: Number.isFinite(state.bestValLoss) ? state.bestValLoss : null,
    elapsedSec: state.elapsedSec,
    options: options as TrainOptions,
    params,
    paramGroups: sd.paramGroups,
    info,
  };
  return { json: JSON.stringify(json, null, 2) + '\n', tensors };
}

export interface CheckpointExtras {
  tokenizerJson?: string;
  /** Files of the run to carry into each new checkpoint folder (metrics log) or to (re)write (plots). */
  copyFiles?: Record<string, string>;
  extraFiles?: Record<string, string | Uint8Array>;
  info?: Record<string, unknown>;
}

/** Write model + training state to `dir` atomically (a GPT, or a BERT-family model in its own folder layout). */
export function saveCheckpoint(model: GPT | BertAnyModel, dir: string, state: TrainState, options: TrainOptions, extras: CheckpointExtras = {}): void {
  const { json, tensors } = serializeState(model, state, options, extras.info ?? {});
  if (!(model instanceof GPT)) {
    saveBertPretrained(model, dir, {
      ...(extras.tokenizerJson !== undefined ? { tokenizer: Tokenizer.fromJSON(extras.tokenizerJson) } : {}),
      extraFiles: { [TRAINING_STATE_FILE]: json, ...(extras.extraFiles ?? {}) },
      extraTensors: { [OPTIMIZER_FILE]: tensors },
      ...(extras.copyFiles ? { copyFiles: extras.copyFiles } : {}),
    });
    return;
  }
  savePretrained(model, dir, {
    ...(extras.tokenizerJson !== undefined ? { tokenizerJson: extras.tokenizerJson } : {}),
    extraFiles: { [TRAINING_STATE_FILE]: json, ...(extras.extraFiles ?? {}) },
    extraTensors: { [OPTIMIZER_FILE]: tensors },
    ...(extras.copyFiles ? { copyFiles: extras.copyFiles } : {}),
  });
}

/** Does `dir` hold a checkpoint that can be resumed? */
export function hasTrainingState(dir: string): boolean {
  return existsSync(join(dir, TRAINING_STATE_FILE)) && existsSync(join(dir, OPTIMIZER_FILE));
}

/**
 * The TrainState saved in `dir`, with a fresh optimizer over `model` (already loaded from the same folder)
 * restored to the saved moments. Also returns the options the run was started with.
 */
export function loadTrainingState(dir: string, model: Pick<Module, 'namedParameters' | 'parameters'>): { state: TrainState; options: TrainOptions; info: Record<string, unknown> } {
  const file = join(dir, TRAINING_STATE_FILE);
  const raw = readJsonFile(file, 'training state') as Partial<TrainingStateJson>;
  if (raw.format !== 'attn-training-state' || raw.version !== 1) {
    throw new Error(`${file}: not an attn training state (format ${JSON.stringify(raw.format)}, version ${JSON.stringify(raw.version)})`);
  }
  for (const k of ['step', 'tokensSeen', 'elapsedSec'] as const) {
    if (typeof raw[k] !== 'number' || !Number.isFinite(raw[k])) throw new Error(`${file}: "${k}" must be a number, got ${JSON.stringify(raw[k])}`);
  }
  if (!Array.isArray(raw.rngState) || !Array.isArray(raw.params) || !Array.isArray(raw.paramGroups) || !raw.options) {
    throw new Error(`${file}: missing rngState, params, paramGroups or options`);
  }
  const options = raw.options;
  const optimizer = makeOptimizer(model, options);
  const byName = new Map(model.namedParameters());
  const paramsInOrder = optimizer.paramGroups.flatMap((g) => g.params);
  const names = new Map(model.namedParameters().map(([n, p]) => [p, n]));
  if (raw.params.length !== paramsInOrder.length) {
    throw new Error(`${file}: saved optimizer has ${raw.params.length} parameters, the model has ${paramsInOrder.length}`);
  }
  const moments = loadSafetensorsFile(join(dir, OPTIMIZER_FILE)).tensors;
  const state: AdamWStateDict['state'] = {};
  raw.params.forEach((entry, i) => {
    const expected = names.get(paramsInOrder[i]!);
    if (entry.name !== expected || !byName.has(entry.name)) {
      throw new Error(`${file}: optimizer parameter ${i} is ${entry.name}, the model's is ${expected}`);
    }
    if (entry.step === 0) return;
    const m = moments.get(`${entry.name}.exp_avg`);
    const v = moments.get(`${entry.name}.exp_avg_sq`);
    if (!m || !v) throw new Error(`${join(dir, OPTIMIZER_FILE)}: no moments for ${entry.name}`);
    state[i] = { step: entry.step, expAvg: m.data as Float32Array, expAvgSq: v.data as Float32Array };
  });
  optimizer.loadStateDict({ state, paramGroups: raw.paramGroups });
  return {
    state: {
      step: raw.step!,
      tokensSeen: raw.tokensSeen!,
      rngState: raw.rngState,
      optimizer,
      bestValLoss: raw.bestValLoss ?? Infinity,
      elapsedSec: raw.elapsedSec!,
    },
    options,
    info: raw.info ?? {},
  };
}
