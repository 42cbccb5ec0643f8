// Quantised weights for inference (browser-safe; the folder writer is ./folder.ts, Node only).
//
//   quantizeModel(model, { bits: 8 })                         every Linear (and Embedding) weight to int8, in place
//   fromPretrained('runs/x', { dtype: 'int4' })               quantise a float folder while loading it
//   fromPretrained('runs/x-int8')                             a folder written by `attn quantize` loads as it is
//
// ./format.ts: the int8 / int4 formats (and why the group sizes are what they are); ./tensor.ts: the
// QuantizedTensor a quantised weight becomes; ./ops.ts: linear() and embedding() on it; ./model.ts: whole models;
// ./load.ts: the checkpoint format and loading.
export { DEFAULT_INT4_GROUP, QUANT_BLOCK, QuantizedMatrix, groupSizeFor, quantizeMatrix, qmax, type QuantBits, type QuantSpec } from './format.js';
export { QuantizedTensor, dequantize } from './tensor.js';
export { asQuantized } from './ops.js';
export { freezeForInference, quantizableWeights, quantizeModel, type QuantizeOptions, type QuantizeReport, type QuantizableWeight } from './model.js';
export {
  SCALE_SUFFIX,
  checkpointNames,
  loadQuantizedStateDict,
  quantizationConfigFor,
  quantizationConfigOf,
  quantizationConfigOfModel,
  quantizedLoadPlan,
  quantizedStateDict,
  quantizeLoaded,
  quantizeOptionsFor,
  type CheckpointNames,
  type LoadDtype,
  type QuantizationConfig,
  type QuantizeOnLoad,
} from './load.js';
