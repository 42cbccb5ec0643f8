// Greedy search: replaying the per-step logits transformers 4.36.2 produced for gpt2-tiny must reproduce its
// token sequences (single prompts, an early EOS, and a left-padded batch with its position ids); on a toy
// model, batched + left-padded generation equals one-prompt-at-a-time generation, and the KV-cache stepper
// equals the no-cache one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, generateAsync } from '../../src/generate/generate.js';
import { lastPositionLogits, leftPad, positionIdsFromMask, sliceColumns, type CausalLMStepper, type StepBatch } from '../../src/generate/model.js';
import { ToyModel, cachedStepper, noCacheStepper, readArrays, readJson, replayStepper } from './helpers.js';

interface GreedyCase {
  prompt: number;
  input_ids: number[][];
  generate_kwargs: Record<string, number | boolean>;
  sequences: number[][];
  scores?: string;
  active_logits_processors?: string[];
}
interface GptFixture {
  greedy: GreedyCase[];
  padded_batch: {
    input_ids: number[][];
    attention_mask: number[][];
    position_ids: number[][];
    greedy: { generate_kwargs: Record<string, number | boolean>; sequences: number[][]; scores: string[] };
  };
}

const gpt = readJson<GptFixture>('gpt2-tiny', 'expected.json');
const arrays = readArrays('gpt2-tiny', 'expected.safetensors');
const V = 1000;

/** transformers' stored scores of a greedy run without processors are the raw logits of every step. */
function stepsOf(name: string): Float32Array[] {
  const a = arrays.get(name)!;
  const [steps, v] = a.shape as [number, number];
  return Array.from({ length: steps }, (_, i) => a.data.slice(i * v, (i + 1) * v));
}

for (const c of gpt.greedy.filter((g) => !g.active_logits_processors)) {
  const kw = c.generate_kwargs;
  test(`gpt2-tiny greedy, prompt ${c.prompt}, eos ${kw.eos_token_id}: replayed logits give transformers' sequence`, () => {
    // The eos = 544 cases share the logits of the default-eos run of the same prompt (no processors either way).
    const source = gpt.greedy.find((g) => g.prompt === c.prompt && g.scores && !g.active_logits_processors)!;
    const stepper = replayStepper(V, stepsOf(source.scores!));
    const out = generate(stepper, c.input_ids, {
      max_new_tokens: kw.max_new_tokens as number,
      eos_token_id: kw.eos_token_id as number,
      pad_token_id: kw.pad_token_id as number,
      output_scores: true,
      output_logprobs: true,
    });
    assert.deepEqual(out.sequences.map((s) => [...s]), c.sequences);
    const generated = c.sequences[0]!.length - c.input_ids[0]!.length;
    assert.equal(stepper.calls, generated, 'one model call per generated token, none after EOS');
    assert.equal(out.finish_reasons![0], c.sequences[0]!.at(-1) === kw.eos_token_id ? 'eos' : 'length');
    // scores (no processors) are the logits themselves; logprobs = log_softmax(logits)[token], by hand here
    const steps = stepsOf(source.scores!);
    out.scores!.forEach((s, i) => assert.deepEqual(s, steps[i]));
    for (let i = 0; i < generated; i++) {
      const l = steps[i]!;
      const tok = c.sequences[0]![c.input_ids[0]!.length + i]!;
      const max = Math.max(...l);
      const lse = max + Math.log(l.reduce((acc, x) => acc + Math.exp(x - max), 0));
      assert.ok(Math.abs(out.logprobs![0]![i]! - (l[tok]! - lse)) < 1e-5, `logprob of step ${i}`);
    }
  });
}

test('gpt2-tiny left-padded batch: position ids from the mask, and transformers\' greedy sequences', () => {
  const pb = gpt.padded_batch;
  const mask = Uint8Array.from(pb.attention_mask.flat());
  assert.deepEqual([...positionIdsFromMask(mask, 2, 9)], pb.position_ids.flat());

  const steps = pb.greedy.scores.map((name) => arrays.get(name)!.data);
  const seen: StepBatch[] = [];
  const inner = replayStepper(V, steps);
  const stepper: CausalLMStepper = { ...inner, forward: (b) => (seen.push(b), inner.forward(b)) };
  const kw = pb.greedy.generate_kwargs;
  const out = generate(stepper, pb.input_ids, {
    attention_mask: pb.attention_mask,
    max_new_tokens: kw.max_new_tokens as number,
    eos_token_id: kw.eos_token_id as number,
    pad_token_id: kw.pad_token_id as number,
  });
  assert.deepEqual(out.sequences.map((s) => [...s]), pb.greedy.sequences);
  // What the model was given: the fixture's ids, mask and positions at prefill, then one new position per step.
  assert.deepEqual([...seen[0]!.positionIds], pb.position_ids.flat());
  assert.deepEqual([...seen[0]!.attentionMask], pb.attention_mask.flat());
  assert.equal(seen[0]!.pastLength, 0);
  const s3 = seen[3]!; // 3 tokens generated: length 12, positions of the newest column 4 + 3 = 7 and 8 + 3 = 11
  assert.equal(s3.length, 12);
  assert.equal(s3.pastLength, 11);
  assert.deepEqual([s3.positionIds[11], s3.positionIds[23]], [7, 11]);
  assert.deepEqual([...s3.attentionMask.subarray(0, 12)], [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
});

test('sliceColumns takes the new columns of (rows, S); lastPositionLogits the last position of (rows, T, V)', () => {
  assert.deepEqual([...sliceColumns(Int32Array.of(1, 2, 3, 4, 5, 6), 2, 3, 1)], [2, 3, 5, 6]);
  // rows 2, T 2, V 3: row 0 = [[0,1,2],[3,4,5]], row 1 = [[6,7,8],[9,10,11]]
  assert.deepEqual([...lastPositionLogits(Float32Array.from({ length: 12 }, (_, i) => i), 2, 2, 3)], [3, 4, 5, 9, 10, 11]);
  assert.throws(() => lastPositionLogits(new Float32Array(5), 2, 2, 3), /got 5 values, expected rows × T × V = 2 × 2 × 3 = 12/);
});

test('leftPad pads on the left with the pad id and marks padding 0', () => {
  const p = leftPad([[5, 6, 7], [8]], 0);
  assert.deepEqual([...p.inputIds], [5, 6, 7, 0, 0, 8]);
  assert.deepEqual([...p.attentionMask], [1, 1, 1, 0, 0, 1]);
  assert.equal(p.length, 3);
});

// -----------------------------------------------------------------------------------------------------------
// Toy model: the oracle is a plain loop of argmax over ToyModel.logitsFor, one prompt at a time, no padding.

function greedyByHand(model: ToyModel, prompt: number[], steps: number, eos: number | null): number[] {
  const ids = [...prompt];
  let h = 0;
  prompt.forEach((id, t) => (h += ToyModel.term(id, t)));
  for (let s = 0; s < steps; s++) {
    const l = model.logitsFor(ids[ids.length - 1]!, ids.length - 1, h);
    let best = 0;
    for (let v = 1; v < l.length; v++) if (l[v]! > l[best]!) best = v;
    ids.push(best);
    h += ToyModel.term(best, ids.length - 1);
    if (best === eos) break;
  }
  return ids;
}

test('batched left-padded greedy equals each prompt alone (mask and positions are honoured), cache or not', () => {
  const model = new ToyModel(11, 7);
  const prompts = [[3, 1, 4, 1, 5], [9], [2, 6]];
  const pad = 10;
  for (const stepper of [cachedStepper(model), noCacheStepper(model)]) {
    const out = generate(stepper, prompts, { max_new_tokens: 12, pad_token_id: pad });
    prompts.forEach((p, r) => {
      const alone = greedyByHand(model, p, 12, null);
      const row = [...out.sequences[r]!];
      assert.deepEqual(row.slice(5 - p.length), alone, `prompt ${r}`);
      assert.deepEqual(row.slice(0, 5 - p.length), new Array<number>(5 - p.length).fill(pad), 'left padding kept');
    });
  }
});

test('the cached stepper computes only new positions; the no-cache one recomputes everything', () => {
  const prompts = [[1, 2, 3, 4]];
  const m1 = new ToyModel(8, 3);
  const m2 = new ToyModel(8, 3);
  const a = generate(cachedStepper(m1), prompts, { max_new_tokens: 10 });
  const b = generate(noCacheStepper(m2), prompts, { max_new_tokens: 10 });
  assert.deepEqual(a.sequences.map((s) => [...s]), b.sequences.map((s) => [...s]));
  assert.equal(m1.positionsComputed, 4 + 9); // prefill 4, then 9 single steps
  assert.equal(m2.positionsComputed, 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13);
});

test('EOS: rows finish independently, then get pad_token_id; the loop stops when all are done', () => {
  const model = new ToyModel(6, 4, true, true, 0.7);
  const prompts = [[0, 1], [2, 3], [4, 0]];
  const eos = 3; // with this model the rows emit it after 2, 1 and 2 tokens (checked below by the oracle)
  const stepper = cachedStepper(model);
  let calls = 0;
  const counted: CausalLMStepper = { ...stepper, forward: (b) => (calls++, stepper.forward(b)) };
  const out = generate(counted, prompts, { max_new_tokens: 30, eos_token_id: eos, pad_token_id: 5, output_logprobs: true });
  const lens: number[] = [];
  prompts.forEach((p, r) => {
    const alone = greedyByHand(model, p, 30, eos);
    const row = [...out.sequences[r]!];
    assert.deepEqual(row.slice(0, alone.length), alone);
    assert.ok(row.slice(alone.length).every((t) => t === 5), 'pad after EOS');
    assert.equal(out.finish_reasons![r], alone.at(-1) === eos ? 'eos' : 'length');
    lens.push(alone.length);
    // logprobs stop at EOS: 0 afterwards
    assert.ok([...out.logprobs![r]!].slice(alone.length - 2).every((x) => x === 0));
    assert.ok([...out.logprobs![r]!].slice(0, alone.length - 2).every((x) => x < 0));
  });
  assert.deepEqual(lens, [4, 3, 4], 'the rows finish at different steps');
  assert.equal(out.sequences[0]!.length, Math.max(...lens));
  assert.equal(calls, Math.max(...lens) - 2);
});

test('several EOS ids; min_new_tokens and min_length forbid EOS until then', () => {
  // Bigram: from any token, token 0 is most likely, then 1, then 2.
  const V = 4;
  const stepper: CausalLMStepper = {
    vocabSize: V,
    forward: (b) => Float32Array.from({ length: b.rows * V }, (_, i) => [3, 2, 1, 0][i % V]!),
    reorderCache() {},
  };
  const a = generate(stepper, [[3, 3]], { max_new_tokens: 5, eos_token_id: [1, 0] });
  assert.deepEqual([...a.sequences[0]!], [3, 3, 0]);
  const b = generate(stepper, [[3, 3]], { max_new_tokens: 5, eos_token_id: [1, 0], min_new_tokens: 2 });
  assert.deepEqual([...b.sequences[0]!], [3, 3, 2, 2, 0]);
  const c = generate(stepper, [[3, 3]], { max_new_tokens: 5, eos_token_id: [0], min_length: 4 });
  assert.deepEqual([...c.sequences[0]!], [3, 3, 1, 1, 0]);
  const d = generate(stepper, [[3, 3]], { max_length: 4 });
  assert.deepEqual([...d.sequences[0]!], [3, 3, 0, 0], 'max_length counts the prompt');
  const e = generate(stepper, [[3, 3]], {});
  assert.equal(e.sequences[0]!.length, 20, 'default max_length 20, as transformers');
});

test('custom logits processors run after the built-in ones', () => {
  const model = new ToyModel(7, 4);
  const plain = generate(noCacheStepper(model), [[1, 2]], { max_new_tokens: 6 });
  const banned = plain.sequences[0]![2]!; // the first token greedy picks without the processor
  const seenLengths: number[] = [];
  const ban = {
    name: 'Ban',
    process(input: { rows: number; length: number }, scores: Float32Array) {
      seenLengths.push(input.length);
      for (let r = 0; r < input.rows; r++) scores[r * 7 + banned] = -Infinity;
    },
  };
  const out = generate(noCacheStepper(model), [[1, 2]], { max_new_tokens: 6, logits_processor: [ban] });
  assert.ok(![...out.sequences[0]!.subarray(2)].includes(banned));
  assert.deepEqual(seenLengths, [2, 3, 4, 5, 6, 7]);
});

test('an empty prompt starts from bos_token_id (transformers without input ids)', () => {
  const model = new ToyModel(7, 4);
  const a = generate(noCacheStepper(model), [[]], { max_new_tokens: 4, bos_token_id: 6 });
  const b = generate(noCacheStepper(model), [[6]], { max_new_tokens: 4 });
  assert.deepEqual([...a.sequences[0]!], [...b.sequences[0]!]);
  assert.throws(() => generate(noCacheStepper(model), [[]], { max_new_tokens: 4 }), /a prompt is empty and there is no bos_token_id/);
});

test('generateAsync accepts a stepper returning Promises; generate refuses it with a message', async () => {
  const model = new ToyModel(7, 4);
  const sync = noCacheStepper(model);
  const asyncStepper: CausalLMStepper = { vocabSize: 7, forward: async (b) => sync.forward(b), reorderCache() {} };
  const a = await generateAsync(asyncStepper, [[1, 2, 3]], { max_new_tokens: 6 });
  const b = generate(noCacheStepper(model), [[1, 2, 3]], { max_new_tokens: 6 });
  assert.deepEqual(a.sequences.map((s) => [...s]), b.sequences.map((s) => [...s]));
  assert.throws(() => generate(asyncStepper, [[1]], { max_new_tokens: 2 }), /returned a Promise; use generateAsync/);
});

test('bad inputs are errors that name the value', () => {
  const s = noCacheStepper(new ToyModel(5, 1));
  assert.throws(() => generate(s, [], {}), /non-empty array of prompts/);
  assert.throws(() => generate(s, [[1, 7]], {}), /prompt 0 has token id 7 at position 1, outside the vocabulary of size 5/);
  assert.throws(() => generate(s, [[1, 2]], { max_new_tokens: 0 }), /max_new_tokens must be an integer >= 1, got 0/);
  assert.throws(() => generate(s, [[1, 2]], { max_tokens: 3 } as never), /unknown option 'max_tokens'/);
  assert.throws(() => generate(s, [[1, 2, 3]], { max_length: 3 }), /prompt already has 3 tokens and max_length is 3/);
  assert.throws(() => generate(s, [[1, 2], [3, 4]], { attention_mask: [[1, 0], [1, 1]] }), /prompt 0 is right-padded \(mask 0 at position 1/);
  assert.throws(() => generate(s, [[1, 2], [3]], {}), /different lengths \[2, 1\] need pad_token_id/);
  assert.throws(() => generate(s, [[1, 2], [3, 4]], { attention_mask: [[0, 0], [1, 1]] }), /prompt 0 has no real token/);
  assert.throws(() => generate(s, [[1, 2]], { eos_token_id: 9 }), /eos_token_id 9 is not a token id of a vocabulary of size 5/);
  assert.throws(() => generate(s, [[1, 2]], { num_return_sequences: 2 }), /greedy search returns one sequence per prompt/);
  assert.throws(() => generate(s, [[1, 4, 2]], { pad_token_id: 4, eos_token_id: 0 }), /holds pad_token_id 4 at position 1 after real tokens/);
  const short: CausalLMStepper = { vocabSize: 5, forward: () => new Float32Array(3), reorderCache() {} };
  assert.throws(() => generate(short, [[1]], {}), /returned 3 logits, expected rows × V = 1 × 5 = 5/);
});
