// Node-only: encode a batch of texts on several threads (worker_threads).
//
// Encoding is independent per text, so a batch splits cleanly into groups of texts, one worker encoding a
// group at a time. What decides whether two threads are faster than one is what ELSE the threads do. Measured
// per MB of text (GPT-2, on the machine this was tuned on): encoding ~15-29 ms; handing the text to a worker as
// strings (postMessage's structured clone) ~7 ms, most of it on the calling thread and all of it again for
// every group; writing it once as UTF-8 into shared memory (Buffer.write) under 1 ms, and turning a group's
// bytes back into strings in its worker ~3 ms, which the workers do in parallel. And the calling thread is a
// poor encoder itself: it holds the caller's whole heap, so its garbage collections are long.
//
// So a batch goes like this:
//   1. the calling thread cuts the batch into groups of similar length (8 per worker) and writes every text
//      as UTF-8 into one SharedArrayBuffer (kept for the next batch: fresh memory costs a page fault per 4 KB,
//      more than the writing), with each text's byte range;
//   2. every worker gets ONE message for the whole batch and takes groups from a shared counter
//      (Atomics.add) until none is left: a fast worker simply takes more groups, and no worker waits for a
//      round trip between groups;
//   3. each worker sends back all its ids in one Int32Array (transferred, not copied), and the calling thread
//      puts the groups in order.
// Each worker holds its own copy of the tokenizer (sent once, as typed arrays — see ByteLevelBPE.toIdConfig)
// and its own piece cache.
//
// This module is its own worker script: `new Worker(<this file>)` runs the `isMainThread === false` branch at
// the bottom. Workers are unref()'d, so an idle pool never keeps the process alive; close() is optional.

import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { ByteLevelBPE, type ByteLevelBPEIdConfig, type SpecialTokenOptions } from './bpe.js';

const ROLE = 'attn-bpe-encoder';
/** Groups per worker: enough for the fast workers to take over a slow one's share. */
const GROUPS_PER_THREAD = 8;

/** One batch, as every worker receives it. */
interface Job {
  job: number;
  /** UTF-8 of all texts, back to back (shared). */
  bytes: SharedArrayBuffer;
  /** textBytes[i], textBytes[i + 1]: byte range of text i. */
  textBytes: Int32Array;
  /** groupTexts[g], groupTexts[g + 1]: text range of group g. */
  groupTexts: Int32Array;
  /** counter[0]: the next group to take (shared by the workers of this batch). */
  counter: SharedArrayBuffer;
  options: SpecialTokenOptions;
}
/** A worker's answer: the groups it took, their texts' ids back to back, and each text's id count. */
interface JobResult {
  job: number;
  groups?: Int32Array;
  ids?: Int32Array;
  lengths?: Int32Array;
  error?: string;
}

export class ParallelEncoder {
  readonly threads: number;
  private readonly config: ByteLevelBPEIdConfig;
  private workers: Worker[] = [];
  private nextJob = 0;
  /** Answers awaited, by "job/worker". */
  private readonly pending = new Map<string, (r: JobResult) => void>();
  /** The text buffer kept between batches, and whether a batch in flight is using it. */
  private text: SharedArrayBuffer | undefined;
  private textInUse = false;

  /**
   * `threads`: worker count (default: the machine's available parallelism, at most 8).
   * Example:
   *   const enc = new ParallelEncoder(gpt2());
   *   const ids = await enc.encodeBatch(documents); // number[][], one per document
   */
  constructor(tokenizer: ByteLevelBPE, options: { threads?: number } = {}) {
    this.threads = options.threads ?? Math.min(availableParallelism(), 8);
    if (!Number.isInteger(this.threads) || this.threads < 1) throw new Error(`ParallelEncoder: threads must be an integer >= 1, got ${this.threads}`);
    this.config = tokenizer.toIdConfig();
  }

  private start(): void {
    if (this.workers.length > 0) return;
    for (let i = 0; i < this.threads; i++) {
      const w = new Worker(new URL(import.meta.url), { workerData: { role: ROLE, config: this.config } });
      w.unref();
      w.on('message', (r: JobResult) => {
        const resolve = this.pending.get(`${r.job}/${i}`);
        this.pending.delete(`${r.job}/${i}`);
        resolve?.(r);
      });
      w.on('error', (e) => {
        // A worker died (out of memory, say): fail what is pending and start fresh workers on the next call.
        for (const resolve of this.pending.values()) resolve({ job: -1, error: `worker failed: ${e.message}` });
        this.pending.clear();
        void this.close();
      });
      this.workers.push(w);
    }
  }

  /**
   * Encode every text (same rules as ByteLevelBPE.encode); one id list per text.
   * Example: `await enc.encodeBatch(['a', 'b c'])` is [[64], [65, 269]] for GPT-2.
   */
  async encodeBatch(texts: readonly string[], options: SpecialTokenOptions = {}): Promise<number[][]> {
    const { ids, offsets } = await this.encodeBatchFlat(texts, options);
    const out: number[][] = new Array<number[]>(texts.length);
    for (let i = 0; i < texts.length; i++) out[i] = Array.from(ids.subarray(offsets[i]!, offsets[i + 1]!));
    return out;
  }

  /**
   * The same, flat: all ids back to back in one Int32Array, text i's ids at ids[offsets[i], offsets[i + 1]).
   * Cheaper than encodeBatch for big batches (no per-text arrays), and what a training data pipeline wants.
   */
  async encodeBatchFlat(texts: readonly string[], options: SpecialTokenOptions = {}): Promise<{ ids: Int32Array; offsets: Int32Array }> {
    if (texts.length === 0) return { ids: new Int32Array(0), offsets: new Int32Array(1) };
    this.start();
    // 1. Groups of similar total length, and the texts as UTF-8 in shared memory (at most 3 bytes per unit).
    let total = 0;
    for (const t of texts) total += t.length;
    const target = Math.max(1, total / (this.workers.length * GROUPS_PER_THREAD));
    const groupTexts: number[] = [0];
    for (let i = 0; i < texts.length; ) {
      let j = i;
      let size = 0;
      while (j < texts.length && (j === i || size + texts[j]!.length <= target)) size += texts[j++]!.length;
      groupTexts.push(j);
      i = j;
    }
    const groups = groupTexts.length - 1;
    const bytes = this.textBuffer(total * 3);
    const buffer = Buffer.from(bytes);
    const textBytes = new Int32Array(texts.length + 1);
    for (let i = 0; i < texts.length; i++) textBytes[i + 1] = textBytes[i]! + buffer.write(texts[i]!, textBytes[i]!, 'utf8');

    // 2. One message per worker; they share the group counter.
    const job = this.nextJob++;
    const counter = new SharedArrayBuffer(4);
    const message: Job = { job, bytes, textBytes, groupTexts: Int32Array.from(groupTexts), counter, options };
    const answers = await Promise.all(
      this.workers.map(
        (w, k) =>
          new Promise<JobResult>((resolve) => {
            this.pending.set(`${job}/${k}`, resolve);
            w.ref(); // keep the process alive while a job is out
            w.postMessage(message);
          }),
      ),
    );
    if (bytes === this.text) this.textInUse = false;
    if (this.pending.size === 0) for (const w of this.workers) w.unref();

    // 3. Each worker's ids, cut back into its groups, then all groups in text order.
    const groupIds: Array<Int32Array | undefined> = new Array<Int32Array | undefined>(groups);
    const offsets = new Int32Array(texts.length + 1);
    for (const r of answers) {
      if (r.error !== undefined || !r.groups || !r.ids || !r.lengths) {
        const error = r.error ?? 'no result from a worker';
        throw new Error(error.startsWith('worker failed') ? `ParallelEncoder: ${error}` : error);
      }
      let idAt = 0;
      let lengthAt = 0;
      for (const g of r.groups) {
        let count = 0;
        for (let i = groupTexts[g]!; i < groupTexts[g + 1]!; i++) {
          const n = r.lengths[lengthAt++]!;
          offsets[i + 1] = n; // the count for now; summed below
          count += n;
        }
        groupIds[g] = r.ids.subarray(idAt, idAt + count);
        idAt += count;
      }
    }
    for (let i = 0; i < texts.length; i++) offsets[i + 1]! += offsets[i]!;
    const ids = new Int32Array(offsets[texts.length]!);
    for (let g = 0; g < groups; g++) ids.set(groupIds[g]!, offsets[groupTexts[g]!]!);
    return { ids, offsets };
  }

  /** A shared buffer of at least `size` bytes for a batch's text: the last one, unless a batch still uses it. */
  private textBuffer(size: number): SharedArrayBuffer {
    if (this.textInUse) return new SharedArrayBuffer(Math.max(size, 1));
    if (this.text === undefined || this.text.byteLength < size) this.text = new SharedArrayBuffer(Math.max(size, 1 << 16));
    this.textInUse = true;
    return this.text;
  }

  /** Stop the workers now (optional: idle workers do not keep the process alive). */
  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

/** A growable Int32Array of ids plus the id count of each text (a worker keeps one between batches). */
class IdSink {
  ids = new Int32Array(1 << 16);
  used = 0;
  lengths: number[] = [];
  push(list: readonly number[]): void {
    if (this.used + list.length > this.ids.length) {
      const bigger = new Int32Array(Math.max(this.ids.length * 2, this.used + list.length));
      bigger.set(this.ids.subarray(0, this.used));
      this.ids = bigger;
    }
    for (let k = 0; k < list.length; k++) this.ids[this.used + k] = list[k]!;
    this.used += list.length;
    this.lengths.push(list.length);
  }
  clear(): void {
    this.used = 0;
    this.lengths = [];
  }
}

// ── worker side ──────────────────────────────────────────────────────────────────────────────────────────────
if (!isMainThread && parentPort && (workerData as { role?: string } | null)?.role === ROLE) {
  const port = parentPort;
  const tokenizer = new ByteLevelBPE((workerData as { config: ByteLevelBPEIdConfig }).config);
  const sink = new IdSink(); // kept between batches (fresh memory costs page faults)
  port.on('message', (msg: Job) => {
    const counter = new Int32Array(msg.counter);
    const groups = msg.groupTexts.length - 1;
    const buffer = Buffer.from(msg.bytes);
    const taken: number[] = [];
    sink.clear();
    try {
      for (let g = Atomics.add(counter, 0, 1); g < groups; g = Atomics.add(counter, 0, 1)) {
        // Each text of the group decoded from its bytes into a string of its own, then encoded.
        for (let i = msg.groupTexts[g]!; i < msg.groupTexts[g + 1]!; i++) {
          sink.push(tokenizer.encode(buffer.toString('utf8', msg.textBytes[i]!, msg.textBytes[i + 1]!), msg.options));
        }
        taken.push(g);
      }
      const ids = sink.ids.slice(0, sink.used);
      const lengths = Int32Array.from(sink.lengths);
      const groupsTaken = Int32Array.from(taken);
      port.postMessage({ job: msg.job, groups: groupsTaken, ids, lengths } satisfies JobResult, [
        ids.buffer as ArrayBuffer,
        lengths.buffer as ArrayBuffer,
        groupsTaken.buffer as ArrayBuffer,
      ]);
    } catch (e) {
      Atomics.store(counter, 0, groups); // the other workers stop after their current group
      port.postMessage({ job: msg.job, error: (e as Error).message } satisfies JobResult);
    }
  });
}
