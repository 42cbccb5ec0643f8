// Head roles on constructed attention patterns (values worked by hand), attention rollout on a 2-token example
// worked by hand, and readable token text checked against GPT-2's byte-level alphabet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttentionGroup, HeadMask, TokenView } from '../../src/explain/explainable.js';
import { pruningCurve } from '../../src/explain/prune.js';
import { sum, mul, tensor, type Tensor } from '../../src/tensor/index.js';
import { HeadStatsAccumulator } from '../../src/explain/stats.js';
import { rollout } from '../../src/explain/rollout.js';
import { readableToken, tokenViews } from '../../src/explain/tokens.js';
import { Tokenizer } from '../../src/tokenizers/index.js';

const tok = (id: number, text: string, extra: Partial<TokenView> = {}): TokenView => ({ id, text, special: false, punct: false, ...extra });

/** A one-layer group whose heads are built by `rows(head, i)` → the (Tk) distribution of query i. */
function group(kind: AttentionGroup['kind'], tokens: TokenView[], causal: boolean, heads: Array<(i: number, T: number) => number[]>): AttentionGroup {
  const T = tokens.length;
  const data = new Float32Array(heads.length * T * T);
  heads.forEach((f, h) => {
    for (let i = 0; i < T; i++) data.set(f(i, T), (h * T + i) * T);
  });
  return { kind, queries: tokens, keys: tokens, causal, layers: [{ data, heads: heads.length, headIds: heads.map((_, h) => h) }] };
}

const onehot = (T: number, j: number) => Array.from({ length: T }, (_, k) => (k === j ? 1 : 0));

test('causal roles: previous-token, rare-token, no-op (first token) and a uniform head with none', () => {
  // "the cat sat on the mat ." — ids: the=1 (frequent), cat=2, sat=3, on=4, mat=5 (rarest), .=6 (punct)
  const tokens = [tok(1, 'the'), tok(2, '␣cat'), tok(3, '␣sat'), tok(4, '␣on'), tok(1, '␣the'), tok(5, '␣mat'), tok(6, '.', { punct: true })];
  const freq = new Map([[1, 100], [2, 10], [3, 10], [4, 50], [5, 1], [6, 80]]);
  const T = tokens.length;
  const g = group('self', tokens, true, [
    (i) => onehot(T, Math.max(0, i - 1)), // previous token
    (i) => Array.from({ length: T }, (_, k) => (k <= i ? 1 / (i + 1) : 0)), // uniform over what it sees
    (i) => onehot(T, 0), // the first token: the sink
    // the rarest token it can see: cat (10, tied with sat) until mat (1) appears at 5
    (i) => onehot(T, i >= 5 ? 5 : i >= 1 ? 1 : 0),
  ]);
  const acc = new HeadStatsAccumulator((id) => freq.get(id) ?? 0);
  acc.add([g]);
  const [prev, uniform, sink, rare] = acc.result({ rareThreshold: 0.6 });
  // queries 1..6 are counted (query 0 sees only itself)
  assert.equal(prev!.queries, 6);
  assert.equal(prev!.previousToken, 1);
  assert.equal(prev!.nextToken, null); // causal: no query sees its next token
  assert.deepEqual(prev!.roles, ['previous-token']);
  assert.equal(prev!.distance, 1);
  assert.equal(prev!.entropy, 0);
  // uniform over i+1 keys: entropy log2(i+1), distance i/2, mass on sinks (first token + '.') 1/(i+1) (+1/7 at i=6)
  const mean = (f: (i: number) => number) => [1, 2, 3, 4, 5, 6].reduce((s, i) => s + f(i), 0) / 6;
  assert.ok(Math.abs(uniform!.entropy - mean((i) => Math.log2(i + 1))) < 1e-6);
  assert.ok(Math.abs(uniform!.distance! - mean((i) => i / 2)) < 1e-6);
  assert.ok(Math.abs(uniform!.noop - mean((i) => (i === 6 ? 2 : 1) / (i + 1))) < 1e-6);
  assert.equal(uniform!.previousToken, 1 / 6); // ties: the argmax is the first maximum, key 0; only query 1 hits i−1 = 0
  assert.deepEqual(uniform!.roles, []);
  assert.equal(sink!.noop, 1);
  assert.deepEqual(sink!.roles, ['no-op']);
  // rare head: the rarest visible tokens are {cat} at query 1, {cat, sat} for 2..4, {mat} for 5..6
  assert.equal(rare!.rareToken, 1);
  assert.ok(rare!.roles.includes('rare-token'));
  assert.equal(prev!.rareToken, 0.5); // queries 2, 3 and 6 land on a rarest token (cat, sat, mat); 1, 4 and 5 miss
  assert.deepEqual(acc.result()[0]!.roles, ['previous-token', 'rare-token']); // at the default threshold 0.5 it is both
});

test('bidirectional roles: next-token with [CLS]/[SEP] as sinks; thresholds are flags', () => {
  const tokens = [tok(101, '[CLS]', { special: true }), tok(7, 'a'), tok(8, 'b'), tok(9, 'c'), tok(102, '[SEP]', { special: true })];
  const T = tokens.length;
  const g = group('encoder', tokens, false, [
    (i) => onehot(T, Math.min(T - 1, i + 1)), // next token (the last query looks at itself)
    (i) => (i % 2 === 0 ? onehot(T, 4) : onehot(T, 0)), // [SEP] or [CLS]
  ]);
  const acc = new HeadStatsAccumulator();
  acc.add([g]);
  const [next, noop] = acc.result();
  assert.equal(next!.nextToken, 1); // queries 0..3 all hit i+1
  assert.equal(next!.previousToken, 0);
  assert.equal(next!.rareToken, null); // no frequencies given
  assert.deepEqual(next!.roles, ['next-token']);
  assert.deepEqual(noop!.roles, ['no-op']);
  assert.equal(acc.result({ positionalThreshold: 1, noopThreshold: 1 })[1]!.roles.length, 1);
  assert.throws(() => acc.result({ positionalThreshold: 0 }), /positionalThreshold must be in \(0, 1\]/);
  // 75 % of queries at +1: a positional head at the 0.8 threshold, not at the default 0.9
  const g2 = group('encoder', tokens, false, [(i) => onehot(T, i === 0 ? 3 : Math.min(T - 1, i + 1))]);
  const acc2 = new HeadStatsAccumulator();
  acc2.add([g2]);
  assert.equal(acc2.result()[0]!.nextToken, 0.75);
  assert.deepEqual(acc2.result()[0]!.roles, []);
  assert.deepEqual(acc2.result({ positionalThreshold: 0.75 })[0]!.roles, ['next-token']);
});

test('rollout on two tokens, by hand', () => {
  const tokens = [tok(1, 'a'), tok(2, 'b')];
  // One head: A = [[1, 0], [0.5, 0.5]] → Â = (A + I) / rows = [[1, 0], [0.25, 0.75]]
  const layer = { data: Float32Array.of(1, 0, 0.5, 0.5), heads: 1, headIds: [0] };
  const g: AttentionGroup = { kind: 'self', queries: tokens, keys: tokens, causal: true, layers: [layer, layer] };
  const [r1, r2] = rollout(g);
  assert.deepEqual([...r1!], [1, 0, 0.25, 0.75]);
  // Â·Â = [[1, 0], [0.25 + 0.75·0.25, 0.75·0.75]] = [[1, 0], [0.4375, 0.5625]]
  assert.deepEqual([...r2!], [1, 0, 0.4375, 0.5625]);
  assert.throws(() => rollout({ ...g, kind: 'cross' }), /rollout needs self-attention/);
});

test('readable tokens: byte-level bytes decoded, split characters as bytes, whitespace visible', () => {
  assert.equal(readableToken('Ġthe', true), '␣the');
  assert.equal(readableToken('ĊĊ', true), '↵↵');
  assert.equal(readableToken('Ã©', true), 'é');
  assert.equal(readableToken('Ã', true), '\\xc3');
  assert.equal(readableToken('##ing', false), '##ing');
  assert.equal(readableToken('▁the', false), '␣the');
  // GPT-2's tokenizer splits "café" into "ca" "f" "é"? Whatever it does, the labels read back the text.
  const t = Tokenizer.gpt2();
  const views = tokenViews(t, t.encode('Hello café!\n<|endoftext|>'));
  assert.equal(views.map((v) => v.text).join(''), 'Hello␣café!↵<|endoftext|>');
  assert.equal(views[views.length - 1]!.special, true);
  assert.ok(views.some((v) => v.text === '!' && v.punct));
  // A character split across tokens: each token shows its bytes.
  const split = tokenViews(t, t.encode('🤗'));
  assert.deepEqual(split.map((v) => v.text), ['\\xf0\\x9f', '\\xa4', '\\x97']);
});

test('pruningCurve: a baseline of 0 gives absolute changes (no NaN), and the order is by |∂L/∂ξ|', () => {
  // One layer of three heads; the loss is Σ c_h·ξ_h, so |∂L/∂ξ_h| = |c_h|: head 1 (c = 0.5) goes first, then
  // head 2 (c = 1), then head 0 (c = 3). Quality: 0 for the whole model, −0.004 per head removed except head 0,
  // which costs 0.1.
  const c = [3, 0.5, 1];
  const layouts = [{ group: 'self' as const, nHead: 3, layers: [[0, 1, 2]] }];
  const objective = {
    metric: { name: 'accuracy', higherIsBetter: true },
    batches: 1,
    rows: () => 1,
    loss: (_i: number, gates: HeadMask) => sum(mul(gates.self![0] as Tensor, tensor(c, [1, 3]))),
    quality: (mask?: HeadMask) => {
      const m = mask?.self?.[0] as Float32Array | undefined;
      if (!m) return 0;
      return -(m[0] === 0 ? 0.1 : 0) - 0.004 * ((m[1] === 0 ? 1 : 0) + (m[2] === 0 ? 1 : 0));
    },
  };
  const curve = pruningCurve(layouts, objective, { tolerance: 0.01 });
  assert.deepEqual(curve.points.map((p) => p.heads.map((h) => h.head)), [[], [1], [2], [0]]);
  const worse = curve.points.map((p) => p.worse);
  [0, 0.004, 0.008, 0.108].forEach((w, i) => assert.ok(Math.abs(worse[i]! - w) < 1e-9, `point ${i}: worse ${worse[i]}, expected ${w}`));
  assert.equal(curve.removableWithinTolerance, 2);
});
