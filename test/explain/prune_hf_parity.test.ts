// attn's pruned folders against Hugging Face's own prune_heads, run in PyTorch (issue #13 §3). The oracle is
// test/fixtures/pruned/make_fixtures.py: transformers' find_pruneable_heads_and_indices, prune_conv1d_layer,
// prune_linear_layer, GPT2Attention.prune_heads, BertAttention.prune_heads and PreTrainedModel.prune_heads,
// copied from v4.2x–v4.3x-era sources and applied to the same gpt2-tiny and bert-tiny-seqcls checkpoints. It
// wrote the tensors pruning changed and the config.json `pruned_heads` HF writes; nothing here needs Python.
//
// For each model, once (one prune call, heads given out of order) and in two steps (the second asks an
// already-pruned head again and a head above one already gone), attn prunes through its adapter, saves the
// folder with the adapter's save() (as `attn explain prune --save` does, cli/explain.ts), and the test reads
// the folder back from disk:
//   - every tensor the oracle changed is in model.safetensors with the same name, shape and float32 values;
//   - every other tensor is the original checkpoint's, unchanged (c_proj's and output.dense's bias included);
//   - config.json `pruned_heads` is what HF writes (layer keys as strings, heads ascending).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromPretrained } from '../../src/models/pretrained.js';
import { fromPretrainedBert } from '../../src/models/bert_pretrained.js';
import { Tokenizer } from '../../src/tokenizers/index.js';
import { loadSafetensorsFile } from '../../src/io/node.js';
import type { LoadedTensor } from '../../src/io/safetensors.js';
import { GPTExplainer } from '../../src/explain/adapters/gpt.js';
import { BertExplainer } from '../../src/explain/adapters/bert.js';
import type { Encoded, HeadId, Prunable } from '../../src/explain/explainable.js';
import { vocabTxt } from '../pipelines/_folders.js';

const FIX = new URL('../../../test/fixtures/', import.meta.url).pathname;
const PRUNED = join(FIX, 'pruned');

/** heads.json: per model, the prune_heads calls made in Python and the config.json pruned_heads afterwards. */
interface HeadsRecord {
  source: string;
  once: { prune_heads: Record<string, number[]>; pruned_heads: Record<string, number[]> };
  twice: { prune_heads: Array<Record<string, number[]>>; pruned_heads: Record<string, number[]> };
}

const RECORD = JSON.parse(readFileSync(join(PRUNED, 'heads.json'), 'utf8')) as Record<string, HeadsRecord>;

/** A prune_heads argument ({"layer": [heads]}) as attn's head ids, in the same order. */
function headIds(call: Record<string, number[]>): HeadId[] {
  return Object.entries(call).flatMap(([layer, heads]) => heads.map((head) => ({ group: 'self', layer: Number(layer), head })));
}

function floats(t: LoadedTensor, what: string): Float32Array {
  assert.equal(t.dtype, 'F32', what);
  assert.ok(t.data instanceof Float32Array, what);
  return t.data;
}

/**
 * Prune `x` by each call in turn, save the folder, and compare its model.safetensors and config.json with the
 * oracle's file `fixture` and `pruned_heads`, and the tensors it left alone with the `original` checkpoint.
 */
function checkAgainstHF<E extends Encoded>(x: Prunable<E>, calls: ReadonlyArray<Record<string, number[]>>, fixture: string, prunedHeads: Record<string, number[]>, original: string): void {
  let pruned: Prunable<E> = x;
  for (const call of calls) pruned = pruned.prune(headIds(call));
  const hf = loadSafetensorsFile(join(PRUNED, fixture)).tensors;
  const before = loadSafetensorsFile(original).tensors;
  const dir = mkdtempSync(join(tmpdir(), 'attn-prune-hf-'));
  try {
    pruned.save(dir);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(cfg['pruned_heads'], prunedHeads, `${fixture}: config.json pruned_heads`);
    const saved = loadSafetensorsFile(join(dir, 'model.safetensors')).tensors;
    assert.ok(hf.size > 0, `${fixture} has no tensors`);
    for (const [name, want] of hf) {
      const got = saved.get(name);
      assert.ok(got, `${fixture}: attn's folder has no ${name}`);
      assert.deepEqual(got.shape, want.shape, `${fixture}: ${name} shape`);
      assert.deepEqual(floats(got, name), floats(want, name), `${fixture}: ${name} values`);
    }
    let untouched = 0;
    for (const [name, got] of saved) {
      if (hf.has(name)) continue;
      const orig = before.get(name);
      if (!orig) continue; // a name the original checkpoint spells differently (none here carry attention weights)
      assert.deepEqual(got.shape, orig.shape, `${fixture}: ${name} should be unchanged`);
      assert.deepEqual(got.data, orig.data, `${fixture}: ${name} should be unchanged`);
      untouched++;
    }
    // Every checkpoint tensor is either one the oracle changed or one compared unchanged just above.
    assert.equal(untouched + hf.size, before.size, `${fixture}: tensors compared`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const gpt2 = (): GPTExplainer => new GPTExplainer(fromPretrained(join(FIX, 'gpt2-tiny')).model, Tokenizer.gpt2());
const bert = (): BertExplainer => new BertExplainer(fromPretrainedBert(join(FIX, 'bert-family', 'bert-tiny-seqcls')).model, Tokenizer.fromWordPieceVocab(vocabTxt(), { lowercase: true }));

test("GPT-2: pruned in one call, c_attn/c_proj and pruned_heads are transformers' prune_heads", () => {
  const r = RECORD['gpt2-tiny']!;
  checkAgainstHF(gpt2(), [r.once.prune_heads], 'gpt2-tiny-pruned.safetensors', r.once.pruned_heads, join(FIX, 'gpt2-tiny', 'model.safetensors'));
});

test("GPT-2: pruned in two steps (a pruned head asked again, heads above it moved down) as transformers'", () => {
  const r = RECORD['gpt2-tiny']!;
  checkAgainstHF(gpt2(), r.twice.prune_heads, 'gpt2-tiny-pruned-twice.safetensors', r.twice.pruned_heads, join(FIX, 'gpt2-tiny', 'model.safetensors'));
});

test("BERT: pruned in one call, query/key/value/output.dense and pruned_heads are transformers' prune_heads", () => {
  const r = RECORD['bert-tiny-seqcls']!;
  checkAgainstHF(bert(), [r.once.prune_heads], 'bert-tiny-seqcls-pruned.safetensors', r.once.pruned_heads, join(FIX, 'bert-family', 'bert-tiny-seqcls', 'model.safetensors'));
});

test("BERT: pruned in two steps (a pruned head asked again, heads above it moved down) as transformers'", () => {
  const r = RECORD['bert-tiny-seqcls']!;
  checkAgainstHF(bert(), r.twice.prune_heads, 'bert-tiny-seqcls-pruned-twice.safetensors', r.twice.pruned_heads, join(FIX, 'bert-family', 'bert-tiny-seqcls', 'model.safetensors'));
});
