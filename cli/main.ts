#!/usr/bin/env node
// `attn`: the command-line tool. Each subcommand lives in its own file and is loaded only when used, so
// `attn tokenizer ...` never loads the tensor engine and `attn --help` is instant.
import { UsageError } from './args.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<(argv: string[]) => Promise<number>> }> = {
  start: { summary: 'the default run: train a tokenizer and a small GPT on Shakespeare, then sample', load: async () => (await import('./start.js')).startCommand },
  train: { summary: 'train a GPT on your text (or fine-tune one with --init)', load: async () => (await import('./train.js')).trainCommand },
  example: { summary: 'worked examples on bundled data: authorship (pretrain + fine-tune a BERT on Gutenberg books)', load: async () => (await import('./example.js')).exampleCommand },
  finetune: { summary: 'fine-tune a BERT-family folder (classification, NER, QA) or a Marian/T5 folder (translation, summarization)', load: async () => (await import('./finetune.js')).finetuneCommand },
  generate: { summary: 'generate text from a model folder', load: async () => (await import('./generate.js')).generateCommand },
  eval: { summary: 'loss, perplexity and bits per byte of a model on a text file', load: async () => (await import('./eval.js')).evalCommand },
  quantize: { summary: 'write an int8 / int4 copy of a model folder for faster, smaller inference', load: async () => (await import('./quantize.js')).quantizeCommand },
  info: { summary: 'parameters, FLOPs per token and memory of a model or preset', load: async () => (await import('./info.js')).infoCommand },
  tokenizer: { summary: 'train, encode and decode with BPE, WordPiece and Unigram tokenizers', load: async () => (await import('./tokenizer.js')).tokenizerCommand },
  serve: { summary: 'the playground in your browser: tokenize, generate, attention maps, train a tiny GPT', load: async () => (await import('./serve.js')).serveCommand },
  explain: { summary: 'attention maps as an HTML report, what each head does, head importance and pruning', load: async () => (await import('./explain.js')).explainCommand },
  forward: { summary: "print a model's raw outputs (logits, hidden states, attentions) for token ids", load: async () => (await import('./forward.js')).forwardCommand },
  pipeline: { summary: 'fill-mask, classification, NER, question answering, embeddings, generation on texts', load: async () => (await import('./pipeline.js')).pipelineCommand },
  g2p: { summary: 'grapheme-to-phoneme on CMUdict: train the 2017 Transformer, score WER/PER, predict', load: async () => (await import('./g2p.js')).g2pCommand },
  experiment: { summary: 'run a prepared experiment: `attention` (RNN encoder-decoders with and without attention)', load: async () => (await import('./experiment.js')).experimentCommand },
  metric: { summary: 'score outputs: BLEU, chrF, ROUGE, classification, seqeval, SQuAD', load: async () => (await import('./metric.js')).metricCommand },
};

function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length)) + 2;
  return [
    'usage: attn <command> [options]',
    '',
    'Transformers from scratch: tokenize, train, generate.',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(w)}${c.summary}`),
    '',
    'Run `attn <command> --help` for the options of a command.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    console.log(pkg.version);
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`attn: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return (await cmd.load())(rest);
}

// `attn … | head` closes the pipe early: that ends the output, it is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // User mistakes and bad files get one clear line, not a stack trace; ATTN_DEBUG=1 shows the trace.
    const err = e instanceof Error ? e : new Error(String(e));
    if (process.env['ATTN_DEBUG']) console.error(err.stack);
    else console.error(`attn: ${err.message}`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
