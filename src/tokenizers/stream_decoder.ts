// Streaming decode: turn token ids into text one id at a time, as a model generates them.
//
// Byte-level tokens do not line up with characters. "🙂" is four UTF-8 bytes (F0 9F 99 82) and GPT-2 spells it
// with two or three tokens, each holding part of a character. Decoding each token on its own would print
// replacement characters ("\uFFFD\uFFFD") followed by nothing. StreamDecoder keeps the bytes of an unfinished
// character until the token that completes it arrives, and only then returns text — so the concatenation of
// everything push() and flush() return equals decode(allIds) exactly.
//
// The work is done by TextDecoder's streaming mode ({ stream: true }), which is specified to hold back an
// incomplete trailing sequence and to turn bytes that can never become valid UTF-8 into U+FFFD right away.

/** Anything that can give the bytes of token ids (ByteLevelBPE has this method). */
export interface TokenBytesSource {
  decodeBytes(ids: ArrayLike<number>): Uint8Array;
}

export class StreamDecoder {
  private readonly source: TokenBytesSource;
  private decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  /**
   * Example:
   *   const out = new StreamDecoder(gpt2());
   *   for (const id of generatedIds) process.stdout.write(out.push(id));
   *   process.stdout.write(out.flush());
   */
  constructor(source: TokenBytesSource) {
    this.source = source;
  }

  /** Add one token; returns the text completed by it that was not returned yet (often '', never a partial character). */
  push(id: number): string {
    return this.decoder.decode(this.source.decodeBytes([id]), { stream: true });
  }

  /** End of stream: returns what is left; bytes of a character that never completed become U+FFFD. */
  flush(): string {
    const rest = this.decoder.decode();
    this.decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // ready for a new stream
    return rest;
  }
}
