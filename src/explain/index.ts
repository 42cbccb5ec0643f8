// Explain: attention maps for every model, what each head does, head importance and pruning.
//
//   const x = loadExplainable('runs/shakespeare')            // or new GPTExplainer(model, tokenizer)
//   const groups = x.attentions(x.encode({ text: 'To be, or not to be' }))   // (H, T, T) maps per layer
//   const acc = new HeadStatsAccumulator(freq); acc.add(groups); acc.result()  // roles per head
//   const imp = headImportance(x.heads(), objective)          // Michel et al.'s |∂L/∂ξ|
//   const curve = pruningCurve(x.heads(), objective)          // quality vs heads removed
//   const smaller = x.prune(headsToPrune(x.heads(), imp, 4))  // Hugging Face's prune_heads
export * from './explainable.js';
export { tokenViews, idViews, readableToken, visibleWhitespace, isByteLevel } from './tokens.js';
export { rollout } from './rollout.js';
export { HeadStatsAccumulator, tokenFrequency, type HeadStats, type HeadRole, type HeadStatsOptions } from './stats.js';
export { headImportance, byImportance, type HeadObjective, type HeadImportance, type ImportanceOptions, type QualityMetric } from './importance.js';
export { pruningCurve, headsToPrune, type PruneCurve, type PruneCurvePoint, type PruneCurveOptions } from './prune.js';
export { pruneableHeadsAndIndices } from './hf_prune.js';
export { BertExplainer, pruneBert, bertClassificationObjective, type BertEncoded, type ClassificationObjectiveData, type ClassificationObjectiveOptions } from './adapters/bert.js';
export { Seq2SeqExplainer, seq2seqObjective, type Seq2SeqEncoded, type Seq2SeqExplainerOptions, type Seq2SeqObjectiveData } from './adapters/seq2seq.js';
export { RNNExplainer, type RNNEncoded, type RNNExplainerOptions, type SymbolTable } from './adapters/rnn.js';
export { GPTExplainer, pruneGPT, gptLanguageModelObjective, type GPTEncoded, type LanguageModelData, type LanguageModelObjectiveOptions } from './adapters/gpt.js';
export { figureSvg, figurePng, figureRaster, heatColor, type Figure, type Shape } from './figure.js';
export { layerFigure, gridFigure, mapFigure, rolesFigure, pruneFigure } from './figures.js';
export { reportData, reportHtml, statsTable, importanceTable, type ReportSections } from './report.js';
export { encodeWeights, decodeWeights, type ReportData } from './report_data.js';
export { loadExplainable, readViewerScript, writeReportFolder, type ReportFolderOptions } from './node.js';
