// The explain adapter for the RNN encoder-decoders (src/models/rnn_attention.ts): one 'alignments' group with
// one layer and one "head", α_t over the source for every output step — the alignment of Bahdanau et al.
// (2015, figure 3) and Luong et al. (2015). Rows are the OUTPUT tokens y_t (the step that computed α_t wrote
// y_t), as those papers draw them; columns the source symbols, </s> included.
//
// An RNN has no heads to mask or prune (heads() is empty), and a model built with attention 'none' has no
// maps at all: its decoder reads one fixed summary of the source, which is the point of the comparison.
//
// The vocabularies are symbol tables (src/data/g2p.ts's G2PVocab is one): a text is split into characters when
// every symbol is one character (spelling), else at spaces (phonemes).
import { noGrad, tensor } from '../../tensor/index.js';
import type { RNNSeq2Seq } from '../../models/rnn_attention.js';
import { windowOf, type AttentionGroup, type Encoded, type Explainable, type ExplainInput, type HeadLayout, type HeadMask, type TokenView, type WindowOptions } from '../explainable.js';
import { visibleWhitespace } from '../tokens.js';

/** A fixed symbol table: ids are positions in `tokens`; special tokens are written <like this>. */
export interface SymbolTable {
  readonly tokens: readonly string[];
  id(symbol: string): number | undefined;
}

export interface RNNEncoded extends Encoded {
  /** (S) source ids, </s> last; (T) decoder inputs [<s>, y_1, …, y_{T−1}]; (T) outputs y_1 … y_T. */
  sourceIds: Int32Array;
  decoderIds: Int32Array;
  outputTokens: TokenView[];
  start: number;
  total: number;
}

export interface RNNExplainerOptions {
  source: SymbolTable;
  target: SymbolTable;
  /** Longest greedy output when no target is given (default 64). */
  maxNewTokens?: number;
  /** Longest source explained (default 512: an RNN has no positional limit, its memory grows with S). */
  maxTokens?: number;
}

/**
 * `new RNNExplainer(model, { source: vocabs.graphemes, target: vocabs.phonemes })`: the alignments of an RNN
 * encoder-decoder with attention. Throws for a model without attention. Puts the model in eval mode.
 */
export class RNNExplainer implements Explainable<RNNEncoded> {
  readonly family = 'rnn';
  readonly model: RNNSeq2Seq;
  readonly source: SymbolTable;
  readonly target: SymbolTable;
  readonly maxTokens: number;
  readonly maxNewTokens: number;

  constructor(model: RNNSeq2Seq, opts: RNNExplainerOptions) {
    if (model.config.attention === 'none') {
      throw new Error("this RNN seq2seq model has no attention (attention 'none'): its decoder reads one fixed summary vector of the source, so it has no attention maps to explain");
    }
    this.model = model.train(false);
    this.source = opts.source;
    this.target = opts.target;
    this.maxTokens = opts.maxTokens ?? 512;
    this.maxNewTokens = opts.maxNewTokens ?? 64;
  }

  heads(): HeadLayout[] {
    return []; // one attention per step, nothing to mask
  }

  encode(input: ExplainInput, window: WindowOptions = {}): RNNEncoded {
    const { eos_token_id: eos, bos_token_id: bos } = this.model.config;
    const src = [...symbolIds(this.source, input.text, 'source'), eos];
    const e = windowOf(src.length, this.maxTokens, window, (start, end) => {
      const ids = Int32Array.from(src.slice(start, end));
      return { sourceIds: ids, tokens: views(this.source, ids) };
    });
    let out: number[];
    if (input.pair !== undefined) out = [...symbolIds(this.target, input.pair, 'target'), eos];
    else {
      out = this.greedy(e.sourceIds);
      e.notes.push(`no target given (--pair): the alignments are of the model's own greedy output, "${views(this.target, out).map((t) => t.text).join(' ')}"`);
    }
    const decoderIds = Int32Array.from([bos, ...out.slice(0, -1)]); // step t reads y_{t−1}
    return { ...e, decoderIds, outputTokens: views(this.target, out) };
  }

  /** Greedy decoding step by step: ids up to and including </s>. */
  private greedy(source: Int32Array): number[] {
    const m = this.model;
    return noGrad(() => {
      const enc = m.encode(tensor(source, [1, source.length], { dtype: 'int32' }), [source.length]);
      let state = m.initialState(enc);
      let prev = m.config.bos_token_id;
      const out: number[] = [];
      while (out.length < this.maxNewTokens) {
        const r = m.step(enc, state, tensor(Int32Array.of(prev), [1], { dtype: 'int32' }));
        state = r.state;
        const logits = m.logits(r.output).toFloat32Array(); // (1, V)
        let best = 0;
        for (let v = 1; v < logits.length; v++) if (logits[v]! > logits[best]!) best = v;
        out.push(best);
        prev = best;
        if (best === m.config.eos_token_id) break;
      }
      return out;
    });
  }

  attentions(e: RNNEncoded, opts: { headMask?: HeadMask } = {}): AttentionGroup[] {
    if (opts.headMask !== undefined) throw new Error('an RNN seq2seq model has no attention heads to mask');
    const S = e.sourceIds.length;
    const T = e.decoderIds.length;
    const out = noGrad(() => this.model.forward(tensor(e.sourceIds, [1, S], { dtype: 'int32' }), [S], tensor(e.decoderIds, [1, T], { dtype: 'int32' })));
    const data = out.attentions!.toFloat32Array(); // (1, T, S): one head
    return [{ kind: 'alignments', queries: e.outputTokens, keys: e.tokens, causal: false, layers: [{ data, heads: 1, headIds: [0] }] }];
  }
}

/** A text as symbol ids: characters when every symbol of the table is one character, else space-separated. */
function symbolIds(table: SymbolTable, text: string, what: string): number[] {
  const plain = table.tokens.filter((t) => !/^<.+>$/.test(t));
  const chars = plain.every((t) => [...t].length === 1);
  const symbols = chars ? [...text] : text.split(/\s+/).filter((s) => s.length > 0);
  if (symbols.length === 0) throw new Error(`the ${what} is empty`);
  return symbols.map((s, i) => {
    const id = table.id(s);
    if (id === undefined) throw new Error(`${what} symbol ${JSON.stringify(s)} (position ${i}) is not in the model's ${what} vocabulary (${plain.slice(0, 12).join(' ')}${plain.length > 12 ? ' …' : ''})`);
    return id;
  });
}

function views(table: SymbolTable, ids: ArrayLike<number>): TokenView[] {
  return Array.from(ids, (id) => {
    const text = table.tokens[id] ?? `<${id}>`;
    const special = /^<.+>$/.test(text);
    return { id, text: special ? text : visibleWhitespace(text), special, punct: !special && /^[\p{P}\p{S}]+$/u.test(text) };
  });
}
