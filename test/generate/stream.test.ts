// Streaming and stop strings on a byte-level "model" that spells out fixed UTF-8 text one byte per token
// (so multi-byte characters are split across tokens, as with GPT-2's byte-level BPE). The oracle is the
// platform's TextDecoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, streamText } from '../../src/generate/generate.js';
import type { CausalLMStepper, StepBatch } from '../../src/generate/model.js';
import { IncrementalDecoder, TextStreamer } from '../../src/generate/stream.js';

const V = 257; // bytes 0..255, and 256 = end of text
const EOT = 256;
const decode = (ids: number[]) => new TextDecoder().decode(Uint8Array.from(ids.filter((i) => i < 256)));

/** Row r spells texts[r] after its prompt (one byte per step), then EOT forever. */
function speller(texts: string[], promptLength: number): CausalLMStepper & { calls: number } {
  const bytes = texts.map((t) => [...new TextEncoder().encode(t)]);
  const self = {
    vocabSize: V,
    calls: 0,
    forward(b: { rows: number; length: number }): Float32Array {
      self.calls++;
      const out = new Float32Array(b.rows * V);
      const step = b.length - promptLength;
      for (let r = 0; r < b.rows; r++) out[r * V + (bytes[r]![step] ?? EOT)] = 10;
      return out;
    },
    reorderCache() {},
  };
  return self;
}

const TEXT = 'héllo 👋 wörld — ¿qué tal? 漢字';

test('streamText yields whole characters only, and the chunks add up to the decoded text', async () => {
  const chunks: string[] = [];
  const it = streamText(speller([TEXT], 1), [[65]], { decode, max_new_tokens: 100, eos_token_id: EOT });
  let r = await it.next();
  while (!r.done) {
    assert.equal(r.value.row, 0);
    chunks.push(r.value.text);
    r = await it.next();
  }
  const out = r.value;
  assert.equal(chunks.join(''), TEXT);
  assert.ok(chunks.every((c) => !c.includes('\uFFFD')), 'no replacement characters');
  assert.ok(chunks.includes('👋'), 'the 4-byte emoji comes out in one piece');
  assert.ok(chunks.length > 10, 'text arrives step by step, not at the end');
  assert.equal(decode([...out.sequences[0]!.subarray(1)]), TEXT);
  assert.equal(out.finish_reasons![0], 'eos');
});

test('for await over streamText, with a batch of two rows', async () => {
  const texts = ['añb', 'x€y'];
  const got = ['', ''];
  for await (const c of streamText(speller(texts, 1), [[0], [0]], { decode, max_new_tokens: 20, eos_token_id: EOT })) got[c.row] += c.text;
  assert.deepEqual(got, texts);
});

test('TextStreamer with generate(): callback receives the same text; IncrementalDecoder flushes incomplete bytes', () => {
  let text = '';
  const streamer = new TextStreamer(decode, (_row, t) => (text += t));
  generate(speller([TEXT], 1), [[65]], { max_new_tokens: 100, eos_token_id: EOT, streamer });
  assert.equal(text, TEXT);
  const d = new IncrementalDecoder(decode);
  assert.equal(d.push(0x68), 'h');
  assert.equal(d.push(0xe2), '', 'first byte of a 3-byte character is held back');
  assert.equal(d.push(0x82), '');
  assert.equal(d.push(0xac), '€');
  assert.equal(d.push(0xf0), '');
  assert.equal(d.flush(), '\uFFFD', 'bytes that never completed come out at the end');
});

test('stop strings end a row once its generated text contains one; other rows go on; tokens are kept', () => {
  const texts = ['one two STOP three four', 'no stop word here at all'];
  const s = speller(texts, 2);
  const out = generate(s, [[1, 2], [3, 4]], { max_new_tokens: 40, eos_token_id: EOT, stop_strings: ['STOP', 'xyz'], decode });
  assert.deepEqual(out.finish_reasons, ['stop_string', 'eos']);
  const row0 = [...out.sequences[0]!.subarray(2)];
  const cut = row0.indexOf(EOT);
  assert.equal(decode(row0.slice(0, cut)), 'one two STOP', 'generation of row 0 ends right after the stop string');
  assert.ok(row0.slice(cut).every((t) => t === EOT), 'then padding (pad = eos)');
  assert.equal(decode([...out.sequences[1]!.subarray(2)]), texts[1]);
  assert.throws(() => generate(s, [[1, 2]], { max_new_tokens: 5, stop_strings: ['a'] }), /stop_strings need a decode function/);
  assert.throws(() => generate(s, [[1, 2]], { max_new_tokens: 5, stop_strings: ['a'], decode, num_beams: 2 }), /stop_strings work with greedy search and sampling/);
});

test('a stop string split across multi-byte characters is still found', () => {
  const s = speller(['abc 👋👋 def'], 1);
  const out = generate(s, [[0]], { max_new_tokens: 40, eos_token_id: EOT, stop_strings: ['👋👋'], decode });
  assert.equal(out.finish_reasons![0], 'stop_string');
  assert.equal(s.calls, 4 + 8, 'stopped at the last byte of the second emoji');
});

test("streamText with the tokenizers' StreamDecoder as the text source gives the same text", async () => {
  const { StreamDecoder } = await import('../../src/tokenizers/stream_decoder.js');
  const bytes = { decodeBytes: (ids: ArrayLike<number>) => Uint8Array.from(Array.from(ids).filter((i) => i < 256)) };
  let text = '';
  for await (const c of streamText(speller([TEXT], 1), [[65]], { text: { newDecoder: () => new StreamDecoder(bytes) }, max_new_tokens: 100, eos_token_id: EOT })) {
    assert.ok(!c.text.includes('\uFFFD'));
    text += c.text;
  }
  assert.equal(text, TEXT);
  await assert.rejects(async () => {
    for await (const _ of streamText(speller([TEXT], 1), [[65]], { max_new_tokens: 3 })) void _;
  }, /streamText: give `decode`/);
});

test('every way a generation ends tells the stepper once (finish): done, a step that throws, a stream left early', async () => {
  const counted = (fail = false): CausalLMStepper & { resets: number; finishes: number; calls: number } => {
    const s = speller([TEXT], 1);
    const original = s.forward;
    const inner = (b: StepBatch): Float32Array => original.call(s, b) as Float32Array; // speller's forward is synchronous
    return Object.assign(s, {
      resets: 0,
      finishes: 0,
      reset() {
        this.resets++;
      },
      finish() {
        this.finishes++;
      },
      forward(b: StepBatch): Float32Array {
        if (fail && s.calls === 3) throw new Error('step failed');
        return inner(b);
      },
    });
  };
  const done = counted();
  generate(done, [[65]], { max_new_tokens: 5 });
  assert.deepEqual([done.resets, done.finishes], [1, 1]);
  const broken = counted(true);
  assert.throws(() => generate(broken, [[65]], { max_new_tokens: 5 }), /step failed/);
  assert.equal(broken.finishes, 1, 'after a failed step');
  const left = counted();
  for await (const c of streamText(left, [[65]], { decode, max_new_tokens: 100, eos_token_id: EOT })) {
    void c;
    break; // the caller stops reading after the first chunk
  }
  assert.ok(left.calls < TEXT.length, `the stream stopped early (${left.calls} steps)`);
  assert.equal(left.finishes, 1, 'a stream left early');
});
