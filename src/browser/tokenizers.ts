// Entry point of dist/browser/attn-tokenizers.js: attn's tokenizers alone, without the tensor engine, for
// pages that only tokenize. The same API as `attn/tokenizers` on Node, plus loadTokenizer from a URL or
// picked files.
//
//   import { Tokenizer, loadTokenizer } from './attn-tokenizers.js';
//   Tokenizer.gpt2().encode('Hello world').ids;              // [15496, 995]
//   const tok = await loadTokenizer('/models/shakespeare/'); // tokenizer.json of a folder
export * from '../tokenizers/index.js';
export { loadTokenizer } from './load_tokenizer.js';
