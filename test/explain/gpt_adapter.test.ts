// The GPT explain adapter against outside oracles: its maps are transformers' attentions on the gpt2-tiny
// fixture; a head mask of 0 equals the model with that head's rows of c_proj zeroed (its contribution removed
// by editing weights, not by the mask); the physically pruned model equals the masked one and its tensors are
// Hugging Face's prune_heads index arithmetic worked by hand; a pruned folder round-trips; and ∂L/∂ξ equals
// finite differences of the loss in the mask. Runs on every backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend } from '../_backends.js';
import { noGrad, tensor, type Tensor } from '../../src/tensor/index.js';
import { fromPretrained } from '../../src/models/pretrained.js';
import { gptConfig, GPT } from '../../src/models/gpt.js';
import { Tokenizer } from '../../src/tokenizers/index.js';
import { loadSafetensorsFile } from '../../src/io/node.js';
import { GPTExplainer, pruneGPT, gptLanguageModelObjective, type GPTEncoded } from '../../src/explain/adapters/gpt.js';
import { maskWithout, parseHeads } from '../../src/explain/explainable.js';
import { headImportance } from '../../src/explain/importance.js';
import { pruneableHeadsAndIndices } from '../../src/explain/hf_prune.js';

const FIX = new URL('../../../test/fixtures/', import.meta.url).pathname;
const IDS = [547, 635, 425, 964, 561, 416, 967, 255]; // gpt2-tiny forward case 0

function loadTiny(): GPTExplainer {
  return new GPTExplainer(fromPretrained(join(FIX, 'gpt2-tiny')).model, Tokenizer.gpt2());
}

/** An encoded input for fixed ids (the fixture's vocabulary is not a real tokenizer's). */
function encoded(ids: number[]): GPTEncoded {
  return { ids: Int32Array.from(ids), tokens: ids.map((id) => ({ id, text: String(id), special: false, punct: false })), notes: [], start: 0, total: ids.length };
}

function logits(model: GPT, ids: number[], opts: Parameters<GPT['forward']>[1] = {}): Float32Array {
  return noGrad(() => model.forward(tensor(Int32Array.from(ids), [1, ids.length], { dtype: 'int32' }), opts).logits.toFloat32Array());
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

forEachBackend((backend) => {
  test(`[${backend}] maps are transformers' attentions (gpt2-tiny fixture) and the model's own`, () => {
    const x = loadTiny();
    const groups = x.attentions(encoded(IDS));
    assert.equal(groups.length, 1);
    const g = groups[0]!;
    assert.equal(g.kind, 'self');
    assert.equal(g.causal, true);
    const hf = loadSafetensorsFile(join(FIX, 'gpt2-tiny', 'expected.safetensors')).tensors;
    g.layers.forEach((l, i) => {
      assert.equal(l.heads, 4);
      assert.deepEqual(l.headIds, [0, 1, 2, 3]);
      const d = maxDiff(l.data, hf.get(`forward.0.attentions.${i}`)!.data as Float32Array);
      assert.ok(d < 1e-5, `layer ${i}: maps differ from transformers by ${d}`);
    });
    const own = noGrad(() => x.model.forward(tensor(Int32Array.from(IDS), [1, IDS.length], { dtype: 'int32' }), { outputAttentions: true }).attentions!);
    g.layers.forEach((l, i) => assert.deepEqual(l.data, own[i]!.toFloat32Array()));
  });

  test(`[${backend}] a head mask of 0 equals zeroing the head's rows of c_proj`, () => {
    const x = loadTiny();
    const removed = parseHeads('0:1, 1:2, 1:3', x.heads());
    const masked = logits(x.model, IDS, { headMask: maskWithout(x.heads(), removed).self! });
    // The oracle: the same model with the heads' inputs to c_proj (rows h·hs .. (h+1)·hs) set to 0.
    const edited = fromPretrained(join(FIX, 'gpt2-tiny')).model;
    const hs = 8;
    for (const { layer, head } of removed) {
      const w = edited.h[layer]!.attn.c_proj.weight;
      const data = w.toFloat32Array().slice();
      data.fill(0, head * hs * 32, (head + 1) * hs * 32); // (A, C) in_out layout: row r is input dim r
      w.copyFrom(data);
    }
    const zeroed = logits(edited, IDS);
    const d = maxDiff(masked, zeroed);
    assert.ok(d < 1e-5, `masked vs zeroed heads: ${d}`);
    assert.ok(maxDiff(masked, logits(x.model, IDS)) > 1e-3, 'the mask must change the output');
    // The returned maps are probabilities × mask (HF): the masked heads' maps are 0.
    const maps = x.attentions(encoded(IDS), { headMask: maskWithout(x.heads(), removed) })[0]!;
    const T = IDS.length;
    assert.ok(maps.layers[0]!.data.subarray(1 * T * T, 2 * T * T).every((v) => v === 0));
    assert.ok(maps.layers[0]!.data.subarray(0, T * T).some((v) => v > 0));
  });

  test(`[${backend}] head mask forms: (nh), (n_layer, nh), per layer; wrong sizes are errors naming the layer`, () => {
    const { model } = fromPretrained(join(FIX, 'gpt2-tiny'));
    const m = Float32Array.of(1, 0, 1, 0.5);
    const a = logits(model, IDS, { headMask: m });
    const b = logits(model, IDS, { headMask: tensor(Float32Array.from([...m, ...m]), [2, 4]) });
    const c = logits(model, IDS, { headMask: [m, m] });
    assert.deepEqual(a, b);
    assert.deepEqual(a, c);
    assert.deepEqual(logits(model, IDS, { headMask: [null, null] }), logits(model, IDS));
    assert.throws(() => logits(model, IDS, { headMask: new Float32Array(3) }), /headMask must be \(nh\) = \[4\] or \(n_layer, nh\) = \[2, 4\], got 3 values/);
    assert.throws(() => logits(model, IDS, { headMask: [m] }), /1 entries, expected one per layer \(2\)/);
    assert.throws(() => logits(model, IDS, { headMask: [m, new Float32Array(5)] }), /layer 1 must be \(4\)/);
  });

  test(`[${backend}] pruned = masked: logits and the surviving heads' maps`, () => {
    const x = loadTiny();
    const removed = parseHeads('0:1,1:0,1:2', x.heads());
    const pruned = x.prune(removed);
    assert.deepEqual(pruned.model.config.pruned_heads, { 0: [1], 1: [0, 2] });
    assert.deepEqual(pruned.heads()[0]!.layers, [[0, 2, 3], [1, 3]]);
    const mask = maskWithout(x.heads(), removed);
    const d = maxDiff(logits(pruned.model, IDS), logits(x.model, IDS, { headMask: mask.self! }));
    assert.ok(d < 1e-5, `pruned vs masked logits: ${d}`);
    const full = x.attentions(encoded(IDS), { headMask: mask })[0]!; // layer 1 reads layer 0's masked output
    const small = pruned.attentions(encoded(IDS))[0]!;
    const T = IDS.length;
    small.layers.forEach((l, i) => {
      l.headIds.forEach((h, p) => {
        const dd = maxDiff(l.data.subarray(p * T * T, (p + 1) * T * T), full.layers[i]!.data.subarray(h * T * T, (h + 1) * T * T));
        assert.ok(dd < 1e-5, `layer ${i} head ${h}: ${dd}`);
      });
    });
  });

  test(`[${backend}] a pruned model decodes with the KV cache (layers of different widths) as without it`, () => {
    const pruned = pruneGPT(fromPretrained(join(FIX, 'gpt2-tiny')).model, { 0: [0, 1, 3], 1: [2] });
    const whole = logits(pruned, IDS); // (1, T, V)
    const cache = pruned.newCache();
    const V = pruned.config.vocab_size;
    const first = logits(pruned, IDS.slice(0, 5), { cache });
    assert.ok(maxDiff(first, whole.subarray(0, 5 * V)) < 1e-5);
    for (let t = 5; t < IDS.length; t++) {
      const step = logits(pruned, [IDS[t]!], { cache }); // one new token against the cached 0..t−1
      const d = maxDiff(step, whole.subarray(t * V, (t + 1) * V));
      assert.ok(d < 1e-5, `position ${t}: cached vs whole-sequence logits differ by ${d}`);
    }
  });
});

test("HF's find_pruneable_heads_and_indices, worked by hand", () => {
  // 3 heads of size 2: removing head 1 keeps dims 0,1 (head 0) and 4,5 (head 2).
  assert.deepEqual([...pruneableHeadsAndIndices([1], 3, 2, new Set()).index], [0, 1, 4, 5]);
  // Head 0 already gone: the layer has 2 heads (original 1 and 2); removing original 2 = position 1 → keep 0,1.
  const r = pruneableHeadsAndIndices([2, 0], 2, 2, new Set([0]));
  assert.deepEqual([...r.heads], [2]);
  assert.deepEqual([...r.index], [0, 1]);
});

test('pruned tensors are the HF index_select of the originals; two steps = one; folder round trip', () => {
  const { model } = fromPretrained(join(FIX, 'gpt2-tiny'));
  const C = 32;
  const once = pruneGPT(model, { 0: [0, 2], 1: [3] });
  const twice = pruneGPT(pruneGPT(model, { 0: [2] }), { 0: [0, 2], 1: [3] });
  const p1 = new Map(once.namedParameters());
  for (const [name, p] of twice.namedParameters()) assert.deepEqual(p.toFloat32Array(), p1.get(name)!.toFloat32Array(), name);
  assert.deepEqual(twice.config.pruned_heads, { 0: [0, 2], 1: [3] });
  // Layer 0 keeps original heads 1 and 3: dims 8..15 and 24..31 of each of q, k, v (columns of c_attn, in_out).
  const keep = [...Array.from({ length: 8 }, (_, i) => 8 + i), ...Array.from({ length: 8 }, (_, i) => 24 + i)];
  const cols = [0, 1, 2].flatMap((j) => keep.map((c) => c + j * C));
  const src = model.h[0]!.attn.c_attn.weight.toFloat32Array();
  const want = new Float32Array(C * cols.length);
  for (let r = 0; r < C; r++) cols.forEach((c, j) => (want[r * cols.length + j] = src[r * 3 * C + c]!));
  assert.deepEqual(once.h[0]!.attn.c_attn.weight.shape, [32, 48]);
  assert.deepEqual(once.h[0]!.attn.c_attn.weight.toFloat32Array(), want);
  const biasSrc = model.h[0]!.attn.c_attn.bias!.toFloat32Array();
  assert.deepEqual(once.h[0]!.attn.c_attn.bias!.toFloat32Array(), Float32Array.from(cols.map((c) => biasSrc[c]!)));
  const proj = model.h[0]!.attn.c_proj.weight.toFloat32Array();
  assert.deepEqual(once.h[0]!.attn.c_proj.weight.toFloat32Array(), Float32Array.from(keep.flatMap((r) => Array.from(proj.subarray(r * C, (r + 1) * C)))));
  assert.deepEqual(once.h[0]!.attn.c_proj.bias!.toFloat32Array(), model.h[0]!.attn.c_proj.bias!.toFloat32Array());

  const dir = mkdtempSync(join(tmpdir(), 'attn-pruned-'));
  try {
    new GPTExplainer(once, Tokenizer.gpt2()).save(join(dir, 'm'));
    const cfg = JSON.parse(readFileSync(join(dir, 'm', 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(cfg['pruned_heads'], { 0: [0, 2], 1: [3] });
    assert.equal(cfg['n_head'], 4);
    const st = loadSafetensorsFile(join(dir, 'm', 'model.safetensors')).tensors;
    assert.deepEqual(st.get('transformer.h.0.attn.c_attn.weight')!.shape, [32, 48]);
    assert.deepEqual(st.get('transformer.h.0.attn.c_proj.weight')!.shape, [16, 32]);
    assert.deepEqual(st.get('transformer.h.1.attn.c_attn.weight')!.shape, [32, 72]);
    const back = fromPretrained(join(dir, 'm'));
    assert.deepEqual(logits(back.model, IDS), logits(once, IDS));
    // An unpruned folder still has no pruned_heads key (save_pretrained leaves the default {} out).
    new GPTExplainer(model, Tokenizer.gpt2()).save(join(dir, 'full'));
    assert.ok(!('pruned_heads' in (JSON.parse(readFileSync(join(dir, 'full', 'config.json'), 'utf8')) as object)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad pruned_heads and head names are clear errors', () => {
  assert.throws(() => gptConfig({ preset: 'tiny', vocab_size: 10, pruned_heads: { 0: [0, 1] } }), /removes all 2 heads of layer 0/);
  assert.throws(() => gptConfig({ preset: 'tiny', vocab_size: 10, pruned_heads: { 5: [0] } }), /layer "5" is not in 0..1/);
  assert.throws(() => gptConfig({ preset: 'tiny', vocab_size: 10, pruned_heads: { 0: [7] } }), /heads in 0..1/);
  const x = loadTiny();
  assert.throws(() => parseHeads('2:0', x.heads()), /layer must be in 0..1/);
  assert.throws(() => parseHeads('0:4', x.heads()), /head must be in 0..3/);
  assert.throws(() => parseHeads('0-1', x.heads()), /must be LAYER:HEAD/);
  assert.throws(() => parseHeads('cross:0:1', x.heads()), /no 'cross' heads/);
  const p = x.prune(parseHeads('0:1', x.heads()));
  assert.throws(() => parseHeads('0:1', p.heads()), /was pruned already; the layer has heads 0, 2, 3/);
});

test('head importance: ∂L/∂ξ equals finite differences of the loss in the mask', () => {
  const x = loadTiny();
  const stream = Int32Array.from([...IDS, 12, 99, 700, 3, 41, 8, 512, 77]);
  const obj = gptLanguageModelObjective(x, { importance: stream, evaluation: stream, evaluationBytes: 64 }, { blockSize: 15, batchSize: 1 });
  assert.equal(obj.batches, 1);
  const imp = headImportance(x.heads(), obj, { normalizeLayers: false });
  const b = { x: tensor(stream.subarray(0, 15), [1, 15], { dtype: 'int32' }), y: tensor(stream.subarray(1, 16), [1, 15], { dtype: 'int32' }) };
  const loss = (mask: Float32Array[]): number => noGrad(() => (x.model.forward(b.x, { targets: b.y, headMask: mask }).loss as Tensor).item());
  const eps = 1e-2;
  for (const h of imp.heads) {
    const at = (v: number) => [0, 1].map((l) => Float32Array.from([0, 1, 2, 3], (hh) => (l === h.layer && hh === h.head ? v : 1)));
    const fd = (loss(at(1 + eps)) - loss(at(1 - eps))) / (2 * eps);
    assert.ok(Math.abs(h.raw - Math.abs(fd)) < 2e-3 + 0.02 * Math.abs(fd), `layer ${h.layer} head ${h.head}: |∂L/∂ξ| ${h.raw} vs finite differences ${Math.abs(fd)}`);
  }
  // Normalised per layer: each layer's scores have unit ℓ2 norm.
  const norm = headImportance(x.heads(), obj);
  for (const l of [0, 1]) {
    const s = norm.heads.filter((h) => h.layer === l).reduce((a, h) => a + h.score * h.score, 0);
    assert.ok(Math.abs(s - 1) < 1e-9, `layer ${l}: Σ score² = ${s}`);
  }
});

test('windows: a text longer than the context is explained in a window, and says so', () => {
  const model = new GPT(gptConfig({ preset: 'tiny', vocab_size: 50257, n_positions: 16, n_embd: 16, n_layer: 1 }));
  const x = new GPTExplainer(model, Tokenizer.gpt2());
  const text = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty';
  const e = x.encode({ text });
  assert.equal(e.ids.length, 16);
  assert.equal(e.total, 20);
  assert.match(e.notes[0]!, /the text has 20 tokens; explaining tokens 0..15 \(the model's context is 16 tokens\)/);
  const w = x.encode({ text }, { start: 10, length: 8 });
  assert.equal(w.ids.length, 8);
  assert.equal(w.tokens[0]!.text, '␣eleven');
  assert.throws(() => x.encode({ text }, { start: 25 }), /outside the text's 20 tokens/);
  assert.throws(() => x.encode({ text }, { length: 17 }), /longer than the model's context \(16 tokens\)/);
  assert.throws(() => x.encode({ text, pair: 'b' }), /a GPT reads one text/);
  assert.equal(x.attentions(w)[0]!.layers[0]!.data.length, 2 * 8 * 8);
  // A long context: 256 tokens by default (the maps grow with the square), up to the context when asked.
  const wide = new GPTExplainer(new GPT(gptConfig({ preset: 'tiny', vocab_size: 50257, n_positions: 400, n_embd: 16, n_layer: 1 })), Tokenizer.gpt2());
  const long = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
  const d = wide.encode({ text: long });
  assert.equal(d.ids.length, 256);
  assert.ok(d.total > 300, `${d.total} tokens`);
  assert.match(d.notes[0]!, /explaining tokens 0\.\.255 \(256 tokens by default: .*--window takes up to the model's context, 400\)/);
  assert.equal(wide.encode({ text: long }, { length: 400 }).ids.length, 400);
});
