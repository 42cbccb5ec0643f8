// BERT-family folders beyond parity: a new head on a checkpoint (what fine-tuning starts from), bare-encoder
// checkpoints, tokenizers from the older files, and the bad inputs that must be one clear error each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, noGrad, Rng } from '../../src/tensor/index.js';
import { fromPretrainedBert, saveBertPretrained, readFolderTokenizer, bertStateDict } from '../../src/models/bert_pretrained.js';
import { bertConfig, createBertModel, BertForMaskedLM, BertForSequenceClassification, bertParameterCount, sequenceClassificationLoss } from '../../src/models/bert.js';
import { fromPretrained } from '../../src/models/pretrained.js';
import { saveSafetensorsFile } from '../../src/io/node.js';

const FIX = new URL('../../../test/fixtures/bert-family/', import.meta.url).pathname;
const fixture = (name: string) => join(FIX, name);

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'attn-bert-'));
}

test('a new head on a checkpoint: encoder loaded, head fresh, the old head reported unused', () => {
  const mlm = fromPretrainedBert(fixture('bert-tiny-mlm'));
  const cls = fromPretrainedBert(fixture('bert-tiny-mlm'), { head: 'sequence-classification', id2label: ['neg', 'pos'] });
  assert.equal(cls.head, 'sequence-classification');
  assert.ok(cls.model instanceof BertForSequenceClassification);
  assert.deepEqual(cls.report.newlyInitialized.sort(), ['bert.pooler.dense.bias', 'bert.pooler.dense.weight', 'classifier.bias', 'classifier.weight']);
  assert.ok(cls.report.unused.includes('cls.predictions.bias') && cls.report.unused.includes('cls.predictions.transform.dense.weight'));
  // The encoder is the checkpoint's: same hidden states as the MLM model.
  const ids = tensor(Int32Array.from([101, 544, 103, 436, 102]), [1, 5], { dtype: 'int32' });
  const a = noGrad(() => mlm.model.bert.forward(ids).lastHiddenState.toFloat32Array());
  const b = noGrad(() => cls.model.bert.forward(ids).lastHiddenState.toFloat32Array());
  assert.deepEqual(b, a);
  // Fresh classifier: BERT's init, N(0, 0.02) weights and zero bias.
  const w = cls.model.classifier.weight.toFloat32Array();
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(std > 0.01 && std < 0.03, `classifier init std ${std}`);
  assert.deepEqual(Array.from(cls.model.classifier.bias!.toFloat32Array()), [0, 0]);
  // A classifier with other labels than the folder's: its head is rebuilt (the shape differs), the encoder kept.
  const other = fromPretrainedBert(fixture('bert-tiny-seqcls'), { id2label: ['a', 'b', 'c', 'd', 'e'] });
  assert.deepEqual(other.report.newlyInitialized.sort(), ['classifier.bias', 'classifier.weight']);
  assert.ok(other.report.unused.includes('classifier.weight'));
});

test('dropout override: the config says it, training drops, evaluation does not', () => {
  const d = fromPretrainedBert(fixture('bert-tiny-mlm'), { head: 'sequence-classification', id2label: ['neg', 'pos'], dropout: 0.25 });
  assert.equal(d.config.hidden_dropout_prob, 0.25);
  assert.equal(d.config.attention_probs_dropout_prob, 0.25);
  const ids = tensor(Int32Array.from([101, 544, 103, 436, 102]), [1, 5], { dtype: 'int32' });
  const evalOut = noGrad(() => d.model.bert.forward(ids).lastHiddenState.toFloat32Array());
  d.model.train(true);
  const trainOut = noGrad(() => d.model.bert.forward(ids, { rng: new Rng(1) }).lastHiddenState.toFloat32Array());
  d.model.train(false);
  assert.notDeepEqual(trainOut, evalOut);
  assert.deepEqual(noGrad(() => d.model.bert.forward(ids).lastHiddenState.toFloat32Array()), evalOut);
  assert.throws(() => fromPretrainedBert(fixture('bert-tiny-mlm'), { dropout: 1 }), /dropout must be in \[0, 1\), got 1/);
});

test('a bare encoder checkpoint (keys without "bert.") loads, and saves the way BertModel does', () => {
  const dir = scratch();
  try {
    const m = fromPretrainedBert(fixture('bert-tiny-seqcls'), { head: 'base' });
    assert.deepEqual(m.report.unused.sort(), ['classifier.bias', 'classifier.weight']); // the pooler belongs to BertModel
    saveBertPretrained(m.model, join(dir, 'enc'));
    const cfg = JSON.parse(readFileSync(join(dir, 'enc', 'config.json'), 'utf8')) as { architectures: string[] };
    assert.deepEqual(cfg.architectures, ['BertModel']);
    const keys = [...bertStateDict(m.model).keys()];
    assert.ok(keys.includes('embeddings.word_embeddings.weight') && keys.includes('pooler.dense.weight') && !keys.some((k) => k.startsWith('bert.')));
    // ... and a classifier can start from it.
    const cls = fromPretrainedBert(join(dir, 'enc'), { head: 'sequence-classification', id2label: ['x', 'y', 'z'] });
    assert.deepEqual(cls.report.newlyInitialized.sort(), ['classifier.bias', 'classifier.weight']);
    assert.deepEqual(cls.model.bert.pooler!.dense.weight.toFloat32Array(), m.model.bert.pooler!.dense.weight.toFloat32Array());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tokenizers: tokenizer.json written by save, vocab.txt and vocab.json + merges.txt read from older folders', () => {
  const dir = scratch();
  try {
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', '##s', 'on', 'mat'];
    cpSync(fixture('bert-tiny-mlm'), join(dir, 'm'), { recursive: true });
    writeFileSync(join(dir, 'm', 'vocab.txt'), vocab.join('\n') + '\n');
    const tok = readFolderTokenizer(join(dir, 'm'))!;
    assert.deepEqual(tok.encode('The cats sat').ids, [2, 5, 6, 8, 7, 3]);
    const loaded = fromPretrainedBert(join(dir, 'm'));
    assert.equal(loaded.tokenizer!.vocabSize, vocab.length);
    saveBertPretrained(loaded.model, join(dir, 'saved'), { tokenizer: tok });
    assert.ok(existsSync(join(dir, 'saved', 'tokenizer.json')));
    const tc = JSON.parse(readFileSync(join(dir, 'saved', 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(tc['tokenizer_class'], 'BertTokenizer');
    assert.equal(tc['mask_token'], '[MASK]');
    assert.deepEqual(readFolderTokenizer(join(dir, 'saved'))!.encode('the cats sat on the mat').ids, tok.encode('the cats sat on the mat').ids);
    // RoBERTa's files: <s> A </s></s> B </s>.
    const rv: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3, '<mask>': 4, a: 5, b: 6, '\u0120': 7, '\u0120b': 8 };
    cpSync(fixture('roberta-tiny-mlm'), join(dir, 'r'), { recursive: true });
    writeFileSync(join(dir, 'r', 'vocab.json'), JSON.stringify(rv));
    writeFileSync(join(dir, 'r', 'merges.txt'), '#version: 0.2\n\u0120 b\n');
    const rt = readFolderTokenizer(join(dir, 'r'))!;
    assert.deepEqual(rt.encode('a b', 'b').ids, [0, 5, 8, 2, 2, 6, 2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad folders: unknown model_type or head, mismatched tokenizer, missing or misshapen tensors', () => {
  const dir = scratch();
  try {
    const m = join(dir, 'm');
    cpSync(fixture('bert-tiny-seqcls'), m, { recursive: true });
    const cfgPath = join(m, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    const withCfg = (c: Record<string, unknown>) => writeFileSync(cfgPath, JSON.stringify(c));

    withCfg({ ...cfg, model_type: 'xlnet' });
    assert.throws(() => fromPretrainedBert(m), /config\.json: model_type "xlnet" is not supported; attn loads: gpt2, bert, roberta, distilbert, marian, t5/);
    withCfg({ ...cfg, architectures: ['BertForMultipleChoice'] });
    assert.throws(() => fromPretrainedBert(m), /architecture "BertForMultipleChoice" is not supported for model_type "bert"; supported: BertModel, BertForMaskedLM/);
    withCfg({ ...cfg, architectures: ['RobertaForMaskedLM'] });
    assert.throws(() => fromPretrainedBert(m), /architecture "RobertaForMaskedLM" is not supported for model_type "bert"/);
    withCfg({ ...cfg, hidden_act: 'swish' });
    assert.throws(() => fromPretrainedBert(m), /config\.json: hidden_act "swish" is not supported/);
    withCfg({ ...cfg, position_embedding_type: 'relative_key' });
    assert.throws(() => fromPretrainedBert(m), /position_embedding_type "relative_key" is not supported/);
    withCfg({ ...cfg, hidden_size: '32' });
    assert.throws(() => fromPretrainedBert(m), /"hidden_size" must be a number, got "32"/);
    withCfg({ ...cfg, label2id: { LABEL_0: 1, LABEL_1: 0, LABEL_2: 2 } });
    assert.throws(() => fromPretrainedBert(m), /"label2id" maps "LABEL_0" to 1, but "id2label" has "LABEL_1" there/);
    // The GPT loader points an encoder to the right entry point.
    withCfg(cfg);
    assert.throws(() => fromPretrained(m), /model_type "bert" is an encoder, not a GPT/);

    // More layers in the config than in the weights: the missing tensors are named.
    withCfg({ ...cfg, num_hidden_layers: 3 });
    assert.throws(() => fromPretrainedBert(m), /missing keys \(16\): bert\.encoder\.layer\.2\.attention\.self\.query\.weight/);
    withCfg({ ...cfg, intermediate_size: 48 });
    assert.throws(() => fromPretrainedBert(m), /shape mismatches: bert\.encoder\.layer\.0\.intermediate\.dense\.weight: checkpoint \[64, 32\], model \[48, 32\]/);
    // The folder's own head must be complete.
    withCfg(cfg);
    const sd = bertStateDict(fromPretrainedBert(m).model);
    sd.delete('classifier.bias');
    saveSafetensorsFile(join(m, 'model.safetensors'), sd);
    assert.throws(() => fromPretrainedBert(m), /model\.safetensors does not fit this BertForSequenceClassification \(config\.json\):\n {2}missing keys \(1\): classifier\.bias/);

    // A tokenizer with more tokens than the model has rows.
    cpSync(fixture('bert-tiny-qa'), join(dir, 'q'), { recursive: true });
    writeFileSync(join(dir, 'q', 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: 1200 }, (_, i) => `w${i}`)].join('\n'));
    assert.throws(() => fromPretrainedBert(join(dir, 'q')), /the tokenizer has 1205 tokens but the bert model's vocab_size is 1000; they do not belong together/);
    assert.throws(() => fromPretrainedBert(join(dir, 'nothing')), /model folder not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config: presets, parameter counts, unknown keys', () => {
  const base = bertConfig({ preset: 'bert-base' });
  assert.equal(bertParameterCount(base), 109_482_240); // bert-base-uncased: 109,482,240 parameters in BertModel
  assert.equal(createBertModel(base, 'base', { init: false }).numParameters(), 109_482_240);
  assert.throws(() => bertConfig({ hidden_size: 100, num_attention_heads: 12 }), /hidden_size \(100\) must be divisible by num_attention_heads \(12\)/);
  assert.throws(() => bertConfig({ preset: 'tiny', n_embd: 3 } as never), /unknown BERT config key 'n_embd'/);
  const rob = bertConfig({ model_type: 'roberta', preset: 'tiny', vocab_size: 100 });
  assert.equal(rob.pad_token_id, 1);
  assert.equal(rob.type_vocab_size, 1);
});

test('sequence classification losses: single-label, multi-label (BCE) and regression (MSE) against hand-worked values', () => {
  const logits = tensor([[2, -1], [0.5, 0.5]]);
  // single-label: mean of −log softmax at the targets.
  const ce = sequenceClassificationLoss(logits, tensor(Int32Array.from([0, 1]), [2], { dtype: 'int32' }), { problem_type: null, id2label: ['a', 'b'] }).item();
  const want = (-Math.log(Math.exp(2) / (Math.exp(2) + Math.exp(-1))) - Math.log(0.5)) / 2;
  assert.ok(Math.abs(ce - want) < 1e-6);
  // multi-label: BCE with logits, mean over the 4 entries.
  const y = [[1, 0], [0, 1]];
  const bce = sequenceClassificationLoss(logits, tensor(y), { problem_type: null, id2label: ['a', 'b'] }).item();
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const wantBce = [[2, -1], [0.5, 0.5]].flatMap((r, i) => r.map((v, j) => -(y[i]![j]! * Math.log(sig(v)) + (1 - y[i]![j]!) * Math.log(1 - sig(v))))).reduce((a, b) => a + b) / 4;
  assert.ok(Math.abs(bce - wantBce) < 1e-6, `${bce} vs ${wantBce}`);
  // regression with one label: MSE.
  const mse = sequenceClassificationLoss(tensor([[1.5], [-0.5]]), tensor([1, 0]), { problem_type: null, id2label: ['score'] }).item();
  assert.ok(Math.abs(mse - (0.25 + 0.25) / 2) < 1e-7);
  assert.throws(() => sequenceClassificationLoss(logits, tensor([0, 1]), { problem_type: 'single_label_classification', id2label: ['a', 'b'] }), /single-label classification needs int32 labels/);
});

test('MLM with maskedOnly gives the same loss as over every position, and a loss gradient', () => {
  const cfg = bertConfig({ preset: 'tiny', vocab_size: 50, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 });
  const m = new BertForMaskedLM(cfg, { rng: new Rng(3) });
  const ids = tensor(Int32Array.from([2, 7, 8, 9, 10, 3, 2, 11, 12, 3, 0, 0]), [2, 6], { dtype: 'int32' });
  const labels = tensor(Int32Array.from([-100, 7, -100, -100, 10, -100, -100, -100, 12, -100, -100, -100]), [2, 6], { dtype: 'int32' });
  const mask = tensor(Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]), [2, 6], { dtype: 'int32' });
  const all = noGrad(() => m.forward(ids, { labels, attentionMask: mask }));
  const some = m.forward(ids, { labels, attentionMask: mask, maskedOnly: true });
  assert.deepEqual(some.logits.shape, [3, 50]);
  assert.ok(Math.abs(all.loss!.item() - some.loss!.item()) < 1e-6);
  some.loss!.backward();
  assert.ok(m.cls.predictions.bias.grad !== null && m.bert.embeddings.word_embeddings.weight.grad !== null);
});

test('headMask: (H) or (layers, H); a zero removes that head in that layer (its weights are 0, the rest unchanged)', () => {
  const { model } = fromPretrainedBert(fixture('bert-tiny-mlm'));
  const ids = tensor(Int32Array.from([101, 544, 103, 436, 361, 102]), [1, 6], { dtype: 'int32' });
  const plain = noGrad(() => model.forward(ids, { outputAttentions: true }));
  const ones = noGrad(() => model.forward(ids, { outputAttentions: true, headMask: new Float32Array([1, 1, 1, 1]) }));
  assert.deepEqual(ones.logits.toFloat32Array(), plain.logits.toFloat32Array());
  // Layer 1, head 2 off: layer 0 is untouched, layer 1's head 2 attends nowhere, the logits move.
  const m = noGrad(() => model.forward(ids, { outputAttentions: true, headMask: tensor([[1, 1, 1, 1], [1, 1, 0, 1]]) }));
  assert.deepEqual(m.attentions![0]!.toFloat32Array(), plain.attentions![0]!.toFloat32Array());
  const a1 = m.attentions![1]!.toFloat32Array(); // (1, 4, 6, 6)
  const p1 = plain.attentions![1]!.toFloat32Array();
  for (let h = 0; h < 4; h++) for (let i = 0; i < 36; i++) assert.equal(a1[h * 36 + i], h === 2 ? 0 : p1[h * 36 + i]);
  assert.notDeepEqual(m.logits.toFloat32Array(), plain.logits.toFloat32Array());
  assert.throws(() => model.forward(ids, { headMask: new Float32Array(3) }), /headMask must be \(H\) = \[4\] or \(num_layers, H\) = \[2, 4\], got 3 values/);
});
