// Every logits processor and their composition against the scores Hugging Face transformers 4.36.2 computed
// (test/fixtures/logits-processors), plus hand-computed cases for the processors the fixture does not cover.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ForcedBOSTokenLogitsProcessor,
  ForcedEOSTokenLogitsProcessor,
  LogitNormalization,
  MinLengthLogitsProcessor,
  MinNewTokensLengthLogitsProcessor,
  MinPLogitsWarper,
  NoBadWordsLogitsProcessor,
  NoRepeatNGramLogitsProcessor,
  RepetitionPenaltyLogitsProcessor,
  SequenceBiasLogitsProcessor,
  SuppressTokensAtBeginLogitsProcessor,
  SuppressTokensLogitsProcessor,
  TemperatureLogitsWarper,
  TopKLogitsWarper,
  TopPLogitsWarper,
  TypicalLogitsWarper,
  applyProcessors,
  type LogitsProcessor,
  type ProcessorInput,
} from '../../src/generate/processors.js';
import { buildLogitsProcessors, buildLogitsWarpers, resolveGenerationConfig } from '../../src/generate/config.js';
import { logSoftmaxInto, softmaxInto } from '../../src/generate/math.js';
import { assertScoresClose, jsonFloat, readArrays, readJson } from './helpers.js';

interface SingleCase {
  name: string;
  class: string;
  args: Record<string, number | string>;
  output: (number | string)[][];
  array: string;
}
interface ProcessorsFixture {
  input_ids: number[][];
  input_logits: (number | string)[][];
  single: SingleCase[];
  composition: {
    generation_config: Record<string, number | boolean>;
    order: string[];
    steps: { class: string; output: (number | string)[][] }[];
    final: (number | string)[][];
    final_array: string;
    sampling_probs: (number | string)[][];
    sampling_probs_array: string;
  };
  beam_style: { log_softmax: (number | string)[][]; processed: (number | string)[][]; array: string };
}

const fx = readJson<ProcessorsFixture>('logits-processors', 'expected.json');
const arrays = readArrays('logits-processors', 'expected.safetensors');
const rows = fx.input_ids.length;
const L = fx.input_ids[0]!.length;
const V = fx.input_logits[0]!.length;
const input: ProcessorInput = { inputIds: Int32Array.from(fx.input_ids.flat()), rows, length: L };
const flat = (m: (number | string)[][]) => Float32Array.from(m.flat().map(jsonFloat));
const logits = () => flat(fx.input_logits);

function array(name: string): Float32Array {
  const a = arrays.get(name);
  assert.ok(a, `expected.safetensors has ${name}`);
  assert.deepEqual(a.shape, [rows, V]);
  return a.data;
}

test('the fixture arrays and the inline JSON agree (the fixture is read correctly)', () => {
  assertScoresClose(array('input_logits'), flat(fx.input_logits), 'input_logits', 0, 0);
  for (const c of fx.single) assertScoresClose(array(c.array), flat(c.output), c.name, 0, 0);
});

function make(c: SingleCase): LogitsProcessor {
  const a = c.args;
  const num = (k: string) => jsonFloat(a[k]!);
  switch (c.class) {
    case 'TemperatureLogitsWarper':
      return new TemperatureLogitsWarper(num('temperature'));
    case 'TopKLogitsWarper':
      return new TopKLogitsWarper(num('top_k'), num('min_tokens_to_keep'), num('filter_value'));
    case 'TopPLogitsWarper':
      return new TopPLogitsWarper(num('top_p'), num('min_tokens_to_keep'), num('filter_value'));
    case 'RepetitionPenaltyLogitsProcessor':
      return new RepetitionPenaltyLogitsProcessor(num('penalty'));
    case 'NoRepeatNGramLogitsProcessor':
      return new NoRepeatNGramLogitsProcessor(num('ngram_size'));
    case 'MinLengthLogitsProcessor':
      return new MinLengthLogitsProcessor(num('min_length'), num('eos_token_id'));
    default:
      throw new Error(`fixture case ${c.name}: no processor for class ${c.class}`);
  }
}

for (const c of fx.single) {
  test(`${c.name} ${JSON.stringify(c.args)} matches transformers 4.36.2`, () => {
    const scores = logits();
    const p = make(c);
    assert.equal(p.name, c.class);
    p.process(input, scores);
    assertScoresClose(scores, array(c.array), c.name);
  });
}

test('every fixture case changes something or is the documented no-op (the tests can fail)', () => {
  const changed = fx.single.filter((c) => flat(c.output).some((x, i) => x !== logits()[i]!)).map((c) => c.name);
  // Only the inactive MinLength case (min_length 5 < length 8) and top_k > V leave the logits as they are.
  assert.deepEqual(
    fx.single.map((c) => c.name).filter((n) => !changed.includes(n)),
    ['MinLengthLogitsProcessor(inactive)', 'TopKLogitsWarper(top_k>vocab)'],
  );
});

test('composition: the processors generate() builds for the fixture config, in transformers order, step by step', () => {
  const gc = fx.composition.generation_config;
  const cfg = resolveGenerationConfig([gc as Record<string, number | boolean>], L, V);
  const list = [...buildLogitsProcessors(cfg), ...buildLogitsWarpers(cfg)];
  assert.deepEqual(list.map((p) => p.name), fx.composition.order);
  const scores = logits();
  list.forEach((p, i) => {
    p.process(input, scores);
    assert.equal(fx.composition.steps[i]!.class, p.name);
    assertScoresClose(scores, flat(fx.composition.steps[i]!.output), `after ${p.name}`);
  });
  assertScoresClose(scores, array(fx.composition.final_array), 'final');
  const probs = new Float32Array(scores.length);
  for (let r = 0; r < rows; r++) softmaxInto(scores.subarray(r * V, (r + 1) * V), probs.subarray(r * V, (r + 1) * V));
  assertScoresClose(probs, array(fx.composition.sampling_probs_array), 'sampling probabilities', 1e-6, 1e-5);
});

test('beam style: processors applied to log_softmax(logits), as in beam search', () => {
  const lp = new Float32Array(rows * V);
  const raw = logits();
  for (let r = 0; r < rows; r++) logSoftmaxInto(raw.subarray(r * V, (r + 1) * V), lp.subarray(r * V, (r + 1) * V));
  assertScoresClose(lp, flat(fx.beam_style.log_softmax), 'log_softmax');
  // The beam-style list is the processors part of the composition (no warpers).
  const cfg = resolveGenerationConfig([{ ...fx.composition.generation_config, do_sample: false } as Record<string, number | boolean>], L, V);
  applyProcessors(buildLogitsProcessors(cfg), input, lp);
  assertScoresClose(lp, array(fx.beam_style.array), 'processed log-probabilities');
});

// -----------------------------------------------------------------------------------------------------------
// Processors the fixture does not cover: expected values written out from transformers' definitions.

const small = (): { input: ProcessorInput; scores: Float32Array } => ({
  // two rows of 4 tokens over a vocabulary of 6
  input: { inputIds: Int32Array.of(1, 2, 3, 1, 4, 4, 0, 2), rows: 2, length: 4 },
  scores: Float32Array.of(0.5, -1, 2, 0.25, 3, -2, /* row 1 */ 1, 1.5, -0.5, 0, 2.5, -3),
});

test('NoBadWords: single tokens always, longer sequences only after their prefix; [eos] entries are ignored', () => {
  const { input, scores } = small();
  // [5]: banned everywhere. [1, 0]: row 0 ends in 1 → 0 banned there only. [0, 2, 1]: row 1 ends in 0, 2 → 1
  // banned in row 1. [4]: equals [eos] (eos = 4) → ignored.
  new NoBadWordsLogitsProcessor([[5], [1, 0], [0, 2, 1], [4]], 4).process(input, scores);
  assert.deepEqual([...scores], [-Infinity, -1, 2, 0.25, 3, -Infinity, 1, -Infinity, -0.5, 0, 2.5, -Infinity]);
});

test('SequenceBias adds (possibly positive) biases; a sequence longer than the row is ignored', () => {
  const { input, scores } = small();
  new SequenceBiasLogitsProcessor([
    [[2], 1.5],
    [[1, 3], -1],
    [[4, 0, 2, 1, 5], 9],
  ]).process(input, scores);
  assert.deepEqual([...scores], [0.5, -1, 3.5, 0.25 - 1, 3, -2, 1, 1.5, 1, 0, 2.5, -3]);
});

test('MinNewTokensLength forbids EOS only until min_new_tokens were generated after the prompt', () => {
  const a = small();
  new MinNewTokensLengthLogitsProcessor(2, 3, [4, 5]).process(a.input, a.scores); // 4 - 2 = 2 new < 3
  assert.deepEqual([...a.scores], [0.5, -1, 2, 0.25, -Infinity, -Infinity, 1, 1.5, -0.5, 0, -Infinity, -Infinity]);
  const b = small();
  new MinNewTokensLengthLogitsProcessor(1, 3, 4).process(b.input, b.scores); // 3 new: allowed
  assert.deepEqual([...b.scores], [...small().scores]);
});

test('ForcedBOS acts at length 1 and ForcedEOS one before max_length: all -inf except the forced token (0)', () => {
  const input = { inputIds: Int32Array.of(7, 7), rows: 2, length: 1 };
  const s = Float32Array.of(1, 2, 3, 4, 5, 6);
  new ForcedBOSTokenLogitsProcessor(1).process(input, s);
  assert.deepEqual([...s], [-Infinity, 0, -Infinity, -Infinity, 0, -Infinity]);
  const a = small();
  new ForcedEOSTokenLogitsProcessor(5, [0, 3]).process(a.input, a.scores); // length 4 = 5 - 1
  assert.deepEqual([...a.scores], [0, -Infinity, -Infinity, 0, -Infinity, -Infinity, 0, -Infinity, -Infinity, 0, -Infinity, -Infinity]);
  const b = small();
  new ForcedEOSTokenLogitsProcessor(6, 0).process(b.input, b.scores); // not yet
  assert.deepEqual([...b.scores], [...small().scores]);
});

test('SuppressTokens always; SuppressTokensAtBegin only at the begin index', () => {
  const a = small();
  new SuppressTokensLogitsProcessor([0, 5]).process(a.input, a.scores);
  assert.deepEqual([...a.scores], [-Infinity, -1, 2, 0.25, 3, -Infinity, -Infinity, 1.5, -0.5, 0, 2.5, -Infinity]);
  const b = small();
  new SuppressTokensAtBeginLogitsProcessor([2], 4).process(b.input, b.scores);
  assert.equal(b.scores[2], -Infinity);
  assert.equal(b.scores[8], -Infinity);
  const c = small();
  new SuppressTokensAtBeginLogitsProcessor([2], 3).process(c.input, c.scores);
  assert.deepEqual([...c.scores], [...small().scores]);
});

test('LogitNormalization turns scores into log-probabilities (each row: logsumexp = 0)', () => {
  const a = small();
  new LogitNormalization().process(a.input, a.scores);
  for (let r = 0; r < 2; r++) {
    let sum = 0;
    for (let v = 0; v < 6; v++) sum += Math.exp(a.scores[r * 6 + v]!);
    assert.ok(Math.abs(sum - 1) < 1e-6, `row ${r} sums to ${sum}`);
  }
});

test('MinP keeps tokens with p >= min_p · p_max (and at least min_tokens_to_keep)', () => {
  const row = Float32Array.of(Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05));
  const input = { inputIds: Int32Array.of(0), rows: 1, length: 1 };
  const a = Float32Array.from(row);
  new MinPLogitsWarper(0.5).process(input, a); // cut = 0.25: keeps 0.5 and 0.3
  assert.deepEqual([...a].map((x) => x === -Infinity), [false, false, true, true]);
  const b = Float32Array.from(row);
  new MinPLogitsWarper(0.9, 3).process(input, b); // cut 0.45 keeps one, but 3 are protected
  assert.deepEqual([...b].map((x) => x === -Infinity), [false, false, false, true]);
  const c = Float32Array.from(row);
  new MinPLogitsWarper(0.09).process(input, c); // cut 0.045: keeps all
  assert.deepEqual([...c].map((x) => x === -Infinity), [false, false, false, false]);
});

test('Typical keeps the tokens whose surprisal is closest to the entropy until their mass reaches typical_p', () => {
  // p = [0.5, 0.3, 0.15, 0.05]; H = -Σ p log p = 1.142; |-log p - H| = [0.449, 0.062, 0.755, 1.854].
  // Order by that distance: tokens 1 (0.3), 0 (0.5), 2 (0.15), 3 (0.05); cumulative 0.3, 0.8, 0.95, 1.0.
  const p = [0.5, 0.3, 0.15, 0.05];
  const input = { inputIds: Int32Array.of(0), rows: 1, length: 1 };
  const run = (mass: number) => {
    const s = Float32Array.from(p, Math.log);
    new TypicalLogitsWarper(mass).process(input, s);
    return [...s].map((x) => x !== -Infinity);
  };
  assert.deepEqual(run(0.25), [false, true, false, false]); // 0.3 >= 0.25 after one token
  assert.deepEqual(run(0.5), [true, true, false, false]); // needs 0.8
  assert.deepEqual(run(0.9), [true, true, true, false]); // needs 0.95
});

test('TopK keeps ties with the k-th value; TopP keeps min_tokens_to_keep even when p is tiny', () => {
  const input = { inputIds: Int32Array.of(0), rows: 1, length: 1 };
  const s = Float32Array.of(1, 3, 2, 3, 2, 0);
  new TopKLogitsWarper(3).process(input, s); // 3rd largest is 2; both 2s survive
  assert.deepEqual([...s], [-Infinity, 3, 2, 3, 2, -Infinity]);
  const t = Float32Array.of(0, 1, 2, 3);
  new TopPLogitsWarper(0, 2).process(input, t);
  assert.deepEqual([...t], [-Infinity, -Infinity, 2, 3]);
});

test('processors refuse bad settings with the value in the message', () => {
  assert.throws(() => new TemperatureLogitsWarper(0), /temperature must be a strictly positive number, got 0/);
  assert.throws(() => new TopKLogitsWarper(-1), /top_k must be a positive integer, got -1/);
  assert.throws(() => new TopPLogitsWarper(1.5), /top_p must be a number in \[0, 1\], got 1.5/);
  assert.throws(() => new RepetitionPenaltyLogitsProcessor(0), /repetition_penalty .* got 0/);
  assert.throws(() => new NoRepeatNGramLogitsProcessor(0), /no_repeat_ngram_size must be a positive integer, got 0/);
  const a = small();
  assert.throws(() => new MinLengthLogitsProcessor(10, 6).process(a.input, a.scores), /eos_token_id 6 is not a token id of a vocabulary of size 6/);
});
