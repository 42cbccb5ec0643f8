// `attn info --preset NAME | --model DIR`: what a model costs — parameters, FLOPs per token, memory.
import { parseCommand, str, num, UsageError, type CommandSpec } from './args.js';
import { compact } from './progress.js';

export const INFO: CommandSpec = {
  name: 'info',
  summary: 'Parameters, FLOPs per token and memory (inference and training) of a GPT preset or model folder.',
  usage: 'attn info (--preset NAME | --model DIR) [--context N] [--batch N] [--json]',
  options: {
    preset: { type: 'string', value: 'NAME', help: 'a preset: tiny, nanogpt-cpu, mini, small, gpt-6l-384, gpt2, gpt2-medium, gpt2-large, gpt2-xl' },
    model: { type: 'string', value: 'DIR', help: 'a model folder (config.json)' },
    'vocab-size': { type: 'string', value: 'N', help: 'vocabulary for presets without one (default 50257)' },
    context: { type: 'string', value: 'N', help: 'context length S for FLOPs and the KV cache (default: n_positions)' },
    batch: { type: 'string', value: 'N', help: 'training batch rows for the training memory estimate', default: '1' },
    json: { type: 'boolean', help: 'print one JSON object' },
  },
  epilog: ['Example: attn info --preset gpt2'],
};

export async function infoCommand(argv: string[]): Promise<number> {
  const p = parseCommand(INFO, argv);
  if (!p) return 0;
  const { gptConfig, GPT_PRESETS } = await import('../src/models/gpt.js');
  const { gptSizes } = await import('../src/models/sizes.js');
  const preset = str(p.values, 'preset');
  const dir = str(p.values, 'model');
  if (!preset === !dir) throw new UsageError('give exactly one of --preset NAME or --model DIR (see `attn info --help`)');
  let cfg;
  let what: string;
  if (preset) {
    if (!(preset in GPT_PRESETS)) throw new UsageError(`unknown preset '${preset}'; presets: ${Object.keys(GPT_PRESETS).join(', ')}`);
    const vocab = num(p.values, 'vocab-size', { int: true, min: 1 });
    cfg = gptConfig({ preset: preset as keyof typeof GPT_PRESETS, ...(vocab ? { vocab_size: vocab } : {}) });
    what = `preset ${preset}`;
  } else {
    const { readGPTConfig } = await import('../src/models/pretrained.js');
    cfg = readGPTConfig(dir!);
    what = dir!;
  }
  const context = num(p.values, 'context', { int: true, min: 1 });
  const batch = num(p.values, 'batch', { int: true, min: 1 }) ?? 1;
  const s = gptSizes(cfg, { context, batch });
  if (p.values['json']) {
    console.log(JSON.stringify({ model: what, config: cfg, ...s }));
    return 0;
  }
  const S = context ?? cfg.n_positions;
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  console.log(`${what}: ${cfg.n_layer} layers, ${cfg.n_head} heads, ${cfg.n_embd} channels, context ${cfg.n_positions}, vocab ${cfg.vocab_size}`);
  console.log(`parameters            ${s.parameters.toLocaleString('en-US')} (${compact(s.parameters)}; ${compact(s.nonEmbeddingParameters)} outside the embeddings)`);
  console.log(`FLOPs per token       ${compact(s.forwardFlopsPerToken)} forward, ${compact(s.trainFlopsPerToken)} training (at context ${S})`);
  console.log(`inference memory      ${mb(s.inferenceBytes)} float32 (weights + KV cache of ${S} tokens, ${mb(s.kvCacheBytesPerToken * 1024)} per 1k tokens)`);
  console.log(`training memory       ${mb(s.trainingBytes)} (weights, grads, AdamW moments, activations of ${batch}×${S} tokens)`);
  return 0;
}
