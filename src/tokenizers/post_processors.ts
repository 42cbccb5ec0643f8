// Post-processors: the step after the model, which adds the special tokens a model expects around its input.
//
//   BERT, one text:   [CLS] A [SEP]            type ids 0 ... 0
//   BERT, two texts:  [CLS] A [SEP] B [SEP]    type ids 0 ... 0  1 ... 1
//   RoBERTa:          <s> A </s></s> B </s>    type ids all 0
//   GPT-2:            nothing added (ByteLevel only trims spaces from offsets)
//
// Hugging Face describes the general case as a template (TemplateProcessing): a list of pieces, each either a
// special token or one of the input sequences, each with a type id. "[CLS] $A:0 [SEP]:0 $B:1 [SEP]:1" is BERT's
// pair template. BertProcessing and RobertaProcessing are fixed templates kept for old tokenizer.json files.
//
// The flow for one input is HF's `PostProcessor::process`: mark each sequence's tokens with its sequence id
// (0 or 1) and type id, let the processor turn the list of encodings into a list of pieces, then merge the
// pieces left to right. Truncation happens BEFORE this step, with the room the special tokens will need
// (`addedTokens`) subtracted from max_length.
//
// Supported (tokenizer.json `type`): TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence.

import { bytesToUnicode } from './byte_level.js';
import { cloneEncoding, mergeEncodings, type Encoding } from './encoding.js';

/** The tokenizer.json form of a post-processor. */
export type PostProcessorJSON = { type: string; [key: string]: unknown };

export interface PostProcessor {
  /** How many tokens the processor adds for one text (isPair false) or two. */
  addedTokens(isPair: boolean): number;
  /**
   * Turn the list [A] or [A, B] into the list of pieces to merge (HF `process_encodings`). `texts` are the
   * original texts of A and B (offset trimming needs them to step over whole characters).
   */
  processEncodings(encodings: Encoding[], addSpecialTokens: boolean, texts?: readonly string[]): Encoding[];
  toJSON(): PostProcessorJSON;
}

function setAll<T>(arr: T[], value: T): void {
  for (let i = 0; i < arr.length; i++) arr[i] = value;
}

/**
 * Post-process one (or a pair of) raw encodings into the final Encoding. With no processor, the sequences are
 * simply concatenated. Example: `postProcess(bertTemplate, a, undefined, true)` gives [CLS] a... [SEP].
 */
export function postProcess(
  processor: PostProcessor | null,
  a: Encoding,
  b: Encoding | undefined,
  addSpecialTokens: boolean,
  texts?: readonly string[],
): Encoding {
  const encodings = b ? [a, b] : [a];
  if (!processor) {
    if (encodings.length === 1) return a;
    encodings.forEach((e, i) => {
      setAll(e.sequenceIds, i);
      for (const o of e.overflowing) setAll(o.sequenceIds, i);
    });
    return mergeEncodings(encodings);
  }
  encodings.forEach((e, i) => {
    setAll(e.sequenceIds, i);
    for (const o of e.overflowing) setAll(o.sequenceIds, i);
    setAll(e.typeIds, i);
  });
  return mergeEncodings(processor.processEncodings(encodings, addSpecialTokens, texts));
}

/** One piece of a template: a special token or an input sequence, with the type id its tokens get. */
export type TemplatePiece = { kind: 'special'; id: string; typeId: number } | { kind: 'sequence'; sequence: 'A' | 'B'; typeId: number };

/** A special token of a template: its name in the template and the id(s)/token(s) it expands to. */
export interface TemplateSpecialToken {
  id: string;
  ids: number[];
  tokens: string[];
}

/**
 * Parse a template string the way HF does: pieces separated by spaces, "$A" / "$B" / "$" / "$0" ... for
 * sequences, anything else a special token, each optionally followed by ":typeId".
 * Example: parseTemplate("[CLS] $A [SEP] $B:1 [SEP]:1").
 */
export function parseTemplate(template: string): TemplatePiece[] {
  return template.split(' ').map((part) => {
    const pieces = part.split(':');
    if (pieces.length > 2 || part.length === 0) {
      throw new Error(`template ${JSON.stringify(template)}: cannot read the piece ${JSON.stringify(part)}`);
    }
    let typeId: number | undefined;
    if (pieces.length === 2) {
      if (!/^\d+$/.test(pieces[1])) {
        throw new Error(`template ${JSON.stringify(template)}: type id in ${JSON.stringify(part)} must be a non-negative integer`);
      }
      typeId = Number(pieces[1]);
    }
    const name = pieces[0];
    if (name.startsWith('$')) {
      const rest = name.slice(1);
      if (rest === '' || rest === 'A' || rest === 'a') return { kind: 'sequence', sequence: 'A', typeId: typeId ?? 0 };
      if (rest === 'B' || rest === 'b') return { kind: 'sequence', sequence: 'B', typeId: typeId ?? 0 };
      if (/^\d+$/.test(rest)) return { kind: 'sequence', sequence: 'A', typeId: typeId ?? Number(rest) };
      throw new Error(`template ${JSON.stringify(template)}: unknown sequence ${JSON.stringify(name)} (use $A or $B)`);
    }
    return { kind: 'special', id: name, typeId: typeId ?? 0 };
  });
}

/** An Encoding made of one special token (offsets [0, 0], special mask 1, no word, no sequence). */
function specialEncoding(tok: TemplateSpecialToken, typeId: number): Encoding {
  const n = tok.ids.length;
  return {
    ids: tok.ids.slice(),
    tokens: tok.tokens.slice(),
    offsets: Array.from({ length: n }, () => [0, 0] as [number, number]),
    typeIds: new Array<number>(n).fill(typeId),
    attentionMask: new Array<number>(n).fill(1),
    specialTokensMask: new Array<number>(n).fill(1),
    wordIds: new Array<number | null>(n).fill(null),
    sequenceIds: new Array<number | null>(n).fill(null),
    overflowing: [],
  };
}

/**
 * HF's TemplateProcessing.
 * Example (BERT):
 *   TemplateProcessing.fromStrings('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [['[CLS]', 101], ['[SEP]', 102]])
 */
export class TemplateProcessing implements PostProcessor {
  readonly single: TemplatePiece[];
  readonly pair: TemplatePiece[];
  readonly specialTokens: Map<string, TemplateSpecialToken>;

  constructor(single: TemplatePiece[], pair: TemplatePiece[], specialTokens: Map<string, TemplateSpecialToken>) {
    this.single = single;
    this.pair = pair;
    this.specialTokens = specialTokens;
    const missing = new Set<string>();
    for (const p of [...single, ...pair]) if (p.kind === 'special' && !specialTokens.has(p.id)) missing.add(p.id);
    if (missing.size > 0) {
      throw new Error(
        `TemplateProcessing: the template uses special token(s) ${[...missing].map((m) => JSON.stringify(m)).join(', ')} ` +
          `but "special_tokens" only defines ${[...specialTokens.keys()].map((k) => JSON.stringify(k)).join(', ') || 'none'}`,
      );
    }
    const hasA = pair.some((p) => p.kind === 'sequence' && p.sequence === 'A');
    const hasB = pair.some((p) => p.kind === 'sequence' && p.sequence === 'B');
    if (!hasA || !hasB) throw new Error('TemplateProcessing: the pair template must use both $A and $B');
    for (const t of specialTokens.values()) {
      if (t.ids.length !== t.tokens.length) {
        throw new Error(`TemplateProcessing: special token ${JSON.stringify(t.id)} has ${t.ids.length} ids but ${t.tokens.length} tokens`);
      }
    }
  }

  /** Build from template strings and [token, id] pairs. */
  static fromStrings(single: string, pair: string, specialTokens: ReadonlyArray<[string, number]>): TemplateProcessing {
    const map = new Map<string, TemplateSpecialToken>();
    for (const [token, id] of specialTokens) map.set(token, { id: token, ids: [id], tokens: [token] });
    return new TemplateProcessing(parseTemplate(single), parseTemplate(pair), map);
  }

  addedTokens(isPair: boolean): number {
    let n = 0;
    for (const p of isPair ? this.pair : this.single) {
      if (p.kind === 'special') n += (this.specialTokens.get(p.id) as TemplateSpecialToken).ids.length;
    }
    return n;
  }

  processEncodings(encodings: Encoding[], addSpecialTokens: boolean): Encoding[] {
    const template = encodings.length === 2 ? this.pair : this.single;
    const out: Encoding[] = [];
    for (const piece of template) {
      if (piece.kind === 'sequence') {
        const index = piece.sequence === 'A' ? 0 : 1;
        const e = encodings[index];
        if (!e) continue; // a pair template piece for B while encoding one text: cannot happen by construction
        const copy = cloneEncoding(e);
        setAll(copy.typeIds, piece.typeId);
        setAll(copy.sequenceIds, index);
        out.push(copy);
      } else if (addSpecialTokens) {
        out.push(specialEncoding(this.specialTokens.get(piece.id) as TemplateSpecialToken, piece.typeId));
      }
    }
    return out;
  }

  toJSON(): PostProcessorJSON {
    const pieceJSON = (p: TemplatePiece): Record<string, unknown> =>
      p.kind === 'special' ? { SpecialToken: { id: p.id, type_id: p.typeId } } : { Sequence: { id: p.sequence, type_id: p.typeId } };
    const special: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of this.specialTokens) special[k] = { id: v.id, ids: v.ids.slice(), tokens: v.tokens.slice() };
    return { type: 'TemplateProcessing', single: this.single.map(pieceJSON), pair: this.pair.map(pieceJSON), special_tokens: special };
  }
}

/** HF's BertProcessing: the template [CLS] $A [SEP] / [CLS] $A [SEP] $B:1 [SEP]:1 with given tokens. */
export class BertProcessing implements PostProcessor {
  private readonly template: TemplateProcessing;
  constructor(
    readonly sep: [string, number],
    readonly cls: [string, number],
  ) {
    this.template = TemplateProcessing.fromStrings(`${cls[0]} $A ${sep[0]}`, `${cls[0]} $A ${sep[0]} $B:1 ${sep[0]}:1`, [cls, sep]);
  }
  addedTokens(isPair: boolean): number {
    return isPair ? 3 : 2;
  }
  processEncodings(encodings: Encoding[], addSpecialTokens: boolean): Encoding[] {
    if (!addSpecialTokens) return encodings;
    return this.template.processEncodings(encodings, true);
  }
  toJSON(): PostProcessorJSON {
    return { type: 'BertProcessing', sep: [this.sep[0], this.sep[1]], cls: [this.cls[0], this.cls[1]] };
  }
}

const BYTE_LEVEL_SPACE = bytesToUnicode()[0x20]; // 'Ġ'
const WHITESPACE_RE = /^\p{White_Space}$/u;

/**
 * Byte-level offset trimming (HF `process_offsets`): a token " world" (stored "Ġworld") covers the space
 * before the word; with trim_offsets its offsets start after the space instead. With add_prefix_space, a single
 * leading space on the first token is kept (it was added by the pre-tokenizer and covers nothing).
 * Hugging Face counts the trimmed spaces in characters; given the original `text`, we step over whole
 * characters too (the added prefix space of a text starting with an emoji stands for two UTF-16 units).
 */
export function trimByteLevelOffsets(e: Encoding, addPrefixSpace: boolean, text?: string): void {
  const isSpace = (ch: string): boolean => ch === BYTE_LEVEL_SPACE || WHITESPACE_RE.test(ch);
  const forward = (at: number, n: number): number => {
    let p = at;
    for (let k = 0; k < n; k++) p += text !== undefined && isHighSurrogateAt(text, p) ? 2 : 1;
    return p;
  };
  const backward = (at: number, n: number): number => {
    let p = at;
    for (let k = 0; k < n; k++) p -= text !== undefined && p >= 2 && isHighSurrogateAt(text, p - 2) ? 2 : 1;
    return p;
  };
  e.tokens.forEach((token, i) => {
    const chars = [...token];
    let leading = 0;
    while (leading < chars.length && isSpace(chars[leading])) leading++;
    let trailing = 0;
    while (trailing < chars.length && isSpace(chars[chars.length - 1 - trailing])) trailing++;
    if (leading === 0 && trailing === 0) return;
    const off = e.offsets[i];
    if (leading > 0) {
      const isFirst = i === 0 || off[0] === 0;
      if (isFirst && addPrefixSpace && leading === 1) leading = 0;
      off[0] = Math.min(forward(off[0], leading), off[1]);
    }
    if (trailing > 0 && off[1] >= trailing) off[1] = Math.max(backward(off[1], trailing), off[0]);
  });
}

/** True when text[at] and text[at + 1] form a surrogate pair (one character, two UTF-16 units). */
function isHighSurrogateAt(text: string, at: number): boolean {
  const c = text.charCodeAt(at);
  const d = text.charCodeAt(at + 1);
  return c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff;
}

/** HF's ByteLevel post-processor: adds nothing, only trims offsets when trim_offsets is true. */
export class ByteLevelProcessing implements PostProcessor {
  constructor(
    readonly trimOffsets = true,
    readonly addPrefixSpace = true,
  ) {}
  addedTokens(): number {
    return 0;
  }
  processEncodings(encodings: Encoding[], _addSpecialTokens: boolean, texts?: readonly string[]): Encoding[] {
    if (this.trimOffsets) {
      encodings.forEach((e, i) => {
        trimByteLevelOffsets(e, this.addPrefixSpace, texts?.[i]);
        for (const o of e.overflowing) trimByteLevelOffsets(o, this.addPrefixSpace, texts?.[i]);
      });
    }
    return encodings;
  }
  toJSON(): PostProcessorJSON {
    return { type: 'ByteLevel', add_prefix_space: this.addPrefixSpace, trim_offsets: this.trimOffsets, use_regex: true };
  }
}

/** HF's RobertaProcessing: <s> A </s> / <s> A </s></s> B </s>, every type id 0, optional offset trimming. */
export class RobertaProcessing implements PostProcessor {
  private readonly template: TemplateProcessing;
  constructor(
    readonly sep: [string, number],
    readonly cls: [string, number],
    readonly trimOffsets = true,
    readonly addPrefixSpace = true,
  ) {
    this.template = TemplateProcessing.fromStrings(`${cls[0]} $A ${sep[0]}`, `${cls[0]} $A ${sep[0]} ${sep[0]} $B ${sep[0]}`, [cls, sep]);
  }
  addedTokens(isPair: boolean): number {
    return isPair ? 4 : 2;
  }
  processEncodings(encodings: Encoding[], addSpecialTokens: boolean, texts?: readonly string[]): Encoding[] {
    if (this.trimOffsets) {
      encodings.forEach((e, i) => {
        trimByteLevelOffsets(e, this.addPrefixSpace, texts?.[i]);
        for (const o of e.overflowing) trimByteLevelOffsets(o, this.addPrefixSpace, texts?.[i]);
      });
    }
    for (const e of encodings) {
      setAll(e.typeIds, 0);
      for (const o of e.overflowing) setAll(o.typeIds, 0);
    }
    if (!addSpecialTokens) return encodings;
    return this.template.processEncodings(encodings, true);
  }
  toJSON(): PostProcessorJSON {
    return {
      type: 'RobertaProcessing',
      sep: [this.sep[0], this.sep[1]],
      cls: [this.cls[0], this.cls[1]],
      trim_offsets: this.trimOffsets,
      add_prefix_space: this.addPrefixSpace,
    };
  }
}

/** Several post-processors in a row (e.g. ByteLevel offset trimming, then a template). */
export class SequenceProcessing implements PostProcessor {
  constructor(readonly processors: readonly PostProcessor[]) {}
  addedTokens(isPair: boolean): number {
    return this.processors.reduce((n, p) => n + p.addedTokens(isPair), 0);
  }
  processEncodings(encodings: Encoding[], addSpecialTokens: boolean, texts?: readonly string[]): Encoding[] {
    let out = encodings;
    for (const p of this.processors) out = p.processEncodings(out, addSpecialTokens, texts);
    return out;
  }
  toJSON(): PostProcessorJSON {
    return { type: 'Sequence', processors: this.processors.map((p) => p.toJSON()) };
  }
}

/** The post-processor types `postProcessorFromJSON` accepts, for error messages. */
export const SUPPORTED_POST_PROCESSORS = ['TemplateProcessing', 'BertProcessing', 'RobertaProcessing', 'ByteLevel', 'Sequence'] as const;

function tokenPair(obj: PostProcessorJSON, key: string): [string, number] {
  const v = obj[key];
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'number') {
    throw new Error(`tokenizer.json post_processor ${obj.type}: "${key}" must be ["token", id], got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}

function templateFromJSON(value: unknown, field: string): TemplatePiece[] {
  if (!Array.isArray(value)) throw new Error(`tokenizer.json post_processor TemplateProcessing: "${field}" must be a list of pieces`);
  return value.map((p: unknown) => {
    const piece = p as { SpecialToken?: { id?: unknown; type_id?: unknown }; Sequence?: { id?: unknown; type_id?: unknown } };
    if (piece.SpecialToken && typeof piece.SpecialToken.id === 'string') {
      return { kind: 'special', id: piece.SpecialToken.id, typeId: Number(piece.SpecialToken.type_id ?? 0) };
    }
    if (piece.Sequence && (piece.Sequence.id === 'A' || piece.Sequence.id === 'B')) {
      return { kind: 'sequence', sequence: piece.Sequence.id, typeId: Number(piece.Sequence.type_id ?? 0) };
    }
    throw new Error(`tokenizer.json post_processor TemplateProcessing: cannot read the piece ${JSON.stringify(p)} in "${field}"`);
  });
}

/** Build a post-processor from its tokenizer.json form; unknown types are an error listing the supported ones. */
export function postProcessorFromJSON(obj: PostProcessorJSON): PostProcessor {
  const bool = (key: string, fallback: boolean): boolean => {
    const v = obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') throw new Error(`tokenizer.json post_processor ${obj.type}: "${key}" must be true or false`);
    return v;
  };
  switch (obj.type) {
    case 'TemplateProcessing': {
      const specials = new Map<string, TemplateSpecialToken>();
      const raw = obj.special_tokens;
      if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
        throw new Error('tokenizer.json post_processor TemplateProcessing: "special_tokens" must be an object');
      }
      for (const [name, value] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
        const v = value as { id?: unknown; ids?: unknown; tokens?: unknown };
        if (!Array.isArray(v.ids) || !Array.isArray(v.tokens)) {
          throw new Error(`tokenizer.json post_processor TemplateProcessing: special token ${JSON.stringify(name)} needs "ids" and "tokens" lists`);
        }
        specials.set(name, { id: typeof v.id === 'string' ? v.id : name, ids: v.ids.map(Number), tokens: v.tokens.map(String) });
      }
      return new TemplateProcessing(templateFromJSON(obj.single, 'single'), templateFromJSON(obj.pair, 'pair'), specials);
    }
    case 'BertProcessing':
      return new BertProcessing(tokenPair(obj, 'sep'), tokenPair(obj, 'cls'));
    case 'RobertaProcessing':
      return new RobertaProcessing(tokenPair(obj, 'sep'), tokenPair(obj, 'cls'), bool('trim_offsets', true), bool('add_prefix_space', true));
    case 'ByteLevel':
      return new ByteLevelProcessing(bool('trim_offsets', true), bool('add_prefix_space', true));
    case 'Sequence': {
      if (!Array.isArray(obj.processors)) throw new Error('tokenizer.json post_processor Sequence: "processors" must be a list');
      return new SequenceProcessing((obj.processors as PostProcessorJSON[]).map((p) => postProcessorFromJSON(p)));
    }
    default:
      throw new Error(
        `tokenizer.json post_processor: type ${JSON.stringify(obj.type)} is not supported; supported post-processors: ${SUPPORTED_POST_PROCESSORS.join(', ')}`,
      );
  }
}
