// An opus-mt folder as published (config.json, model.safetensors, source.spm, target.spm, vocab.json; no
// tokenizer.json) takes text: attn generate --source, attn pipeline translation and attn finetune --task
// translation, run as a user runs them. The folder is marian-tiny's weights (vocab_size 500) with the
// marian-tok tokenizer files (423 ids); the source ids must be the ones transformers' MarianTokenizer gives
// (test/fixtures/marian-tok/expected.json), so generating from text equals generating from those ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const FIX = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

function attn(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', NO_COLOR: '1' }, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('an opus-mt layout folder takes text: generate --source, pipeline translation, finetune --task translation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-marian-text-'));
  try {
    const opus = join(dir, 'opus');
    mkdirSync(opus);
    for (const f of ['config.json', 'model.safetensors', 'generation_config.json']) copyFileSync(join(FIX, 'marian-tiny', f), join(opus, f));
    for (const f of ['source.spm', 'target.spm', 'vocab.json', 'tokenizer_config.json', 'special_tokens_map.json']) copyFileSync(join(FIX, 'marian-tok', f), join(opus, f));
    const expected = JSON.parse(readFileSync(join(FIX, 'marian-tok', 'expected.json'), 'utf8')) as { encodings: Array<{ text: string; ids: number[] }> };
    const { text, ids } = expected.encodings.find((e) => e.text.startsWith('Alice was beginning'))!;

    const fromText = attn('generate', '--model', opus, '--source', text, '--max-new-tokens', '5', '--json');
    assert.equal(fromText.code, 0, fromText.err);
    const fromIds = attn('generate', '--model', opus, '--input-ids', ids.join(','), '--max-new-tokens', '5', '--json');
    assert.equal(fromIds.code, 0, fromIds.err);
    const a = JSON.parse(fromText.out) as { sequences: number[][]; text: string[] };
    assert.deepEqual(a.sequences, (JSON.parse(fromIds.out) as { sequences: number[][] }).sequences);
    assert.equal(typeof a.text[0], 'string');

    const p = attn('pipeline', 'translation', '--model', opus, '--max-new-tokens', '4', '--json', text);
    assert.equal(p.code, 0, p.err);
    assert.equal(typeof (JSON.parse(p.out) as Array<{ translation_text: string }>)[0]!.translation_text, 'string');

    writeFileSync(join(dir, 'pairs.jsonl'), Array.from({ length: 12 }, (_, i) => JSON.stringify({ source: `Alice ${i} was tired.`, target: `Die Straße ${i} ist lang.` })).join('\n') + '\n');
    const ft = join(dir, 'ft');
    const f = attn('finetune', '--task', 'translation', '--model', opus, '--train', join(dir, 'pairs.jsonl'), '--steps', '1', '--batch-size', '4', '--eval-rows', '2', '--num-beams', '1', '--max-new-tokens', '3', '--out', ft, '--quiet');
    assert.equal(f.code, 0, f.err);
    for (const file of ['source.spm', 'target.spm', 'vocab.json', 'tokenizer_config.json']) assert.ok(existsSync(join(ft, file)), `the checkpoint lacks ${file}`);
    assert.ok(!existsSync(join(ft, 'tokenizer.json')), 'no (inexact) tokenizer.json is written');
    const again = attn('generate', '--model', ft, '--source', text, '--max-new-tokens', '2', '--json');
    assert.equal(again.code, 0, again.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
