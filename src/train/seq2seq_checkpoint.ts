// Checkpoints of seq2seq training runs: the model's Hugging Face folder (Marian or T5, seq2seq_pretrained.ts)
// plus training_state.json and optimizer.safetensors, written as one atomic folder exactly as the GPT
// trainer's checkpoints are (checkpoint.ts serialises the state; this file only picks the folder writer).

import type { Seq2SeqModel } from '../models/seq2seq_pretrained.js';
import { saveSeq2Seq } from '../models/seq2seq_pretrained.js';
import { OPTIMIZER_FILE, TRAINING_STATE_FILE, loadTrainingState, serializeState, type CheckpointExtras } from './checkpoint.js';
import type { TrainState } from './trainer.js';
import type { Seq2SeqTrainOptions } from './seq2seq.js';

/** Write model + training state to `dir` atomically. Example: `saveSeq2SeqCheckpoint(model, 'runs/g2p', state, opts)`. */
export function saveSeq2SeqCheckpoint(model: Seq2SeqModel, dir: string, state: TrainState, options: Seq2SeqTrainOptions, extras: CheckpointExtras & { generationConfig?: Record<string, unknown> } = {}): void {
  const { json, tensors } = serializeState(model, state, options, extras.info ?? {});
  saveSeq2Seq(model, dir, {
    ...(extras.tokenizerJson !== undefined ? { tokenizerJson: extras.tokenizerJson } : {}),
    ...(extras.generationConfig ? { generationConfig: extras.generationConfig } : {}),
    extraFiles: { [TRAINING_STATE_FILE]: json, ...(extras.extraFiles ?? {}) },
    extraTensors: { [OPTIMIZER_FILE]: tensors },
    ...(extras.copyFiles ? { copyFiles: extras.copyFiles } : {}),
  });
}

/** The TrainState saved in `dir` for `model` (loaded from the same folder), and the run's options. */
export function loadSeq2SeqTrainingState(dir: string, model: Seq2SeqModel): { state: TrainState; options: Seq2SeqTrainOptions; info: Record<string, unknown> } {
  const r = loadTrainingState(dir, model);
  return { state: r.state, options: r.options as unknown as Seq2SeqTrainOptions, info: r.info };
}
