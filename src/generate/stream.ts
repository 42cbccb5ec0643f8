// Turning a stream of token ids into a stream of text, and stopping on strings.
//
// Why this needs care: with byte-level BPE (GPT-2) one character can be split over several tokens — "é" is
// two bytes, an emoji four — and decoding the first of them alone gives the replacement character U+FFFD.
// So we decode everything generated so far and hand out only the part that is complete: text up to, not
// including, a trailing run of U+FFFD. When the next token completes the character, it comes out whole.
//
// Everything here takes a plain `decode(ids) => string` function (any tokenizer's decode), so it does not
// depend on how a particular tokenizer is built.

/** Any tokenizer's decode: token ids → text. */
export type DecodeFn = (ids: number[]) => string;

/**
 * Turns one row's tokens into text piece by piece: push(id) returns the newly completed text (maybe ''),
 * flush() what is left at the end. IncrementalDecoder below is one; the tokenizers' StreamDecoder
 * (src/tokenizers/stream_decoder.ts) is another, cheaper one (it does not re-decode the whole row).
 */
export interface TokenTextDecoder {
  push(tokenId: number): string;
  flush(): string;
}

/** Where text comes from: a plain decode function, or a factory of incremental decoders (one per row). */
export type TextSource = DecodeFn | { newDecoder: () => TokenTextDecoder };

/** Receives generated tokens as they are chosen (transformers' BaseStreamer, one token at a time). */
export interface Streamer {
  /** One newly generated token of `row`. Never called for the padding that follows a finished row. */
  put(row: number, tokenId: number): void;
  /** Generation is over (flush what is held back). */
  end(): void;
}

const REPLACEMENT = '\uFFFD';

/**
 * Text of a growing token sequence, handed out as soon as characters are complete.
 * `const d = new IncrementalDecoder(decode); d.push(id)` → new text (maybe ''); `d.flush()` → the rest.
 * Cost: each push decodes the whole sequence again (O(n) per token), fine for the few thousand tokens of a
 * generation. It assumes decode(ids) only grows at the end as ids grow (true for byte-level BPE).
 */
export class IncrementalDecoder implements TokenTextDecoder {
  private readonly ids: number[] = [];
  private emitted = 0; // UTF-16 code units of decode(ids) already handed out
  private text = '';

  constructor(private readonly decode: DecodeFn) {}

  /** All text decoded so far, complete or not. */
  get fullText(): string {
    return this.text;
  }

  push(tokenId: number): string {
    this.ids.push(tokenId);
    this.text = this.decode(this.ids);
    let end = this.text.length;
    while (end > this.emitted && this.text[end - 1] === REPLACEMENT) end--; // hold back incomplete characters
    if (end <= this.emitted) return '';
    const out = this.text.slice(this.emitted, end);
    this.emitted = end;
    return out;
  }

  /** Whatever is still held back (replacement characters of bytes that never completed). */
  flush(): string {
    const out = this.text.slice(this.emitted);
    this.emitted = this.text.length;
    return out;
  }
}

/**
 * A Streamer that decodes each row incrementally and calls `onText(row, text)` with every new piece.
 * Example: `generate(stepper, [ids], { max_new_tokens: 50, streamer: new TextStreamer((ids) => tok.decode(ids), (r, t) => process.stdout.write(t)) })`
 * or, with the tokenizers' StreamDecoder: `new TextStreamer({ newDecoder: () => new StreamDecoder(bpe) }, onText)`.
 */
export class TextStreamer implements Streamer {
  private readonly rows = new Map<number, TokenTextDecoder>();
  private readonly newDecoder: () => TokenTextDecoder;

  constructor(
    source: TextSource,
    private readonly onText: (row: number, text: string) => void,
  ) {
    this.newDecoder = typeof source === 'function' ? () => new IncrementalDecoder(source) : source.newDecoder;
  }

  put(row: number, tokenId: number): void {
    let d = this.rows.get(row);
    if (!d) {
      d = this.newDecoder();
      this.rows.set(row, d);
    }
    const text = d.push(tokenId);
    if (text) this.onText(row, text);
  }

  end(): void {
    for (const [row, d] of this.rows) {
      const rest = d.flush();
      if (rest) this.onText(row, rest);
    }
  }
}

/**
 * Watches the generated text of each row for stop strings (an attn extension; transformers >= 4.39 has
 * `stop_strings`). The text of the tokens generated so far is decoded after every token; a row stops as soon
 * as it contains any stop string. The tokens that produced the stop string stay in the output (as in
 * transformers); cut the text at `indexOf(stop)` if you do not want it. A stop string that starts inside
 * the prompt is not seen (only generated text is searched).
 */
export class StopStringMatcher {
  private readonly generated: number[][];

  constructor(
    readonly stopStrings: readonly string[],
    private readonly decode: DecodeFn,
    rows: number,
  ) {
    for (const s of stopStrings) {
      if (typeof s !== 'string' || s.length === 0) throw new Error(`stop_strings: every stop string must be a non-empty string, got ${JSON.stringify(s)}`);
    }
    this.generated = Array.from({ length: rows }, () => []);
  }

  /** Record the next token of `row`; true if the row's generated text now contains a stop string. */
  push(row: number, tokenId: number): boolean {
    const ids = this.generated[row]!;
    ids.push(tokenId);
    const text = this.decode(ids);
    return this.stopStrings.some((s) => text.includes(s));
  }

  /** Rows were copied/reordered (num_return_sequences): new row i continues old row from[i]. */
  reorder(from: Int32Array): void {
    const old = this.generated.map((ids) => [...ids]);
    this.generated.length = 0;
    for (const r of from) this.generated.push([...old[r]!]);
  }
}
