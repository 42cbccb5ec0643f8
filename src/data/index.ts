// `src/data`: the data side of fine-tuning, browser-safe (no node: imports; file reading is in ./node.ts).
// Parsers take strings and give plain objects; feature builders take a Tokenizer and give typed arrays.
//
//   text classification   readTextClassification → labelMapFromExamples → encodeTextClassification
//   token classification  parseConll / readTokenTagsJsonl → tagMapFromExamples → encodeTokenClassification
//   question answering    readSquad → prepareQaFeatures → (model) → postprocessQaPredictions
//   seq2seq               readSeq2Seq → encodeSeq2Seq
//   batches               collateInputs, padRows
//
// Every reader's errors are DataErrors that name the file, the line and the field.

export { DataError, describeValue } from './errors.js';
export { parseCsv, type CsvRecord, type CsvOptions } from './csv.js';
export { parseJsonl, parseCsvRecords, readRecords, lookup, stringField, type SourceRecord, type RecordFormat, type ReadRecordsOptions } from './records.js';
export { buildLabelMap, labelMapFromList, labelId, type LabelMap } from './labels.js';
export { padRows, paddedLength, collateInputs, encodedInput, type PaddedRows, type PadOptions, type EncodedInput, type EncodedBatch } from './batch.js';
export {
  readTextClassification,
  labelMapFromExamples,
  encodeTextClassification,
  type TextClassificationExample,
  type ReadTextClassificationOptions,
  type TextClassificationFeature,
  type EncodeTextClassificationOptions,
} from './classification.js';
export {
  parseConll,
  readTokenTagsJsonl,
  tagMapFromExamples,
  encodeTokenClassification,
  beginToInside,
  wordPredictions,
  type TokenClassificationExample,
  type ReadConllOptions,
  type ReadTokenTagsOptions,
  type TokenClassificationFeature,
  type EncodeTokenClassificationOptions,
} from './token_classification.js';
export { readSquad, type QAExample, type QAAnswer, type ReadSquadOptions } from './squad.js';
export {
  prepareQaFeatures,
  postprocessQaPredictions,
  type QAFeature,
  type PrepareQaOptions,
  type QACandidate,
  type PostprocessQaOptions,
  type QAPredictions,
} from './qa.js';
export { readSeq2Seq, encodeSeq2Seq, type Seq2SeqExample, type ReadSeq2SeqOptions, type Seq2SeqFeature, type EncodeSeq2SeqOptions } from './seq2seq.js';
