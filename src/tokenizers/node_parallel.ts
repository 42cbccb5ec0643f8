// Node-only: encode a batch of texts on several threads (worker_threads).
//
// Encoding is independent per text, so a batch splits cleanly: each worker holds its own copy of the tokenizer
// (sent once, as typed arrays — see ByteLevelBPE.toIdConfig) and its own piece cache, receives groups of texts
// and sends back their ids as one Int32Array (transferred, not copied). The calling thread only hands out
// groups and assembles the results, so with N workers on N cores the batch runs about N times faster, minus
// the cost of copying the texts into the workers.
//
// This module is its own worker script: `new Worker(<this file>)` runs the `isMainThread === false` branch at
// the bottom. Workers are unref()'d, so an idle pool never keeps the process alive; close() is optional.

import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { ByteLevelBPE, type ByteLevelBPEIdConfig, type SpecialTokenOptions } from './bpe.js';

const ROLE = 'attn-bpe-encoder';

interface Job {
  job: number;
  texts: string[];
  options: SpecialTokenOptions;
}
interface JobResult {
  job: number;
  ids?: Int32Array; // all texts' ids back to back
  lengths?: Int32Array; // how many ids each text has
  error?: string;
}

export class ParallelEncoder {
  readonly threads: number;
  private readonly config: ByteLevelBPEIdConfig;
  private workers: Worker[] = [];
  private nextJob = 0;
  private readonly pending = new Map<number, (r: JobResult) => void>();

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
        const resolve = this.pending.get(r.job);
        this.pending.delete(r.job);
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

  private run(worker: Worker, texts: string[], options: SpecialTokenOptions): Promise<JobResult> {
    const job = this.nextJob++;
    return new Promise((resolve) => {
      this.pending.set(job, resolve);
      worker.ref(); // keep the process alive while a job is out
      worker.postMessage({ job, texts, options } satisfies Job);
    }).then((r) => {
      if (this.pending.size === 0) for (const w of this.workers) w.unref();
      return r as JobResult;
    });
  }

  /**
   * Encode every text (same rules as ByteLevelBPE.encode); one id list per text.
   * Texts are cut into about 4 groups per worker of similar total length; each worker takes the next group as
   * soon as it is free.
   */
  async encodeBatch(texts: readonly string[], options: SpecialTokenOptions = {}): Promise<number[][]> {
    const out: number[][] = new Array<number[]>(texts.length);
    await this.runGroups(texts, options, (first, r) => {
      let at = 0;
      for (let k = 0; k < r.lengths.length; k++) {
        const n = r.lengths[k]!;
        out[first + k] = Array.from(r.ids.subarray(at, at + n));
        at += n;
      }
    });
    return out;
  }

  /**
   * The same, flat: all ids back to back in one Int32Array, text i's ids at ids[offsets[i], offsets[i + 1]).
   * Cheaper than encodeBatch for big batches (no per-text arrays), and what a training data pipeline wants.
   */
  async encodeBatchFlat(texts: readonly string[], options: SpecialTokenOptions = {}): Promise<{ ids: Int32Array; offsets: Int32Array }> {
    const parts: Array<{ first: number; ids: Int32Array; lengths: Int32Array }> = [];
    await this.runGroups(texts, options, (first, r) => parts.push({ first, ...r }));
    parts.sort((a, b) => a.first - b.first);
    const offsets = new Int32Array(texts.length + 1);
    let total = 0;
    for (const p of parts) {
      for (let k = 0; k < p.lengths.length; k++) offsets[p.first + k + 1] = offsets[p.first + k]! + p.lengths[k]!;
      total += p.ids.length;
    }
    const ids = new Int32Array(total);
    for (const p of parts) ids.set(p.ids, offsets[p.first]!);
    return { ids, offsets };
  }

  /** Split texts into groups, run them on the workers, hand each group's result to `take`. */
  private async runGroups(
    texts: readonly string[],
    options: SpecialTokenOptions,
    take: (first: number, r: { ids: Int32Array; lengths: Int32Array }) => void,
  ): Promise<void> {
    this.start();
    const groups: Array<[number, number]> = []; // [first text, end) of each group
    let total = 0;
    for (const t of texts) total += t.length;
    const target = Math.max(1, total / (this.threads * 4));
    for (let i = 0; i < texts.length; ) {
      let j = i;
      let size = 0;
      while (j < texts.length && (j === i || size + texts[j]!.length <= target)) size += texts[j++]!.length;
      groups.push([i, j]);
      i = j;
    }
    let next = 0;
    const workerLoop = async (w: Worker) => {
      while (next < groups.length) {
        const [a, b] = groups[next++]!;
        const r = await this.run(w, texts.slice(a, b), options);
        if (r.error !== undefined || !r.ids || !r.lengths) throw new Error(`ParallelEncoder: ${r.error ?? 'no result from worker'}`);
        take(a, { ids: r.ids, lengths: r.lengths });
      }
    };
    await Promise.all(this.workers.map(workerLoop));
  }

  /** Stop the workers now (optional: idle workers do not keep the process alive). */
  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

// ── worker side ──────────────────────────────────────────────────────────────────────────────────────────────
if (!isMainThread && parentPort && (workerData as { role?: string } | null)?.role === ROLE) {
  const port = parentPort;
  const tokenizer = new ByteLevelBPE((workerData as { config: ByteLevelBPEIdConfig }).config);
  port.on('message', (msg: Job) => {
    try {
      const lists = msg.texts.map((t) => tokenizer.encode(t, msg.options));
      let total = 0;
      for (const l of lists) total += l.length;
      const ids = new Int32Array(total);
      const lengths = new Int32Array(lists.length);
      let at = 0;
      lists.forEach((l, k) => {
        ids.set(l, at);
        lengths[k] = l.length;
        at += l.length;
      });
      port.postMessage({ job: msg.job, ids, lengths } satisfies JobResult, [ids.buffer, lengths.buffer]);
    } catch (e) {
      port.postMessage({ job: msg.job, error: (e as Error).message } satisfies JobResult);
    }
  });
}
