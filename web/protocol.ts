// The messages between the playground page (app.ts) and its engine workers (engine_worker.ts). All heavy
// work (loading, generating, attention, training) runs in a worker, so the page never freezes; the page
// starts two: one for inference and one for training, so a model can be tried while another one trains.
// Every request carries an id; the worker answers with events for that id and one final 'done' or 'error'.

import type { BackendInfo, ReportData } from '../src/browser/index.js';

export type ModelSource = { kind: 'url'; url: string } | { kind: 'files'; files: File[] } | { kind: 'bytes'; name: string; files: Record<string, Uint8Array> };

export interface GenerateRequestOptions {
  [key: string]: number | boolean | string | string[] | null;
}

export type Request =
  | { op: 'init' }
  | { op: 'load'; source: ModelSource }
  | { op: 'tokenize'; text: string; tokenizer: 'gpt2' | 'model' }
  | { op: 'generate'; prompt: string; options: GenerateRequestOptions }
  | { op: 'attention'; text: string }
  | { op: 'train'; text: string; settings: TrainSettings; stopFlag: SharedArrayBuffer; resume: boolean }
  | { op: 'export' };

export interface TrainSettings {
  preset: 'tiny' | 'nanogpt-cpu' | 'mini';
  vocabSize: number;
  steps: number;
  batchSize: number;
  blockSize: number;
  lr: number;
  sampleEvery: number;
  seed: number;
}

export interface ModelCard {
  name: string;
  config: Record<string, unknown>;
  parameters: number;
  nonEmbeddingParameters: number;
  forwardFlopsPerToken: number;
  trainFlopsPerToken: number;
  inferenceBytes: number;
  kvCacheBytesPerToken: number;
  trainingBytes: number;
  hasTokenizer: boolean;
}

export interface TokenView {
  id: number;
  text: string;
  start: number;
  end: number;
}

export interface Alternative {
  text: string;
  p: number;
}

export type Event =
  | { kind: 'progress'; file: string; loaded: number; total: number | null; cached: boolean }
  | { kind: 'token'; text: string; id: number; p: number; top: Alternative[]; ms: number }
  | { kind: 'step'; step: number; totalSteps: number; loss: number; lr: number; tokensPerSec: number }
  | { kind: 'eval'; step: number; valLoss: number }
  | { kind: 'sample'; step: number; text: string }
  | { kind: 'status'; text: string };

export type Reply =
  | { id: number; event: Event }
  | { id: number; done: DoneValue }
  | { id: number; error: string };

export type DoneValue =
  | { kind: 'init'; info: BackendInfo }
  | { kind: 'card'; card: ModelCard }
  | { kind: 'tokens'; tokens: TokenView[] }
  | { kind: 'generated'; texts: string[]; scores: number[] | null; firstTokenMs: number | null; tokensPerSec: number; newTokens: number }
  // What `attn explain` embeds in its report for this model and text (every layer and head, rollout), drawn by
  // the same viewer (web/explain_view.ts).
  | { kind: 'attention'; report: ReportData }
  | { kind: 'trained'; step: number; stopped: boolean; valLoss: number | null }
  | { kind: 'export'; name: string; files: Record<string, Uint8Array> };
