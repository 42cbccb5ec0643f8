# The PyTorch peer of bench/train.ts and bench/generate.ts: the same GPT-2 as src/models/gpt.ts, written out
# by hand (nanoGPT's model.py without dropout or flash attention), so both sides do the same FLOPs:
#
#   ids → wte + wpe → n_layer × Block → ln_f → logits = h · wteᵀ   (the head is tied to wte)
#   Block(x) = x + attn(ln_1(x));  x + mlp(ln_2(x))                 (pre-LayerNorm)
#   attn = softmax(q·kᵀ/√hs + causal mask)·v with c_attn (C → 3C) and c_proj (C → C)
#   mlp  = c_fc (C → 4C) → GELU (tanh approximation) → c_proj (4C → C)
#
# Debian's torch is 1.13, which has no fused scaled_dot_product_attention, so attention is the explicit
# softmax(q·kᵀ)·v that nanoGPT falls back to. nn.Linear stores its weight (out, in) where GPT-2's Conv1D
# (and attn) stores (in, out): the same multiply-adds either way.
#
# Usage (what the benches run; one process per case and threading configuration, so ru_maxrss is that
# run's peak). TORCH and BLAS are the sizes of torch's OpenMP pool and of OpenBLAS's pool (see
# bench/_torch_common.py); OMP_NUM_THREADS=TORCH and OPENBLAS_NUM_THREADS=BLAS must be set to match:
#   python3 bench/_gpt_torch.py train    '{"n_layer":4,"n_head":4,"n_embd":128,"block":64,"batch":12,
#                                          "vocab":65,"warmup":3,"min_steps":10,"min_s":5}' TORCH BLAS
#   python3 bench/_gpt_torch.py decode   '{"n_layer":12,...,"vocab":50257,"prompt":16,"new":64}' TORCH BLAS
#   python3 bench/_gpt_torch.py prefill  '{"n_layer":12,...,"vocab":50257,"prompt":512,"runs":3}' TORCH BLAS
#   python3 bench/_gpt_torch.py bandwidth '{"mb":256}' TORCH BLAS
# Each prints one JSON object on stdout, with the configuration it ran under ("config": "torch=1,openblas=2").
# bench/_export_onnx.py imports GPT from here to export the same model to ONNX.
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from _torch_common import configure, finish


class Block(nn.Module):
    def __init__(self, C, nh, n_positions):
        super().__init__()
        self.nh = nh
        self.ln_1 = nn.LayerNorm(C, eps=1e-5)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C, eps=1e-5)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)
        self.register_buffer('mask', torch.ones(n_positions, n_positions, dtype=torch.bool).tril())

    def forward(self, x, cache, i):
        B, T, C = x.shape
        nh, hs = self.nh, C // self.nh
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, nh, hs).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        if cache is not None:
            if cache[i] is not None:
                k = torch.cat([cache[i][0], k], dim=2)  # (B, nh, S, hs)
                v = torch.cat([cache[i][1], v], dim=2)
            cache[i] = (k, v)
        S = k.size(2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, nh, T, S)
        if T > 1:  # one new token sees every cached key: no mask needed
            att = att.masked_fill(~self.mask[S - T:S, :S], float('-inf'))
        y = att.softmax(dim=-1) @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))


class GPT(nn.Module):
    def __init__(self, n_layer, n_head, n_embd, n_positions, vocab):
        super().__init__()
        self.wte = nn.Embedding(vocab, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head, n_positions) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd, eps=1e-5)
        # GPT-2's initialisation, as src/models/gpt.ts: N(0, 0.02), residual projections / sqrt(2·n_layer).
        for name, p in self.named_parameters():
            if name.endswith('bias'):
                nn.init.zeros_(p)
            elif 'ln_' in name:
                nn.init.ones_(p)
            else:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(('c_proj.weight', 'mlp_proj.weight')) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids, cache=None):
        B, T = ids.shape
        P = 0 if cache is None or cache[0] is None else cache[0][0].size(2)
        x = self.wte(ids) + self.wpe(torch.arange(P, P + T))
        for i, block in enumerate(self.h):
            x = block(x, cache, i)
        return F.linear(self.ln_f(x), self.wte.weight)  # (B, T, V): the tied head, x·wteᵀ (as nn.Linear does)


def make_model(c):
    return GPT(c['n_layer'], c['n_head'], c['n_embd'], c.get('n_positions', c.get('block')), c['vocab'])


def train(c):
    """Median seconds per optimizer step: forward, loss, backward, clip at 1.0, AdamW, as nanoGPT's train.py."""
    torch.manual_seed(1337)
    model = make_model(c)
    n_params = sum(p.numel() for p in model.parameters())
    # nanoGPT's groups: decay matrices and embeddings (ndim ≥ 2), not biases and LayerNorm.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=1e-3, betas=(0.9, 0.99), eps=1e-8)
    B, T, V = c['batch'], c['block'], c['vocab']
    batches = [torch.randint(0, V, (B, T + 1)) for _ in range(4)]
    losses = []

    def step(i):
        xy = batches[i % len(batches)]
        logits = model(xy[:, :-1])
        loss = F.cross_entropy(logits.reshape(B * T, V), xy[:, 1:].reshape(B * T))
        losses.append(loss.item())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for i in range(c['warmup']):
        step(i)
    times = []
    start = time.perf_counter()
    while len(times) < c['min_steps'] or time.perf_counter() - start < c['min_s']:
        t0 = time.perf_counter()
        step(len(times))
        times.append(time.perf_counter() - t0)
    times.sort()
    return {'step_s': times[len(times) // 2], 'steps': len(times), 'first_loss': losses[0], 'params': n_params}


def decode(c):
    """Greedy decoding with the KV cache at batch 1: a prompt, then c['new'] tokens; tokens/s of the new ones."""
    torch.manual_seed(1337)
    model = make_model(c).eval()
    prompt = torch.randint(0, c['vocab'], (1, c['prompt']))
    best = None
    with torch.no_grad():
        for _ in range(c.get('runs', 2)):
            cache = [None] * c['n_layer']
            logits = model(prompt, cache)
            nxt = logits[:, -1].argmax(dim=-1, keepdim=True)
            t0 = time.perf_counter()
            for _ in range(c['new']):
                logits = model(nxt, cache)
                nxt = logits[:, -1].argmax(dim=-1, keepdim=True)
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
    return {'tokens_per_s': c['new'] / best, 'params': sum(p.numel() for p in model.parameters())}


def prefill(c):
    """One forward of a c['prompt']-token prompt filling a fresh KV cache (logits at every position)."""
    torch.manual_seed(1337)
    model = make_model(c).eval()
    prompt = torch.randint(0, c['vocab'], (1, c['prompt']))
    times = []
    with torch.no_grad():
        model(prompt, [None] * c['n_layer'])  # warm-up
        for _ in range(c.get('runs', 3)):
            t0 = time.perf_counter()
            model(prompt, [None] * c['n_layer'])
            times.append(time.perf_counter() - t0)
    times.sort()
    return {'tokens_per_s': c['prompt'] / times[len(times) // 2], 'params': sum(p.numel() for p in model.parameters())}


def bandwidth(c):
    """Memory bandwidth: a big tensor copy (bytes read + written) and a big sum (bytes read), best of 5."""
    n = c['mb'] * (1 << 20) // 4
    a = torch.rand(n)
    b = torch.empty(n)
    b.copy_(a)
    copy = min(timed(lambda: b.copy_(a)) for _ in range(5))
    read = min(timed(lambda: a.sum()) for _ in range(5))
    return {'copy_gbs': 2 * 4 * n / copy / 1e9, 'read_gbs': 4 * n / read / 1e9}


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == '__main__':
    mode, cfg = sys.argv[1], json.loads(sys.argv[2])
    config, blas = configure(int(sys.argv[3]), int(sys.argv[4]))
    out = {'train': train, 'decode': decode, 'prefill': prefill, 'bandwidth': bandwidth}[mode](cfg)
    print(json.dumps(finish(out, config, blas)))
