# The PyTorch peer of bench/attention.ts: one causal self-attention block of GPT-2 (c_attn → heads → causal
# softmax(q·kᵀ/√hs)·v → merge → c_proj), forward and backward of sum(out · g), as nanoGPT writes it without
# flash attention (Debian's torch 1.13 has no fused scaled_dot_product_attention, so the block computes all
# T×T scores and masks the upper half).
#
# Usage (see bench/_torch_common.py for TORCH and BLAS, which OMP_NUM_THREADS and OPENBLAS_NUM_THREADS must
# match):
#   python3 bench/_attention_torch.py block '{"cases":[{"B":12,"T":64,"C":128,"nh":4}, ...]}' TORCH BLAS
# prints {"ms": [median ms of one forward + backward, per case], ...} after one warm-up step per case,
# timing at least 3 steps and 1 s per case.
import json
import math
import sys
import time

import torch

from _torch_common import configure, finish


def block(c):
    B, T, C, nh = c['B'], c['T'], c['C'], c['nh']
    hs = C // nh
    x = torch.randn(B, T, C, requires_grad=True)
    w_attn = (torch.randn(C, 3 * C) * 0.02).requires_grad_()
    b_attn = torch.zeros(3 * C, requires_grad=True)
    w_proj = (torch.randn(C, C) * 0.02).requires_grad_()
    b_proj = torch.zeros(C, requires_grad=True)
    g = torch.randn(B, T, C)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    params = [x, w_attn, b_attn, w_proj, b_proj]

    def step():
        for p in params:
            p.grad = None
        qkv = x @ w_attn + b_attn  # (B, T, 3C)
        q, k, v = qkv.split(C, dim=2)
        q, k, v = (t.view(B, T, nh, hs).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, nh, T, T)
        att = att.masked_fill(~mask, float('-inf')).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        y = y @ w_proj + b_proj
        (y * g).sum().backward()

    step()
    times = []
    start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < 1.0:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1000


if __name__ == '__main__':
    mode, cfg = sys.argv[1], json.loads(sys.argv[2])
    config, blas = configure(int(sys.argv[3]), int(sys.argv[4]))
    assert mode == 'block', f'unknown mode {mode!r}; the only one is block'
    torch.manual_seed(0)
    print(json.dumps(finish({'ms': [block(c) for c in cfg['cases']]}, config, blas)))
