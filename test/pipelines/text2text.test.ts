// translation / summarization / text2text-generation pipelines on small folders written here (a Transformer
// and a T5 with a Unigram tokenizer): results are shaped as transformers' ([{ translation_text }], ...), equal
// what tokenizer + generateSeq2Seq give by hand, and T5's task_specific_params prefix and settings are used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/tensor/index.js';
import { Transformer, transformerConfig } from '../../src/models/transformer.js';
import { T5, t5Config } from '../../src/models/t5.js';
import { saveSeq2Seq } from '../../src/models/seq2seq_pretrained.js';
import { generateSeq2Seq } from '../../src/generate/seq2seq.js';
import { trainTokenizer } from '../../src/tokenizers/index.js';
import { translationPipeline, summarizationPipeline, text2textPipeline, AutoModelForSeq2SeqLM } from '../../src/pipelines/text2text.js';

const TEXT = Array.from({ length: 40 }, (_, i) => `the house number ${i} is wonderful and the garden is green`).join('\n');

test('pipelines: shapes, equality with tokenizer + generateSeq2Seq, T5 task prefixes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-t2t-'));
  try {
    const tok = await trainTokenizer(TEXT.split('\n'), { type: 'unigram', vocabSize: 39, specialTokens: ['<pad>', '</s>', '<unk>'] });
    const V = tok.vocabSize;
    const tokenizerJson = JSON.stringify(tok.toJSON());
    const mt = new Transformer(transformerConfig({ preset: 'tiny', vocab_size: V, pad_token_id: 0, eos_token_id: 1, decoder_start_token_id: 0 }), new Rng(1));
    saveSeq2Seq(mt, join(dir, 'mt'), { tokenizerJson });
    const t5 = new T5(t5Config({ preset: 'tiny', vocab_size: V }), new Rng(2));
    saveSeq2Seq(t5, join(dir, 't5'), { tokenizerJson });
    const cfgPath = join(dir, 't5', 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, task_specific_params: { summarization: { prefix: 'the garden ', num_beams: 2, max_length: 8 } } }));

    // The reference: the same tokenizer and generateSeq2Seq called by hand.
    const ids = (t: string) => tok.encode(t).ids;
    const byHand = (model: Transformer | T5, text: string, o: Record<string, unknown>) => {
      const g = generateSeq2Seq(model, [ids(text)], o);
      return tok.decode(g.sequences[0]!.subarray(1), { skipSpecialTokens: true }).trim();
    };

    const translate = await translationPipeline(join(dir, 'mt'));
    const one = translate('the house is green', { max_new_tokens: 6 });
    assert.deepEqual(Object.keys(one[0]!), ['translation_text']);
    assert.equal(one[0]!.translation_text, byHand(mt, 'the house is green', { max_new_tokens: 6 }));
    const many = translate(['the house', 'is wonderful'], { max_new_tokens: 5, num_beams: 2 }) as Array<{ translation_text: string }>;
    assert.equal(many.length, 2);
    assert.equal(many[1]!.translation_text, byHand(mt, 'is wonderful', { max_new_tokens: 5, num_beams: 2 }));
    const two = translate(['the house'], { max_new_tokens: 5, num_beams: 3, num_return_sequences: 2 }) as Array<Array<{ translation_text: string }>>;
    assert.equal(two[0]!.length, 2);

    // T5: the summarization prefix and its num_beams / max_length come from config.json.
    const summarize = await summarizationPipeline(join(dir, 't5'));
    const s = summarize('number 7 is wonderful');
    assert.deepEqual(Object.keys(s[0]!), ['summary_text']);
    assert.equal(s[0]!.summary_text, byHand(t5, 'the garden number 7 is wonderful', { num_beams: 2, max_length: 8 }));
    const t2t = await text2textPipeline(join(dir, 't5'));
    assert.equal(t2t('number 7')[0]!.generated_text, byHand(t5, 'number 7', { max_new_tokens: 19 }));

    const lm = await AutoModelForSeq2SeqLM.fromPretrained(join(dir, 'mt'));
    const f = lm.forward([ids('the house')], [[0, 5, 6]], { attentions: true });
    assert.deepEqual(f.logits.shape, [1, 3, V]);
    assert.throws(() => lm.encode(Array.from({ length: 300 }, () => 'house').join(' ')), /reads at most 128; shorten it or pass \{ truncation: true \}/);
    assert.equal(lm.encode(Array.from({ length: 300 }, () => 'house').join(' '), true).length, 128);
    // A tokenizer with more tokens than the model's vocabulary does not belong to it.
    const small = new Transformer(transformerConfig({ preset: 'tiny', vocab_size: 20, pad_token_id: 0, eos_token_id: 1, decoder_start_token_id: 0 }), new Rng(3));
    saveSeq2Seq(small, join(dir, 'small'), { tokenizerJson });
    await assert.rejects(() => translationPipeline(join(dir, 'small')), /the tokenizer has 39 tokens but the model's vocab_size is 20; they do not belong together/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
