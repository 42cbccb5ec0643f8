// Types of dist/src/tokenizers/gpt2_data.js, which scripts/build-data.mjs generates at build time (npm install /
// npm run build) from the dev dependency gpt-tokenizer. See that script for the format.
export declare const GPT2_SOURCE: string;
/** base64 of 256 bytes: the byte value of token ids 0..255. */
export declare const GPT2_BYTE_ORDER: string;
/** base64 of 2 × 50 000 little-endian uint16: (left id, right id) of merge k, which produces id 256 + k. */
export declare const GPT2_MERGES: string;
