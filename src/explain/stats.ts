// What each head does, measured over a corpus, with the roles Voita et al. 2019 ("Analyzing Multi-Head
// Self-Attention: Specialized Heads Do the Heavy Lifting, the Rest Can Be Pruned") and Clark et al. 2019 ("What
// Does BERT Look At?") found:
//
//   positional head   its strongest attention (argmax) goes to the token at offset −1 (previous-token) or +1
//                     (next-token) in at least `positionalThreshold` (90 %) of positions
//   rare-token head   its argmax goes to the least frequent token of the input (frequency over the corpus)
//                     in at least `rareThreshold` of positions
//   no-op head        at least `noopThreshold` of its attention mass sits on "sink" tokens: special tokens
//                     ([CLS], [SEP], <s>, </s>), punctuation, and in a causal model the first token (the BOS
//                     a GPT may not have: Xiao et al. 2023's attention sink). Attending there changes little,
//                     which is how a head says "nothing to do here".
//
// and, for every head, the mean attention distance Σ_j a_ij·|i − j| and the mean entropy −Σ_j a_ij·log₂ a_ij
// (bits; log₂ of the number of keys for a uniform head, 0 for a head that looks at one token).
//
// A query is counted only where the measure means something: for offset −1 a query with a previous token; in a
// causal group query 0 (which can only see itself) is skipped; rare-token queries must see at least two
// ordinary tokens. Positional roles exist only where queries and keys are one sequence (not cross-attention).
import type { AttentionGroup, AttentionKind, HeadId } from './explainable.js';

export type HeadRole = 'previous-token' | 'next-token' | 'rare-token' | 'no-op';

export interface HeadStatsOptions {
  /** Share of positions for a positional head (default 0.9, Voita et al.'s). */
  positionalThreshold?: number;
  /** Share of positions for a rare-token head (default 0.5). */
  rareThreshold?: number;
  /** Mean attention mass on sink tokens for a no-op head (default 0.5). */
  noopThreshold?: number;
}

export interface HeadStats extends HeadId {
  /** Share of counted queries whose argmax is the previous token (null: not a self-attention group). */
  previousToken: number | null;
  /** Share whose argmax is the next token (null where no query can see its next token: causal or cross). */
  nextToken: number | null;
  /** Share whose argmax is the rarest token they can see (null without corpus frequencies). */
  rareToken: number | null;
  /** Mean attention mass on sink tokens. */
  noop: number;
  /** Mean attention distance in tokens (null for cross-attention, where positions are not comparable). */
  distance: number | null;
  /** Mean entropy of a query's distribution, in bits. */
  entropy: number;
  /** Queries counted (over the corpus). */
  queries: number;
  roles: HeadRole[];
}

/** One head's running sums. */
interface Sums {
  prev: number;
  prevN: number;
  next: number;
  nextN: number;
  rare: number;
  rareN: number;
  noop: number;
  distance: number;
  entropy: number;
  n: number;
}

const newSums = (): Sums => ({ prev: 0, prevN: 0, next: 0, nextN: 0, rare: 0, rareN: 0, noop: 0, distance: 0, entropy: 0, n: 0 });

/**
 * Accumulates head statistics over many inputs. Example:
 * `const acc = new HeadStatsAccumulator(freq); for (const e of encoded) acc.add(adapter.attentions(e)); acc.result()`.
 * `frequency(id)` is the token's count in the corpus (undefined: no rare-token statistic).
 */
export class HeadStatsAccumulator {
  private readonly sums = new Map<string, { id: HeadId; s: Sums; kind: AttentionKind }>();
  private readonly frequency: ((id: number) => number) | undefined;
  inputs = 0;

  constructor(frequency?: (id: number) => number) {
    this.frequency = frequency;
  }

  add(groups: readonly AttentionGroup[]): void {
    this.inputs++;
    for (const g of groups) {
      const Tq = g.queries.length;
      const Tk = g.keys.length;
      const square = g.kind !== 'cross' && g.kind !== 'alignments' && Tq === Tk;
      const sink = g.keys.map((k, j) => k.special || k.punct || (g.causal && j === 0));
      const rarest = this.frequency ? rarestVisible(g, this.frequency) : null;
      g.layers.forEach((layer, l) => {
        for (let p = 0; p < layer.heads; p++) {
          const id: HeadId = { group: g.kind, layer: l, head: layer.headIds[p]! };
          const key = `${g.kind}:${l}:${id.head}`;
          let entry = this.sums.get(key);
          if (!entry) this.sums.set(key, (entry = { id, s: newSums(), kind: g.kind }));
          const s = entry.s;
          for (let i = 0; i < Tq; i++) {
            if (g.causal && i === 0) continue; // sees only itself: says nothing about the head
            const row = layer.data.subarray((p * Tq + i) * Tk, (p * Tq + i + 1) * Tk);
            let arg = 0;
            let mass = 0;
            let ent = 0;
            let dist = 0;
            for (let j = 0; j < Tk; j++) {
              const a = row[j]!;
              if (a > row[arg]!) arg = j;
              if (sink[j]) mass += a;
              if (a > 0) ent -= a * Math.log2(a);
              dist += a * Math.abs(i - j);
            }
            s.n++;
            s.noop += mass;
            s.entropy += ent;
            s.distance += dist;
            if (square && i > 0) {
              s.prevN++;
              if (arg === i - 1) s.prev++;
            }
            if (square && !g.causal && i + 1 < Tk) {
              s.nextN++;
              if (arg === i + 1) s.next++;
            }
            const r = rarest?.[i];
            if (r) {
              s.rareN++;
              if (r.has(arg)) s.rare++;
            }
          }
        }
      });
    }
  }

  /** Statistics and roles of every head seen, in group, layer, head order. */
  result(opts: HeadStatsOptions = {}): HeadStats[] {
    const pos = opts.positionalThreshold ?? 0.9;
    const rare = opts.rareThreshold ?? 0.5;
    const noop = opts.noopThreshold ?? 0.5;
    for (const [name, v] of [['positionalThreshold', pos], ['rareThreshold', rare], ['noopThreshold', noop]] as const) {
      if (!(v > 0 && v <= 1)) throw new Error(`head statistics: ${name} must be in (0, 1], got ${v}`);
    }
    const out: HeadStats[] = [];
    for (const { id, s, kind } of this.sums.values()) {
      const share = (k: number, n: number) => (n > 0 ? k / n : null);
      const st: HeadStats = {
        ...id,
        previousToken: share(s.prev, s.prevN),
        nextToken: share(s.next, s.nextN),
        rareToken: share(s.rare, s.rareN),
        noop: s.n ? s.noop / s.n : 0,
        distance: kind === 'cross' || kind === 'alignments' ? null : s.n ? s.distance / s.n : 0,
        entropy: s.n ? s.entropy / s.n : 0,
        queries: s.n,
        roles: [],
      };
      if ((st.previousToken ?? 0) >= pos) st.roles.push('previous-token');
      if ((st.nextToken ?? 0) >= pos) st.roles.push('next-token');
      if ((st.rareToken ?? 0) >= rare) st.roles.push('rare-token');
      if (st.noop >= noop) st.roles.push('no-op');
      out.push(st);
    }
    const order = (h: HeadId) => [['self', 'encoder', 'decoder', 'cross', 'alignments'].indexOf(h.group), h.layer, h.head];
    return out.sort((a, b) => {
      const [x, y] = [order(a), order(b)];
      return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
    });
  }
}

/**
 * For each query, the key positions holding the least frequent ordinary (non-special) token it can see, or null
 * when it sees fewer than two ordinary tokens (then "rarest" means nothing).
 */
function rarestVisible(g: AttentionGroup, frequency: (id: number) => number): Array<Set<number> | null> {
  const freq = g.keys.map((k) => (k.special ? Infinity : frequency(k.id)));
  const all = (upTo: number): Set<number> | null => {
    let min = Infinity;
    let ordinary = 0;
    for (let j = 0; j < upTo; j++) {
      if (freq[j] === Infinity) continue;
      ordinary++;
      min = Math.min(min, freq[j]!);
    }
    if (ordinary < 2) return null;
    const set = new Set<number>();
    for (let j = 0; j < upTo; j++) if (freq[j] === min) set.add(j);
    return set;
  };
  if (!g.causal) {
    const s = all(g.keys.length);
    return g.queries.map(() => s);
  }
  const offset = g.keys.length - g.queries.length; // query i sees keys 0..offset + i
  return g.queries.map((_, i) => all(offset + i + 1));
}

/** Token counts of a corpus of encoded inputs: `frequency(id)` for HeadStatsAccumulator. */
export function tokenFrequency(inputs: Iterable<{ tokens: ReadonlyArray<{ id: number }> }>): (id: number) => number {
  const counts = new Map<number, number>();
  for (const e of inputs) for (const t of e.tokens) counts.set(t.id, (counts.get(t.id) ?? 0) + 1);
  return (id) => counts.get(id) ?? 0;
}
