// What "explaining" a model needs from it, whatever its family: the one small interface every model family
// implements (an adapter per family in src/explain/adapters/), so the maps, the head statistics, head importance
// and pruning below are written once.
//
//   adapter.encode({ text, pair })        → the tokens, as the model reads them and as a person reads them
//   adapter.attentions(encoded, {mask})   → named groups of layers of (H, Tq, Tk) maps:
//        'self'        GPT's causal self-attention, BERT's bidirectional one
//        'encoder'     an encoder-decoder's encoder self-attention       (source × source)
//        'decoder'     its decoder's causal self-attention               (target × target)
//        'cross'       decoder queries reading the encoder's states      (target × source)
//        'alignments'  an RNN decoder's attention over the source        (target × source, one head)
//   adapter.heads()                       → which heads exist (per group and layer, by original index)
//   adapter.prune(heads)                  → the same model with those heads removed (where the family can)
//
// Heads are named by their ORIGINAL index, as Hugging Face's `pruned_heads` does: after heads 0 and 2 of a
// 4-head layer are pruned, the layer's remaining heads are still called 1 and 3, though they sit at positions 0
// and 1 of its weights and maps. `HeadId` is that name; `LayerAttention.headIds` maps positions back to names.
//
// Head masks follow Hugging Face's head_mask: a factor per head multiplying its attention probabilities (and so
// its output); 0 removes the head. `HeadMask` holds one per group and layer, sized to the layer's heads.
import type { Tensor } from '../tensor/index.js';

export type AttentionKind = 'self' | 'encoder' | 'decoder' | 'cross' | 'alignments';

export const ATTENTION_KINDS: readonly AttentionKind[] = ['self', 'encoder', 'decoder', 'cross', 'alignments'];

/** One token as a map labels it. */
export interface TokenView {
  /** The id the model reads. */
  id: number;
  /** Readable text: byte-level BPE bytes decoded, spaces as ␣, newlines as ↵ (src/explain/tokens.ts). */
  text: string;
  /** Added by the tokenizer's post-processor ([CLS], [SEP], <s>, </s>) or the model's start token. */
  special: boolean;
  /** Punctuation or symbols only (Clark et al.'s "no-op" heads attend to these). */
  punct: boolean;
}

/** One layer of one group: (H, Tq, Tk) row-major, each row a query's distribution over the keys. */
export interface LayerAttention {
  data: Float32Array;
  heads: number;
  /** Original index of the head at each position (0..H−1 unless heads were pruned). */
  headIds: number[];
}

/** A group of layers sharing queries and keys (e.g. all of a decoder's cross-attention layers). */
export interface AttentionGroup {
  kind: AttentionKind;
  /** Row labels. */
  queries: TokenView[];
  /** Column labels. */
  keys: TokenView[];
  /** Query i sees only keys ≤ i (GPT, a decoder's self-attention). */
  causal: boolean;
  layers: LayerAttention[];
}

/** A text to explain, and a second one: BERT's sentence B, an encoder-decoder's target, an RNN's target. */
export interface ExplainInput {
  text: string;
  pair?: string;
}

/** Which tokens to explain when the input is longer than the model's context. */
export interface WindowOptions {
  /** First token of the window (default 0). */
  start?: number;
  /** Tokens in the window (default: the model's context, at most DEFAULT_WINDOW; maximum: the context). */
  length?: number;
}

/**
 * The default window when none is asked for: the maps grow with the square of the tokens (GPT-2's 144 heads
 * over its 1 024-token context are 600 MB of weights, and a report of them too big for a browser to open), so
 * a longer text is explained 256 tokens at a time unless --window asks for more.
 */
export const DEFAULT_WINDOW = 256;

/** What an adapter's encode() returns; adapters add the fields their model needs. */
export interface Encoded {
  /** Tokens the model sees (after windowing), in the order of the 'self' / 'encoder' group's rows. */
  tokens: TokenView[];
  /** Said to the user: e.g. that a long text was cut to a window, and which. */
  notes: string[];
}

/** A head by name: its group, layer and original index. */
export interface HeadId {
  group: AttentionKind;
  layer: number;
  head: number;
}

/** The heads of one group, per layer, by original index; `nHead` is the count before any pruning. */
export interface HeadLayout {
  group: AttentionKind;
  nHead: number;
  layers: number[][];
}

/** Per group, per layer: a mask sized to the layer's current heads ((H) or (B, H)), or null for none. */
export type HeadMask = Partial<Record<AttentionKind, Array<Float32Array | Tensor | null>>>;

/** A model family's explain adapter. */
export interface Explainable<E extends Encoded = Encoded> {
  /** 'gpt', 'bert', 'roberta', 'distilbert', 'marian', 't5', 'rnn'. */
  readonly family: string;
  /** Longest input, in tokens, the model takes in one pass. */
  readonly maxTokens: number;
  /** The heads that can be masked (and pruned), per group; empty for a model without heads (RNN). */
  heads(): HeadLayout[];
  /** Tokenize, keeping a window of the model's context when the text is longer (and saying so in notes). */
  encode(input: ExplainInput, window?: WindowOptions): E;
  /** Every attention map of one input, with an optional head mask. */
  attentions(encoded: E, opts?: { headMask?: HeadMask }): AttentionGroup[];
}

/** An adapter whose model can lose heads for good (Hugging Face's prune_heads semantics). */
export interface Prunable<E extends Encoded = Encoded> extends Explainable<E> {
  /** A new adapter over a copy of the model without `heads` (already-pruned heads are ignored, as HF does). */
  prune(heads: readonly HeadId[]): Prunable<E>;
  /** Write the model (and its tokenizer) as a Hugging Face folder; pruned heads are in config.json. Node only. */
  save(dir: string): void;
}

export function isPrunable<E extends Encoded>(x: Explainable<E>): x is Prunable<E> {
  return typeof (x as Partial<Prunable<E>>).prune === 'function';
}

// -----------------------------------------------------------------------------------------------------------
// Windows of long inputs, shared by the adapters.

/**
 * The window [start, start + length) of a text of `total` tokens that fits a context of `max`, with a note
 * when the text was cut. `make(start, end)` builds the adapter's fields.
 */
export function windowOf<X extends object>(total: number, max: number, w: WindowOptions, make: (start: number, end: number) => X): X & { notes: string[]; start: number; total: number } {
  if (total === 0) throw new Error('the text has no tokens');
  const start = w.start ?? 0;
  if (!Number.isInteger(start) || start < 0 || start >= total) throw new Error(`window start ${start} is outside the text's ${total} tokens (0..${total - 1})`);
  const length = w.length ?? Math.min(max, DEFAULT_WINDOW);
  if (!Number.isInteger(length) || length < 1) throw new Error(`window length must be a positive integer, got ${length}`);
  if (length > max) throw new Error(`window length ${length} is longer than the model's context (${max} tokens)`);
  const end = Math.min(total, start + length);
  const notes: string[] = [];
  if (start > 0 || end < total) {
    const why =
      w.length !== undefined || total - start <= length ? '' : length < max ? ` (${length} tokens by default: the maps grow with the square of the window; --window takes up to the model's context, ${max})` : ` (the model's context is ${max} tokens)`;
    notes.push(`the text has ${total} tokens; explaining tokens ${start}..${end - 1}${why}; choose another window with --start/--window`);
  }
  return { ...make(start, end), notes, start, total };
}

// -----------------------------------------------------------------------------------------------------------
// Naming heads: "L:H" (one group) or "group:L:H", comma-separated.

/** "layer 2 head 5" as written on the command line: `2:5`, or `cross:2:5` in a model with several groups. */
export function formatHead(id: HeadId, layouts: readonly HeadLayout[]): string {
  return layouts.length > 1 ? `${id.group}:${id.layer}:${id.head}` : `${id.layer}:${id.head}`;
}

/**
 * Parse a head list against a model's layout; every head must exist (not pruned already).
 * Example: `parseHeads('0:1, 1:3', adapter.heads())`. Throws naming the item and what exists.
 */
export function parseHeads(spec: string, layouts: readonly HeadLayout[]): HeadId[] {
  if (layouts.length === 0) throw new Error('this model has no attention heads that can be masked or pruned');
  const out: HeadId[] = [];
  const seen = new Set<string>();
  for (const raw of spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const parts = raw.split(':');
    let group: AttentionKind;
    let rest: string[];
    if (parts.length === 3) {
      const g = layouts.find((l) => l.group === parts[0]);
      if (!g) throw new Error(`head "${raw}": this model has no '${parts[0]}' heads; groups: ${layouts.map((l) => l.group).join(', ')}`);
      group = g.group;
      rest = parts.slice(1);
    } else if (parts.length === 2) {
      if (layouts.length > 1) throw new Error(`head "${raw}": name the group as GROUP:LAYER:HEAD (groups: ${layouts.map((l) => l.group).join(', ')})`);
      group = layouts[0]!.group;
      rest = parts;
    } else {
      throw new Error(`head "${raw}" must be LAYER:HEAD${layouts.length > 1 ? ' or GROUP:LAYER:HEAD' : ''}, e.g. 0:1`);
    }
    const [layer, head] = rest.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN)) as [number, number];
    const layout = layouts.find((l) => l.group === group)!;
    if (!Number.isInteger(layer) || layer >= layout.layers.length) throw new Error(`head "${raw}": layer must be in 0..${layout.layers.length - 1}`);
    if (!Number.isInteger(head) || head >= layout.nHead) throw new Error(`head "${raw}": head must be in 0..${layout.nHead - 1} (layer ${layer} has ${layout.nHead} heads${layout.layers[layer]!.length < layout.nHead ? ' before pruning' : ''})`);
    if (!layout.layers[layer]!.includes(head)) throw new Error(`head "${raw}": head ${head} of layer ${layer} was pruned already; the layer has heads ${layout.layers[layer]!.join(', ')}`);
    const key = `${group}:${layer}:${head}`;
    if (!seen.has(key)) out.push({ group, layer, head });
    seen.add(key);
  }
  if (out.length === 0) throw new Error(`no heads in "${spec}"; write them as LAYER:HEAD, comma-separated`);
  return out;
}

/** Every head of a layout, in group, layer, head order. */
export function allHeads(layouts: readonly HeadLayout[]): HeadId[] {
  return layouts.flatMap((l) => l.layers.flatMap((heads, layer) => heads.map((head) => ({ group: l.group, layer, head }))));
}

/**
 * The mask that removes `removed` and keeps every other head (1), sized to each layer's current heads.
 * Example: `maskWithout(adapter.heads(), [{ group: 'self', layer: 0, head: 1 }])`.
 */
export function maskWithout(layouts: readonly HeadLayout[], removed: readonly HeadId[]): HeadMask {
  const mask: HeadMask = {};
  for (const l of layouts) {
    mask[l.group] = l.layers.map((heads, layer) => {
      const m = new Float32Array(heads.length).fill(1);
      heads.forEach((h, i) => {
        if (removed.some((r) => r.group === l.group && r.layer === layer && r.head === h)) m[i] = 0;
      });
      return m;
    });
  }
  return mask;
}
