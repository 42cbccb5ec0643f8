// `attn/metrics`: evaluation metrics on their own — no tensor engine, no node: modules, so they run in a browser
// too. Each one reproduces a reference implementation's numbers (named in its file's header) on the same inputs.
//
//   import { corpusBleu, classificationReport, seqevalScores, squadV2, corpusRouge } from 'attn/metrics';
//
//   corpusBleu(hyps, [refs]).score                       // sacreBLEU 2.x, 13a, exp smoothing, 0–100
//   corpusChrf(hyps, [refs]).score                       // sacreBLEU chrF2, 0–100
//   corpusRouge(hyps, [refs]).rougeL.fmeasure            // Google rouge-score, 0–1
//   classificationReport(gold, pred).macro.f1            // scikit-learn, 0–1
//   seqevalScores(goldTags, predTags, { mode: 'strict', scheme: 'IOB2' }).f1   // seqeval, 0–1
//   squadV1(dataset, predictions).f1; squadV2(dataset, predictions).HasAns_exact // official scripts, 0–100
//   perplexity(meanLoss); bitsPerByte(meanLoss, tokens, bytes)
//   tokenErrorRate(refPhonemes, hypPhonemes).rate; sequenceErrorRate(refs, hyps).rate

export { accuracy, confusionMatrix, classificationReport, precisionRecallF1, type PRF, type LabelPRF, type ClassificationReport } from './classification.js';
export {
  seqevalScores,
  entitiesDefault,
  entitiesStrict,
  detectScheme,
  schemePrefixes,
  looksLikeNerTag,
  parseConll,
  SEQEVAL_SCHEMES,
  type Entity,
  type SeqevalScheme,
  type SeqevalOptions,
  type SeqevalResult,
  type TypePRF,
  type ConllCorpus,
} from './seqeval.js';
export {
  normalizeAnswer,
  squadExactMatch,
  squadF1,
  squadQuestions,
  squadV1,
  squadV2,
  type SquadDataset,
  type SquadPredictions,
  type SquadNaProbs,
  type SquadV1Result,
  type SquadV2Result,
  type SquadV2Options,
} from './squad.js';
export { perplexity, bitsPerByte, meanNll, utf8Bytes } from './language_model.js';
export {
  corpusBleu,
  sentenceBleu,
  bleuFromStats,
  bleuSegmentStats,
  bleuSignature,
  bleuTokenizer,
  tokenize13a,
  tokenizeIntl,
  tokenizeChar,
  formatBleu,
  bleuVerbose,
  SACREBLEU_VERSION,
  BLEU_TOKENIZERS,
  BLEU_SMOOTHINGS,
  type BleuOptions,
  type BleuScore,
  type BleuTokenizer,
  type BleuSmoothing,
} from './bleu.js';
export { corpusChrf, sentenceChrf, chrfFromStats, chrfSegmentStats, chrfSignature, formatChrf, type ChrfOptions, type ChrfScore } from './chrf.js';
export { rougeScore, corpusRouge, rougeTokenize, ROUGE_DEFAULT_TYPES, type RougeScore, type RougeType, type RougeOptions } from './rouge.js';
export { porterStem } from './porter.js';
export { editDistance, tokenErrorRate, sequenceErrorRate, type ErrorRate } from './edit_distance.js';
export { pySplit, pyStrip, pyRstrip, codePoints, compareCodePoints, formatFixed, PY_WHITESPACE } from './text.js';
