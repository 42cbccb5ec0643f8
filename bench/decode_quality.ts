// `npm run bench -- decode_quality [--model DIR] [--tokens N] [--json]`: what quantised weights cost in quality
// on the path generation takes. `attn eval --dtype int8|int4` scores whole windows at once, so its products
// have many rows and go through the dequantised GEMM (activations exact); decoding multiplies one row at a
// time with integer dot products, where the activations are rounded too (kernels/quant.ts: ±127 steps per
// block of 32, ±63 for int8 weights on the relaxed-SIMD build). This bench scores text the way generation
// reads it: one token per forward pass through the KV cache, the loss of each next token, for the model in
// float32, int8 and int4 (quantised while loading, as `--dtype` does).
//
// Model: a GPT folder, by default the default run's (`npm start` writes runs/shakespeare). Text: the validation
// tail (10 %, as attn train and attn start hold it out) of each of the default run's three plays, the first
// N tokens of each (default 2000), in windows of at most 128 tokens (each a fresh cache).
// The kernel build is this process's (ATTN_WASM_SIMD=baseline selects the baseline one); one thread.
import '../src/platform/node.js';
import { existsSync } from 'node:fs';
import { shakespeareFiles } from '../cli/start.js';
import { getBackend, setBackend } from '../src/backend/index.js';
import { fromPretrained } from '../src/models/pretrained.js';
import { noGrad, tensor } from '../src/tensor/index.js';
import { Tokenizer } from '../src/tokenizers/index.js';
import { readDocuments } from '../src/train/corpus.js';
import { splitText } from '../src/train/data.js';
import { newReport, report, wantJson } from './_common.js';

const WINDOW = 128;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

/** Mean next-token loss (nats) over `texts`, one token per forward pass with the cache, and the tokens scored. */
function decodeLoss(dir: string, dtype: 'float32' | 'int8' | 'int4', texts: string[], perText: number): { loss: number; tokens: number } {
  const { model, tokenizerJson } = fromPretrained(dir, dtype === 'float32' ? {} : { dtype });
  if (tokenizerJson === null) throw new Error(`decode_quality: ${dir} has no tokenizer.json`);
  const tok = Tokenizer.fromJSON(tokenizerJson);
  model.train(false);
  let nll = 0;
  let n = 0;
  noGrad(() => {
    for (const text of texts) {
      const ids = tok.encode(text).ids.slice(0, perText + 1);
      for (let s = 0; s + 1 < ids.length; s += WINDOW) {
        const cache = model.newCache();
        for (let i = s; i < Math.min(ids.length - 1, s + WINDOW); i++) {
          const logits = model.forward(tensor(Int32Array.of(ids[i]!), [1, 1], { dtype: 'int32' }), { cache }).logits.toFloat32Array(); // (1, 1, V)
          let max = -Infinity;
          for (const v of logits) max = Math.max(max, v);
          let z = 0;
          for (const v of logits) z += Math.exp(v - max);
          nll += Math.log(z) + max - logits[ids[i + 1]!]!; // −log softmax(logits)[next]
          n++;
        }
      }
    }
  });
  return { loss: nll / n, tokens: n };
}

function main(): void {
  const dir = arg('--model', 'runs/shakespeare');
  const perText = Number(arg('--tokens', '2000'));
  if (!existsSync(dir)) {
    console.error(`decode_quality: no model folder at ${dir}; run \`npm start\` first (it writes runs/shakespeare), or pass --model DIR`);
    process.exit(1);
  }
  if (!(perText >= 1)) throw new Error(`decode_quality: --tokens must be a number ≥ 1, got ${arg('--tokens', '')}`);
  setBackend('wasm', { threads: 1 });
  const texts = readDocuments(shakespeareFiles()).docs.map((d) => splitText(d.text, 0.1).val);
  const r = newReport('decode_quality');
  const be = getBackend();
  const build = 'variant' in be ? `${String(be.variant)} kernels` : be.name;
  let base = 0;
  for (const dtype of ['float32', 'int8', 'int4'] as const) {
    const { loss, tokens } = decodeLoss(dir, dtype, texts, perText);
    if (dtype === 'float32') base = loss;
    const change = dtype === 'float32' ? '' : `, ${(((loss - base) / base) * 100).toFixed(3)} % vs float32`;
    r.rows.push({ case: `decode-loss-${dtype}`, impl: 'attn', threads: 1, value: loss, unit: 'nats/token', note: `${tokens} tokens through the KV cache, ${build}${change}` });
  }
  report(r, wantJson());
}

main();
