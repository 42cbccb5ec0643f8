// Reading a model folder never renames or deletes anything: `attn generate` may read a folder that
// `attn train` is checkpointing at that very moment, and only the writer may tidy up after itself. A reader
// that arrives while the writer is between its two renames (or after the writer was killed there) still loads
// a complete model: the new one, where it waits beside the folder.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { fromPretrained, savePretrained } from '../../src/models/pretrained.js';
import { Rng } from '../../src/tensor/index.js';

test('fromPretrained reads the complete new folder of an interrupted swap and changes nothing on disk', () => {
  const root = mkdtempSync(join(tmpdir(), 'attn-reader-'));
  try {
    const cfg = gptConfig({ preset: 'tiny', vocab_size: 40, n_positions: 16, n_embd: 16, n_head: 2, n_layer: 1 });
    const oldModel = new GPT(cfg, new Rng(1));
    const newModel = new GPT(cfg, new Rng(2));
    const dir = join(root, 'ckpt');
    // The state a writer killed between its two renames leaves: DIR.old-ID (old) and DIR.tmp-ID (new, complete).
    savePretrained(oldModel, join(root, 'a'));
    savePretrained(newModel, join(root, 'b'));
    renameSync(join(root, 'a'), `${dir}.old-1-aa`);
    renameSync(join(root, 'b'), `${dir}.tmp-1-aa`);
    const before = readdirSync(root).sort();
    const loaded = fromPretrained(dir);
    assert.deepEqual(readdirSync(root).sort(), before, 'the reader renamed or deleted something');
    const want = newModel.wte.weight.toFloat32Array();
    const got = loaded.model.wte.weight.toFloat32Array();
    assert.ok(got.every((x, i) => x === want[i]), 'loaded the new model');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
