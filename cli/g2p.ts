// `attn g2p`: grapheme-to-phoneme conversion on the CMU Pronouncing Dictionary with the 2017 Transformer — a
// real sequence-to-sequence task that trains in minutes on a laptop. Spelling in, ARPAbet out:
//
//   attn g2p train --time 30 --out runs/g2p      train (90 % of the words), report WER / PER on the held-out 5 %
//   attn g2p eval --model runs/g2p [--beams 4]   score a trained model on the test words again
//   attn g2p predict --model runs/g2p phoneme transformer
//
// The split, the vocabulary and the scoring come from src/data/g2p.ts (the RNN models use the same), so the
// numbers are comparable: a word is right when the output equals any of its pronunciations (WER), and the
// phoneme error rate is the edit distance to the closest one (PER). The run writes beside the model:
// results.json (scores, examples, timing), cross_attention.svg (which letters each phoneme reads).
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { parseCommand, num, str, UsageError, type CommandSpec, type ParsedValues } from './args.js';
import { ProgressBar, compact, duration } from './progress.js';

export const G2P: CommandSpec = {
  name: 'g2p',
  summary: 'Grapheme-to-phoneme on CMUdict: train the 2017 Transformer, score word and phoneme error rates, predict.',
  usage: 'attn g2p train|eval|predict [options] [WORDS...]',
  options: {
    out: { type: 'string', value: 'DIR', help: 'train: model folder to write', default: 'runs/g2p' },
    model: { type: 'string', value: 'DIR', help: 'eval/predict: a model trained by attn g2p train' },
    preset: { type: 'string', value: 'NAME', help: 'Transformer size (tiny, g2p, small)', default: 'g2p' },
    'normalize-before': { type: 'boolean', help: 'pre-LN layers instead of the 2017 post-LN' },
    time: { type: 'string', value: 'MIN', help: 'train for MIN minutes (the schedule is fitted to the time)' },
    steps: { type: 'string', value: 'N', help: 'optimizer steps (without --time)', default: '6000' },
    'batch-size': { type: 'string', value: 'B', help: 'words per batch', default: '64' },
    lr: { type: 'string', value: 'LR', help: 'peak learning rate', default: '0.001' },
    warmup: { type: 'string', value: 'N', help: 'warmup steps', default: '400' },
    // 0 by default: thirty minutes show the model the dictionary ~4.5 times, too few to overfit; with the
    // preset's 0.1 the same budget scored 35–38 % WER, with 0 32.6 % (BENCHMARKS.md, Session 5).
    dropout: { type: 'string', value: 'P', help: "dropout on the layers' outputs and embeddings", default: '0' },
    'label-smoothing': { type: 'string', value: 'E', help: 'label smoothing ε', default: '0.1' },
    ema: { type: 'string', value: 'D', help: 'moving average of the weights with this decay per step, kept at the end if its validation loss is lower (0 = none)', default: '0.999' },
    'eval-every': { type: 'string', value: 'N', help: 'validation loss (1 000 words) and WER (500 words) every N steps', default: '1000' },
    beams: { type: 'string', value: 'N', help: 'beam search width for the test set (1 = greedy)', default: '1' },
    split: { type: 'string', value: 'NAME', help: "eval: the words to score, 'test' or 'valid' (choose decoding settings on valid, report test)", default: 'test' },
    limit: { type: 'string', value: 'N', help: 'score only the first N test words (a quick look; the reported figures use all 6 194)' },
    'keep-stress': { type: 'boolean', help: 'keep vowel stress (69 phonemes instead of 39)' },
    'no-bucket': { type: 'boolean', help: 'random batches instead of batches of words of about one length' },
    seed: { type: 'string', value: 'N', help: 'random seed', default: '1337' },
    threads: { type: 'string', value: 'N', help: 'worker threads (default: all cores)' },
    quiet: { type: 'boolean', help: 'no progress bar' },
  },
  allowPositionals: true,
  epilog: ['Examples:', '  attn g2p train --time 30 --out runs/g2p', '  attn g2p eval --model runs/g2p --beams 4', '  attn g2p predict --model runs/g2p phoneme attention'],
};

/** Engine functions the synchronous helpers below use (loaded once by g2pCommand, so --help stays instant). */
let lib: { generateSeq2Seq: typeof import('../src/generate/seq2seq.js').generateSeq2Seq; noGrad: typeof import('../src/tensor/index.js').noGrad; tensor: typeof import('../src/tensor/index.js').tensor } | null = null;

export async function g2pCommand(argv: string[]): Promise<number> {
  const p = parseCommand(G2P, argv);
  if (!p) return 0;
  const [sub, ...words] = p.positionals;
  await import('../src/platform/node.js');
  const { generateSeq2Seq } = await import('../src/generate/seq2seq.js');
  const { noGrad, tensor } = await import('../src/tensor/index.js');
  lib = { generateSeq2Seq, noGrad, tensor };
  const { setBackend } = await import('../src/backend/index.js');
  const threads = num(p.values, 'threads', { int: true, min: 1 });
  if (threads !== undefined) setBackend('wasm', { threads });
  if (sub === 'train') return g2pTrain(p.values);
  if (sub === 'eval') return g2pEval(p.values);
  if (sub === 'predict') return g2pPredict(p.values, words);
  throw new UsageError(`attn g2p needs a subcommand: train, eval or predict (got ${sub === undefined ? 'none' : `'${sub}'`}); see attn g2p --help`);
}

type TransformerModel = import('../src/models/transformer.js').Transformer;
type G2PEntry = import('../src/data/g2p.js').G2PEntry;
type G2PVocab = import('../src/data/g2p.js').G2PVocab;

/** Phonemes predicted for entries, in batches (greedy or beam search, with the KV cache). */
function predictEntries(model: TransformerModel, vocab: G2PVocab, entries: readonly G2PEntry[], beams: number, onBatch?: (done: number) => void): string[][] {
  const { generateSeq2Seq } = lib!;
  const out: string[][] = new Array<string[]>(entries.length);
  const B = beams > 1 ? 64 : 256;
  // Words of about one length together: less padding in the encoder, and rows finish at about the same step.
  const order = Array.from({ length: entries.length }, (_, i) => i).sort((a, b) => entries[a]!.graphemes.length - entries[b]!.graphemes.length);
  for (let i = 0; i < order.length; i += B) {
    const idx = order.slice(i, i + B);
    const sources = idx.map((k) => vocab.encode(entries[k]!.graphemes, { eos: true }));
    const longest = Math.max(...idx.map((k) => entries[k]!.graphemes.length));
    const g = generateSeq2Seq(model, sources, { max_new_tokens: Math.min(longest + 8, model.config.max_position_embeddings - 1), num_beams: beams });
    g.sequences.forEach((s, j) => (out[idx[j]!] = vocab.decode(s.subarray(1))));
    onBatch?.(Math.min(i + B, entries.length));
  }
  return out;
}

/** The G2P data: dictionary, split, shared vocabulary. */
async function g2pData(keepStress: boolean) {
  const { loadCmudict } = await import('../src/data/g2p_node.js');
  const { splitG2P, g2pSharedVocab } = await import('../src/data/g2p.js');
  const entries = loadCmudict({ keepStress });
  return { entries, split: splitG2P(entries), vocab: g2pSharedVocab({ keepStress }) };
}

/**
 * What `g2p train` reads. The training words are turned into the task's packed pairs here and not kept: as
 * entries (strings, arrays) they are ~70 MB of small objects that every full garbage collection during
 * training would mark (about one per step); the training loop's heap is then the validation and test words.
 */
async function g2pTrainingData(keepStress: boolean, limit: number | undefined, bucket: boolean) {
  const { g2pPairs } = await import('../src/data/g2p.js');
  const { pairsTask } = await import('../src/train/seq2seq.js');
  const { split, vocab } = await g2pData(keepStress);
  const vocabs = { graphemes: vocab, phonemes: vocab };
  const trainPairs = g2pPairs(split.train, vocabs);
  // Validation loss on 1 000 validation words (the whole 6 194 would cost more than it tells), WER on 500.
  // Spread over the validation words (which are in dictionary order): the first 500 alone, mostly names and
  // abbreviations under 'a', read 10 points worse than the test set.
  const spread = (n: number) => split.valid.filter((_, i) => i % Math.max(1, Math.floor(split.valid.length / n)) === 0).slice(0, n);
  const validPairs = g2pPairs(spread(Math.min(limit ?? 1000, 1000)), vocabs);
  return {
    task: pairsTask(trainPairs, validPairs, 'CMUdict', { bucket }),
    trainWords: split.train.length,
    trainPronunciations: trainPairs.length,
    valid: split.valid,
    test: split.test,
    probe: spread(Math.min(limit ?? 500, 500)),
    vocab,
  };
}

async function g2pTrain(v: ParsedValues): Promise<number> {
  const { Rng } = await import('../src/tensor/index.js');
  const { Transformer, transformerConfig, TRANSFORMER_PRESETS, transformerParameterCount } = await import('../src/models/transformer.js');
  const { scoreG2P, G2PVocab: Vocab } = await import('../src/data/g2p.js');
  const { trainSeq2Seq, newSeq2SeqTrainState, SEQ2SEQ_TRAIN_DEFAULTS } = await import('../src/train/seq2seq.js');
  const { saveSeq2SeqCheckpoint } = await import('../src/train/seq2seq_checkpoint.js');
  const { getBackend } = await import('../src/backend/index.js');
  const quiet = v['quiet'] === true;
  const say = (s: string) => {
    if (!quiet) process.stderr.write(s + '\n');
  };
  const out = str(v, 'out')!;
  const keepStress = v['keep-stress'] === true;
  // --limit shrinks the validation and test sets for a quick look.
  const limit = num(v, 'limit', { int: true, min: 1 });
  const { task, trainWords, trainPronunciations, valid, test: testWords, probe, vocab } = await g2pTrainingData(keepStress, limit, v['no-bucket'] !== true);
  const preset = str(v, 'preset')!;
  if (!(preset in TRANSFORMER_PRESETS)) throw new UsageError(`unknown preset '${preset}'; presets: ${Object.keys(TRANSFORMER_PRESETS).join(', ')}`);
  const seed = num(v, 'seed', { int: true })!;
  const dropoutP = num(v, 'dropout', { min: 0 });
  if (dropoutP !== undefined && dropoutP >= 1) throw new UsageError(`--dropout must be below 1, got ${dropoutP}`);
  const config = transformerConfig({
    preset: preset as keyof typeof TRANSFORMER_PRESETS,
    vocab_size: vocab.size,
    pad_token_id: Vocab.PAD,
    decoder_start_token_id: Vocab.BOS,
    eos_token_id: Vocab.EOS,
    max_position_embeddings: 64,
    normalize_before: v['normalize-before'] === true,
    ...(dropoutP !== undefined ? { dropout: dropoutP } : {}),
  });
  const model = new Transformer(config, new Rng(seed));
  const time = num(v, 'time', { min: 0 });
  if (num(v, 'ema', { min: 0 })! >= 1) throw new UsageError(`--ema must be below 1 (a decay per step, e.g. 0.999), got ${num(v, 'ema')}`);
  const opts = {
    ...SEQ2SEQ_TRAIN_DEFAULTS,
    steps: time !== undefined ? 1_000_000 : num(v, 'steps', { int: true, min: 1 })!,
    timeLimitSec: time !== undefined ? time * 60 : 0,
    batchSize: num(v, 'batch-size', { int: true, min: 1 })!,
    lr: num(v, 'lr', { min: 0 })!,
    minLr: num(v, 'lr', { min: 0 })! / 20,
    warmupSteps: num(v, 'warmup', { int: true, min: 0 })!,
    labelSmoothing: num(v, 'label-smoothing', { min: 0, max: 1 })!,
    ema: num(v, 'ema', { min: 0 })!,
    evalEvery: num(v, 'eval-every', { int: true, min: 0 })!,
    seed,
  };
  say(`data: CMUdict, ${trainWords} training words (${trainPronunciations} pronunciations), ${valid.length} validation, ${testWords.length} test words; vocabulary ${vocab.size} symbols`);
  say(`model: Transformer ${config.encoder_layers}+${config.decoder_layers} layers, d_model ${config.d_model}, ${config.encoder_attention_heads} heads, FFN ${config.encoder_ffn_dim}, ${config.normalize_before ? 'pre' : 'post'}-LN, dropout ${config.dropout}: ${compact(transformerParameterCount(config))} parameters`);
  say(`training: batch ${opts.batchSize} words, lr ${opts.lr} (warmup ${opts.warmupSteps}, cosine), label smoothing ${opts.labelSmoothing}${opts.ema > 0 ? `, weight average ${opts.ema}` : ''}, ${opts.timeLimitSec > 0 ? `${duration(opts.timeLimitSec)} budget` : `${opts.steps} steps`}, backend ${getBackend().name} (${getBackend().threads} threads), load average ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores`);
  const load: number[] = [];
  const bar = quiet ? null : new ProgressBar(opts.timeLimitSec > 0 ? 0 : opts.steps, 'step ');
  const metrics: string[] = [];
  const state = newSeq2SeqTrainState(model, opts);
  const t0 = performance.now();
  const result = await trainSeq2Seq(model, task, state, opts, {
    log: (r) => {
      metrics.push(JSON.stringify(r));
      if (r.kind === 'train') {
        if (r.step % 50 === 0) load.push(loadavg()[0]!);
        if (bar) {
          bar.setTotal(r.totalSteps);
          bar.update(r.step, `loss ${r.loss.toFixed(3)} · ${compact(r.tokensPerSec)} tok/s · lr ${r.lr.toExponential(1)}`);
        }
      } else {
        const m = r.metrics ? ` · validation WER ${(100 * r.metrics['wer']!).toFixed(1)} %, PER ${(100 * r.metrics['per']!).toFixed(1)} % (${probe.length} words)` : '';
        const msg = `step ${r.step}${r.weights === 'average' ? ', averaged weights' : ''}: validation loss ${r.valLoss.toFixed(3)}${m}`;
        if (bar) bar.log(msg);
        else say(msg);
      }
    },
    evaluate: () => {
      const preds = predictSync(model, vocab, probe);
      const s = scoreG2P(preds, probe);
      return { wer: s.wer, per: s.per };
    },
  });
  bar?.done();
  const trainSec = (performance.now() - t0) / 1000;

  // The held-out test words: never seen in training (split by word).
  const beams = num(v, 'beams', { int: true, min: 1 })!;
  const tEval = performance.now();
  const test = limit !== undefined ? testWords.slice(0, limit) : testWords;
  const preds = predictEntries(model, vocab, test, beams);
  const score = scoreG2P(preds, test);
  const evalSec = (performance.now() - tEval) / 1000;
  const examples = exampleRows(test, preds, 12);
  const map = crossAttentionSvg(model, vocab, pickMapWord(test, preds));
  const results = {
    task: 'CMUdict G2P, test words (5 %, never seen in training)',
    testWords: test.length,
    wer: score.wer,
    per: score.per,
    decoding: beams > 1 ? `beam ${beams}` : 'greedy',
    steps: result.state.step,
    trainSeconds: trainSec,
    evalSeconds: evalSec,
    finalValidationLoss: result.lastEval.valLoss,
    weights: result.lastEval.weights === 'average' ? `moving average (decay ${opts.ema})` : 'last',
    parameters: transformerParameterCount(config),
    config,
    options: opts,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', node: process.version, meanLoadAverage: load.length ? load.reduce((a, b) => a + b, 0) / load.length : loadavg()[0] },
    examples,
  };
  saveSeq2SeqCheckpoint(model, out, result.state, opts, {
    extraFiles: { 'results.json': JSON.stringify(results, null, 2) + '\n', 'cross_attention.svg': map, 'metrics.jsonl': metrics.join('\n') + '\n', 'g2p_vocab.json': JSON.stringify({ tokens: vocab.tokens, keepStress }, null, 2) + '\n' },
    info: { createdBy: 'attn g2p train' },
  });
  say(`done: ${result.state.step} steps in ${duration(trainSec)}; test (${test.length} words, ${results.decoding}): WER ${(100 * score.wer).toFixed(2)} %, PER ${(100 * score.per).toFixed(2)} %`);
  for (const e of examples) say(`  ${e.word.padEnd(16)} ${e.predicted.padEnd(28)} ${e.correct ? 'ok' : `✗ (${e.references.join(' | ')})`}`);
  say(`model, results.json and cross_attention.svg written to ${join(out)}/`);
  return 0;
}

/** Greedy predictions (synchronous, for the evaluation hook inside the training loop). */
function predictSync(model: TransformerModel, vocab: G2PVocab, entries: readonly G2PEntry[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < entries.length; i += 256) {
    const chunk = entries.slice(i, i + 256);
    const g = lib!.generateSeq2Seq(model, chunk.map((e) => vocab.encode(e.graphemes, { eos: true })), { max_new_tokens: Math.min(Math.max(...chunk.map((e) => e.graphemes.length)) + 8, model.config.max_position_embeddings - 1) });
    for (const s of g.sequences) out.push(vocab.decode(s.subarray(1)));
  }
  return out;
}

function exampleRows(entries: readonly G2PEntry[], preds: readonly string[][], n: number) {
  const rows = [];
  const step = Math.max(1, Math.floor(entries.length / n));
  for (let i = 0; i < entries.length && rows.length < n; i += step) {
    const e = entries[i]!;
    const p = preds[i]!.join(' ');
    rows.push({ word: e.word, predicted: p, references: e.pronunciations.map((r) => r.join(' ')), correct: e.pronunciations.some((r) => r.join(' ') === p) });
  }
  return rows;
}

/** A test word for the attention map: a correctly predicted one of 8–10 letters (deterministic). */
function pickMapWord(entries: readonly G2PEntry[], preds: readonly string[][]): { word: G2PEntry; phonemes: string[] } {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.word.length >= 8 && e.word.length <= 10 && !e.word.includes("'") && e.pronunciations.some((r) => r.join(' ') === preds[i]!.join(' '))) return { word: e, phonemes: preds[i]! };
  }
  return { word: entries[0]!, phonemes: preds[0]! };
}

/**
 * The last decoder layer's cross-attention, averaged over heads, for one word and its predicted phonemes:
 * rows are output phonemes, columns input letters; darker = more attention. An SVG with labels.
 */
function crossAttentionSvg(model: TransformerModel, vocab: G2PVocab, pick: { word: G2PEntry; phonemes: string[] }): string {
  const letters = [...pick.word.graphemes, '</s>'];
  const phonemes = [...pick.phonemes, '</s>'];
  const w = forwardAttention(model, vocab, pick.word.graphemes, pick.phonemes); // (T, S)
  const cell = 28;
  const left = 60;
  const top = 60;
  const W = left + letters.length * cell + 20;
  const H = top + phonemes.length * cell + 40;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="monospace" font-size="12">`, `<rect width="100%" height="100%" fill="white"/>`];
  parts.push(`<text x="${left}" y="20" font-size="13">cross-attention, last decoder layer, mean over heads: "${pick.word.word}"</text>`);
  letters.forEach((l, j) => parts.push(`<text x="${left + j * cell + cell / 2}" y="${top - 8}" text-anchor="middle">${escapeXml(l)}</text>`));
  phonemes.forEach((p, i) => {
    parts.push(`<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end">${escapeXml(p)}</text>`);
    letters.forEach((_, j) => {
      const a = w[i * letters.length + j]!;
      const shade = Math.round(255 * (1 - Math.min(1, a)));
      parts.push(`<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell - 1}" height="${cell - 1}" fill="rgb(${shade},${shade},255)"><title>${escapeXml(phonemes[i]!)} ← ${escapeXml(letters[j]!)}: ${a.toFixed(3)}</title></rect>`);
    });
  });
  parts.push(`<text x="${left}" y="${H - 12}">columns: input letters · rows: output phonemes · darker = more attention</text>`, '</svg>');
  return parts.join('\n') + '\n';
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Teacher-forced forward over (letters, phonemes); the last layer's cross-attention averaged over heads, (T, S). */
function forwardAttention(model: TransformerModel, vocab: G2PVocab, letters: string[], phonemes: string[]): Float32Array {
  const { noGrad, tensor } = lib!;
  const src = vocab.encode(letters, { eos: true });
  const dec = vocab.encode(phonemes, { bos: true }); // <s> + phonemes: T = |phonemes| + 1 rows
  const out = noGrad(() => model.forward(tensor(src, [1, src.length], { dtype: 'int32' }), { decoderInputIds: tensor(dec, [1, dec.length], { dtype: 'int32' }), outputAttentions: true }));
  const cross = out.crossAttentions![out.crossAttentions!.length - 1]!; // (1, H, T, S)
  const [, H, T, S] = cross.shape as [number, number, number, number];
  const data = cross.toFloat32Array();
  const mean = new Float32Array(T * S);
  for (let h = 0; h < H; h++) for (let i = 0; i < T * S; i++) mean[i] += data[h * T * S + i]! / H;
  return mean;
}

async function loadG2PModel(v: ParsedValues): Promise<{ model: TransformerModel; vocab: G2PVocab; keepStress: boolean }> {
  const dir = str(v, 'model');
  if (!dir) throw new UsageError('--model DIR is required (a folder written by attn g2p train)');
  const { fromPretrainedSeq2Seq } = await import('../src/models/seq2seq_pretrained.js');
  const { Transformer } = await import('../src/models/transformer.js');
  const { G2PVocab: Vocab } = await import('../src/data/g2p.js');
  const { readJsonFile } = await import('../src/io/atomic.js');
  const loaded = fromPretrainedSeq2Seq(dir);
  if (!(loaded.model instanceof Transformer)) throw new UsageError(`${dir} is not a Transformer (model_type marian) trained by attn g2p train`);
  const meta = readJsonFile(join(dir, 'g2p_vocab.json'), 'G2P vocabulary') as { tokens?: unknown; keepStress?: unknown };
  if (!Array.isArray(meta.tokens) || meta.tokens.length !== loaded.model.config.vocab_size) {
    throw new UsageError(`${join(dir, 'g2p_vocab.json')}: expected ${loaded.model.config.vocab_size} tokens (the model's vocab_size), got ${Array.isArray(meta.tokens) ? meta.tokens.length : typeof meta.tokens}`);
  }
  const vocab = new Vocab((meta.tokens as string[]).slice(4));
  return { model: loaded.model, vocab, keepStress: meta.keepStress === true };
}

async function g2pEval(v: ParsedValues): Promise<number> {
  const { model, vocab, keepStress } = await loadG2PModel(v);
  const { scoreG2P } = await import('../src/data/g2p.js');
  const { split } = await g2pData(keepStress);
  const which = str(v, 'split')!;
  if (which !== 'test' && which !== 'valid') throw new UsageError(`--split must be 'test' or 'valid', got '${which}'`);
  const words = which === 'test' ? split.test : split.valid;
  const limit = num(v, 'limit', { int: true, min: 1 });
  const test = limit !== undefined ? words.slice(0, limit) : words;
  const beams = num(v, 'beams', { int: true, min: 1 })!;
  const bar = v['quiet'] === true ? null : new ProgressBar(test.length, 'words ');
  const t0 = performance.now();
  const preds = predictEntries(model, vocab, test, beams, (d) => bar?.update(d));
  bar?.done();
  const s = scoreG2P(preds, test);
  console.log(JSON.stringify({ split: which, words: test.length, decoding: beams > 1 ? `beam ${beams}` : 'greedy', wer: s.wer, per: s.per, seconds: (performance.now() - t0) / 1000 }));
  return 0;
}

async function g2pPredict(v: ParsedValues, words: string[]): Promise<number> {
  if (words.length === 0) throw new UsageError('give words to pronounce: attn g2p predict --model DIR phoneme attention');
  const { model, vocab } = await loadG2PModel(v);
  const entries = words.map((w) => {
    const word = w.toLowerCase();
    if (!/^[a-z][a-z']*$/.test(word)) throw new UsageError(`'${w}': only letters and apostrophes can be pronounced (CMUdict's alphabet)`);
    return { word, graphemes: word.split(''), pronunciations: [] };
  });
  const beams = num(v, 'beams', { int: true, min: 1 })!;
  const preds = predictEntries(model, vocab, entries, beams);
  entries.forEach((e, i) => console.log(`${e.word}\t${preds[i]!.join(' ')}`));
  return 0;
}

