// Shared helpers for the encoder-decoder parity tests: read a fixture folder's expected.json and
// expected.safetensors (copied from the shared Hugging Face golden fixtures, transformers 4.36.2).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tensor, type Tensor } from '../../src/tensor/index.js';
import { loadSafetensorsFile } from '../../src/io/node.js';

const FIX = new URL('../../../test/fixtures/', import.meta.url);
export const fixture = (name: string): string => join(FIX.pathname, name);

export interface TeacherForcing {
  input_ids: number[][];
  attention_mask: number[][];
  decoder_input_ids: number[][];
  labels?: number[][];
  loss?: number;
  logits: string;
  encoder_last_hidden_state: string;
  encoder_hidden_states: string[];
  encoder_attentions: string[];
  decoder_hidden_states: string[];
  decoder_attentions: string[];
  cross_attentions: string[];
}

export interface GenerationCase {
  generate_kwargs: Record<string, unknown>;
  sequences: number[][];
  sequences_scores?: number[];
  scores?: string[];
}

export interface Expected {
  teacher_forcing: TeacherForcing;
  greedy: GenerationCase | GenerationCase[];
  beam: GenerationCase[];
  relative_position_buckets?: { relative_positions: number[]; bidirectional: number[]; unidirectional: number[] };
  checkpoint_keys: string[];
}

export function loadExpected(name: string): { json: Expected; arrays: Map<string, Float32Array> } {
  const json = JSON.parse(readFileSync(join(fixture(name), 'expected.json'), 'utf8')) as Expected;
  const arrays = new Map<string, Float32Array>();
  for (const [k, v] of loadSafetensorsFile(join(fixture(name), 'expected.safetensors')).tensors) arrays.set(k, v.data as Float32Array);
  return { json, arrays };
}

export function ids(rows: number[][]): Tensor {
  return tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length], { dtype: 'int32' });
}

/** Max |a − b| over the elements where keep(i) holds. */
export function maxDiff(a: Float32Array, b: Float32Array, keep: (i: number) => boolean = () => true): number {
  assert.equal(a.length, b.length, `length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) if (keep(i)) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
