// The RNN explain adapter: its alignments are the attention weights the model returns, and — an independent
// path through the model — the weights of its step-by-step decoding (model.step) for every output; without a
// target the output explained is src/generate's greedy decoding through the RNN stepper; every row is a
// distribution over the real source symbols; a model without attention and unknown symbols are clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad, Rng, tensor } from '../../src/tensor/index.js';
import { RNNSeq2Seq, rnnSeq2SeqConfig, type AttentionKind } from '../../src/models/rnn_attention.js';
import { G2PVocab, G2P_LETTERS, G2P_PHONEMES } from '../../src/data/g2p.js';
import { generate } from '../../src/generate/generate.js';
import { stepperFromRNNSeq2Seq } from '../../src/generate/rnn_seq2seq.js';
import { RNNExplainer } from '../../src/explain/adapters/rnn.js';

const letters = new G2PVocab(G2P_LETTERS);
const phonemes = new G2PVocab(G2P_PHONEMES);

function model(attention: AttentionKind, extra: { input_feeding?: boolean } = {}): RNNSeq2Seq {
  const cfg = rnnSeq2SeqConfig({ preset: 'tiny', src_vocab_size: letters.size, tgt_vocab_size: phonemes.size, attention, decoder_hidden_size: 16, ...extra });
  return new RNNSeq2Seq(cfg, new Rng(attention.length + 11));
}

for (const [kind, extra] of [['bahdanau', {}], ['luong-dot', { input_feeding: false }], ['luong-general', {}]] as const) {
  test(`${kind}: alignments are the model's weights, step by step, one row per output`, () => {
    const m = model(kind, extra);
    const x = new RNNExplainer(m, { source: letters, target: phonemes });
    const e = x.encode({ text: 'knight', pair: 'N AY T' });
    assert.deepEqual([...e.sourceIds], [...letters.encode('knight'.split(''), { eos: true })]);
    assert.deepEqual(e.tokens.map((t) => t.text), ['k', 'n', 'i', 'g', 'h', 't', '</s>']);
    assert.deepEqual(e.outputTokens.map((t) => t.text), ['N', 'AY', 'T', '</s>']);
    assert.deepEqual([...e.decoderIds], [G2PVocab.BOS, ...phonemes.encode(['N', 'AY', 'T'])]);
    assert.deepEqual(x.heads(), []);
    const [g] = x.attentions(e);
    assert.equal(g!.kind, 'alignments');
    assert.equal(g!.layers.length, 1);
    assert.equal(g!.layers[0]!.heads, 1);
    const S = 7;
    const T = 4;
    const a = g!.layers[0]!.data;
    assert.equal(a.length, T * S);
    // The oracle: model.step once per output, reading the reference tokens, collecting α_t.
    noGrad(() => {
      const enc = m.encode(tensor(e.sourceIds, [1, S], { dtype: 'int32' }), [S]);
      let st = m.initialState(enc);
      for (let t = 0; t < T; t++) {
        const r = m.step(enc, st, tensor(Int32Array.of(e.decoderIds[t]!), [1], { dtype: 'int32' }));
        st = r.state;
        const w = r.weights!.toFloat32Array();
        for (let j = 0; j < S; j++) assert.ok(Math.abs(w[j]! - a[t * S + j]!) < 1e-5, `step ${t}, source ${j}: ${w[j]} vs ${a[t * S + j]}`);
        const sum = Array.from(a.subarray(t * S, (t + 1) * S)).reduce((s, v) => s + v, 0);
        assert.ok(Math.abs(sum - 1) < 1e-5, `row ${t} sums to ${sum}`);
      }
    });
  });
}

test('without a target: the greedy output of src/generate; errors for no attention, unknown symbols, head masks', () => {
  const m = model('bahdanau');
  const x = new RNNExplainer(m, { source: letters, target: phonemes, maxNewTokens: 5 });
  const e = x.encode({ text: 'phoneme' });
  const src = letters.encode('phoneme'.split(''), { eos: true });
  const g = generate(stepperFromRNNSeq2Seq(m, [src]), [[G2PVocab.BOS]], { max_new_tokens: 5, eos_token_id: G2PVocab.EOS });
  const ys = Array.from(g.sequences[0]!.subarray(1));
  assert.deepEqual(e.outputTokens.map((t) => t.id), ys);
  assert.deepEqual([...e.decoderIds], [G2PVocab.BOS, ...ys.slice(0, -1)]);
  assert.match(e.notes.at(-1)!, /no target given \(--pair\): the alignments are of the model's own greedy output/);
  assert.throws(() => new RNNExplainer(model('none'), { source: letters, target: phonemes }), /has no attention \(attention 'none'\): its decoder reads one fixed summary vector/);
  assert.throws(() => x.encode({ text: 'kn1ght' }), /source symbol "1" \(position 2\) is not in the model's source vocabulary/);
  assert.throws(() => x.encode({ text: 'knight', pair: 'N XX T' }), /target symbol "XX" \(position 1\)/);
  assert.throws(() => x.attentions(x.encode({ text: 'ab', pair: 'EY' }), { headMask: {} }), /no attention heads to mask/);
});

test('an RNN folder (saveRNNSeq2Seq) loads with the same weights and outputs; attn explain shows its alignments; bad folders are clear errors', async () => {
  const { mkdtempSync, rmSync, writeFileSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const { saveRNNSeq2Seq, loadRNNSeq2Seq } = await import('../../src/models/rnn_pretrained.js');
  const dir = mkdtempSync(join(tmpdir(), 'attn-rnn-folder-'));
  try {
    const m = model('luong-general');
    const folder = join(dir, 'm');
    saveRNNSeq2Seq(m, folder, { source: letters.tokens, target: phonemes.tokens });
    const loaded = loadRNNSeq2Seq(folder);
    assert.deepEqual(loaded.model.config, m.config);
    assert.deepEqual(loaded.symbols.source, letters.tokens);
    const names = m.namedParameters().map(([n]) => n);
    assert.deepEqual(loaded.model.namedParameters().map(([n]) => n), names);
    loaded.model.namedParameters().forEach(([n, p], i) => assert.deepEqual(p.toFloat32Array(), m.namedParameters()[i]![1].toFloat32Array(), n));
    const src = letters.encode('knight'.split(''), { eos: true });
    const dec = Int32Array.from([G2PVocab.BOS, ...phonemes.encode(['N', 'AY', 'T'])]);
    const run = (x: RNNSeq2Seq) => noGrad(() => x.train(false).forward(tensor(src, [1, src.length], { dtype: 'int32' }), [src.length], tensor(dec, [1, dec.length], { dtype: 'int32' })).logits.toFloat32Array());
    assert.deepEqual(run(loaded.model), run(m));

    const main = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
    const attn = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', NO_COLOR: '1' } });
    const r = attn('explain', '--model', folder, '--text', 'knight', '--pair', 'N AY T', '--out', join(dir, 'report'), '--json');
    assert.equal(r.status, 0, r.stderr);
    const html = readFileSync(join(dir, 'report', 'report.html'), 'utf8');
    assert.match(html, /alignments/);

    // Bad folders: a missing symbol table, a wrong shape, a mistyped config value.
    rmSync(join(folder, 'symbols.json'));
    assert.throws(() => loadRNNSeq2Seq(folder), /symbols\.json/);
    writeFileSync(join(folder, 'symbols.json'), JSON.stringify({ source: letters.tokens, target: letters.tokens }));
    assert.throws(() => loadRNNSeq2Seq(folder), /symbols\.json: "target" has 31 symbols, the model's tgt_vocab_size is 43/);
    writeFileSync(join(folder, 'symbols.json'), JSON.stringify({ source: letters.tokens, target: phonemes.tokens }));
    const cfgPath = join(folder, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, decoder_hidden_size: '64' }));
    assert.throws(() => loadRNNSeq2Seq(folder), /config\.json: "decoder_hidden_size" is "64", expected a number/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, embedding_size: (cfg['embedding_size'] as number) + 1 }));
    assert.throws(() => loadRNNSeq2Seq(folder), /model\.safetensors: .* has shape \[.*\], the config makes it \[.*\]/);
    const bad = attn('explain', '--model', folder, '--text', 'knight', '--out', join(dir, 'r2'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /the config makes it/);
    assert.ok(!/\n\s+at /.test(bad.stderr), 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
