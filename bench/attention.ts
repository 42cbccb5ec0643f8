// `npm run bench -- attention [--json]`: one causal self-attention block, forward and backward, attn's tensor
// engine on the WebAssembly backend next to PyTorch (CPU, /usr/bin/python3), in the same run.
//
// Shape letters: B batch, T time, C channels, nh heads, hs head size (C = nh·hs).
// The block (GPT-2's, as in nanoGPT):
//   x (B, T, C) → c_attn: x·W + b (C → 3C) → split into q, k, v (B, T, C) each
//   → heads: (B, T, nh, hs) → transpose → (B, nh, T, hs)
//   → causal scaled-dot-product attention → (B, nh, T, hs) → back to (B, T, C) → c_proj (C → C)
// and then the backward pass of sum(out · g) for a fixed random g (so every gradient is a real one).
// attn runs the block as its GPT does: packedSelfAttention reads q, k, v for every head straight out of
// c_attn's (B, T, 3C) output and writes (B, T, C) for c_proj, so the split/transpose/merge steps above are
// done by the kernel's addressing, not by copies.
// One timed unit is forward + backward; the value is milliseconds per unit (median), lower is better.
//
// Cases: attn-b12-t64-c128 (4 heads of 32) and attn-b16-t256-c384 (6 heads of 64, the nanoGPT
// "shakespeare-char" width). PyTorch (bench/_attention_torch.py) is Debian's 1.13, which has no fused
// scaled_dot_product_attention, so its block computes softmax(q·kᵀ/√hs + causal mask)·v explicitly, as
// nanoGPT does without flash attention: all T×T scores, half of them masked, where attn skips the masked
// half. It runs once per threading configuration (bench/_common.ts, torchConfigs), a row each; the table
// states attn's ratio against the best.
import { setBackend } from '../src/backend/index.js';
import '../src/platform/node.js';
import * as T from '../src/tensor/index.js';
import { Rng, type Tensor } from '../src/tensor/index.js';
import { newReport, report, runTorch, timeIt, torchConfigs, wantJson } from './_common.js';

interface Case {
  name: string;
  B: number;
  T: number;
  C: number;
  nh: number;
}
const CASES: Case[] = [
  { name: 'attn-b12-t64-c128', B: 12, T: 64, C: 128, nh: 4 },
  { name: 'attn-b16-t256-c384', B: 16, T: 256, C: 384, nh: 6 },
];
const THREADS = [1, 2];

/** Parameters and inputs of one block, leaves that require grad. */
function makeBlock(c: Case, rng: Rng): { x: Tensor; wAttn: Tensor; bAttn: Tensor; wProj: Tensor; bProj: Tensor; g: Tensor } {
  const { B, T: Tt, C } = c;
  const std = 0.02;
  return {
    x: T.randn([B, Tt, C], { rng, requiresGrad: true }),
    wAttn: T.randn([C, 3 * C], { rng, std, requiresGrad: true }), // GPT-2 Conv1D layout (in, out)
    bAttn: T.zeros([3 * C], { requiresGrad: true }),
    wProj: T.randn([C, C], { rng, std, requiresGrad: true }),
    bProj: T.zeros([C], { requiresGrad: true }),
    g: T.randn([B, Tt, C], { rng }),
  };
}

function forwardBackward(c: Case, p: ReturnType<typeof makeBlock>): void {
  const { nh } = c;
  for (const t of [p.x, p.wAttn, p.bAttn, p.wProj, p.bProj]) t.grad = null;
  const qkv = T.linear(p.x, p.wAttn, p.bAttn, 'in_out'); // (B, T, 3C)
  const [B, Tt, C3] = qkv.shape as [number, number, number];
  const C = C3 / 3;
  const [q, k, v] = [0, 1, 2].map((i) => qkv.slice(2, i * C, (i + 1) * C).reshape(B, Tt, nh, C / nh)); // views (B, T, nh, hs)
  const { out } = T.attention(q!, k!, v!, { causal: true }); // (B, T, nh, hs), heads side by side
  const y = T.linear(out.reshape(B, Tt, C), p.wProj, p.bProj, 'in_out'); // (B, T, C)
  T.sum(T.mul(y, p.g)).backward();
}

const r = newReport('attention');
const rng = new Rng(0);
for (const threads of THREADS) {
  const backend = setBackend('wasm', { threads });
  for (const c of CASES) {
    const p = makeBlock(c, rng);
    const ms = await timeIt(() => forwardBackward(c, p));
    r.rows.push({ case: c.name, impl: 'attn', threads, value: ms, unit: 'ms', note: `${backend.name}, fwd+bwd` });
  }
  for (const tc of torchConfigs(threads)) {
    const res = runTorch<{ ms: number[] }>('_attention_torch.py', 'block', { cases: CASES }, tc);
    if (res === null) {
      if (!r.missing!.includes('pytorch')) r.missing!.push('pytorch');
      break;
    }
    CASES.forEach((c, i) => r.rows.push({
      case: c.name, impl: 'pytorch', threads, config: res.config, value: res.ms[i]!, unit: 'ms',
      note: `torch ${res.torch}, ${res.blas}, fwd+bwd; full T×T causal scores`,
    }));
  }
}
r.rows.sort((x, y) => CASES.findIndex((c) => c.name === x.case) - CASES.findIndex((c) => c.name === y.case) || (x.threads ?? 1) - (y.threads ?? 1));
report(r, wantJson());
