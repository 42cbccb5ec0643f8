# The PyTorch peer of `train-transformer-g2p` (bench/seq2seq.ts): the G2P Transformer of `attn g2p` (the 2017
# encoder-decoder: post-LayerNorm, ReLU FFN, sinusoidal positions, one embedding matrix for source, target
# and output, Marian's final_logits_bias buffer) written out as plain torch modules, trained on the same
# batches of CMUdict pairs that attn trains on.
#
#   source (B, S) → E·√C + sinusoids → n_enc × [x = LN(x + SelfAttn(x, key padding)); x = LN(x + FFN(x))]
#   target in (B, T) → E·√C + sinusoids → n_dec × [causal self-attn; cross-attn to the source; FFN] → y·Eᵀ + b
#
# One timed unit is a full optimizer step: loss = label-smoothed (0.1) cross-entropy over non-padding labels;
# backward; clip the gradient norm at 1.0; AdamW (lr 1e-3, betas 0.9/0.98, weight decay 0.01 on matrices);
# zero the grads. tokens/s = real (non-padding) source + target tokens per step / median seconds per step.
# Attention uses F.scaled_dot_product_attention when this torch has it (2.x), else the explicit softmax.
#
# Usage: python3 bench/_g2p_torch.py train '{"n_enc":3,"n_dec":3,"d_model":128,"n_head":4,"ffn":512,"vocab":70,
#        "batches":[{"src":[[...]],"tgt":[[...]]}],"warmup":2,"min_steps":6,"min_s":3}' TORCH BLAS
# It prints one JSON object on stdout.
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from _torch_common import configure, finish

PAD, BOS = 0, 1


def sinusoids(n, C):
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    omega = torch.pow(10000.0, -2.0 * torch.arange(C // 2, dtype=torch.float32) / C)[None, :]
    return torch.cat([torch.sin(pos * omega), torch.cos(pos * omega)], dim=1)  # (n, C)


class Attention(nn.Module):
    def __init__(self, C, nh):
        super().__init__()
        self.nh = nh
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(C, C) for _ in range(4))

    def heads(self, x):
        B, T, C = x.shape
        return x.view(B, T, self.nh, C // self.nh).transpose(1, 2)  # (B, nh, T, hs)

    def forward(self, x, kv, mask):
        """mask: additive (B or 1, 1, T, S) with -inf at hidden keys."""
        B, T, C = x.shape
        q, k, v = self.heads(self.q_proj(x)), self.heads(self.k_proj(kv)), self.heads(self.v_proj(kv))
        att = (q @ k.transpose(-2, -1)) * (C // self.nh) ** -0.5 + mask  # (B, nh, T, S)
        y = att.softmax(dim=-1) @ v
        return self.out_proj(y.transpose(1, 2).reshape(B, T, C))


class EncoderLayer(nn.Module):
    def __init__(self, C, nh, F_):
        super().__init__()
        self.self_attn = Attention(C, nh)
        self.self_attn_layer_norm = nn.LayerNorm(C)
        self.fc1, self.fc2 = nn.Linear(C, F_), nn.Linear(F_, C)
        self.final_layer_norm = nn.LayerNorm(C)

    def forward(self, x, mask):
        x = self.self_attn_layer_norm(x + self.self_attn(x, x, mask))
        return self.final_layer_norm(x + self.fc2(F.relu(self.fc1(x))))


class DecoderLayer(nn.Module):
    def __init__(self, C, nh, F_):
        super().__init__()
        self.self_attn = Attention(C, nh)
        self.self_attn_layer_norm = nn.LayerNorm(C)
        self.encoder_attn = Attention(C, nh)
        self.encoder_attn_layer_norm = nn.LayerNorm(C)
        self.fc1, self.fc2 = nn.Linear(C, F_), nn.Linear(F_, C)
        self.final_layer_norm = nn.LayerNorm(C)

    def forward(self, y, h, causal, cross):
        y = self.self_attn_layer_norm(y + self.self_attn(y, y, causal))
        y = self.encoder_attn_layer_norm(y + self.encoder_attn(y, h, cross))
        return self.final_layer_norm(y + self.fc2(F.relu(self.fc1(y))))


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, nh, F_ = c['d_model'], c['n_head'], c['ffn']
        self.C = C
        self.shared = nn.Embedding(c['vocab'], C)
        self.register_buffer('positions', sinusoids(64, C), persistent=False)
        self.encoder_layers = nn.ModuleList([EncoderLayer(C, nh, F_) for _ in range(c['n_enc'])])
        self.decoder_layers = nn.ModuleList([DecoderLayer(C, nh, F_) for _ in range(c['n_dec'])])
        self.register_buffer('final_logits_bias', torch.zeros(c['vocab']))

    def embed(self, ids):
        return self.shared(ids) * math.sqrt(self.C) + self.positions[:ids.size(1)]

    def forward(self, src, dec):
        B, S = src.shape
        T = dec.size(1)
        key_pad = torch.zeros(B, 1, 1, S).masked_fill((src == PAD)[:, None, None, :], float('-inf'))
        causal = torch.full((T, T), float('-inf')).triu(1)[None, None]
        h = self.embed(src)
        for layer in self.encoder_layers:
            h = layer(h, key_pad)
        y = self.embed(dec)
        for layer in self.decoder_layers:
            y = layer(y, h, causal, key_pad)
        return y @ self.shared.weight.t() + self.final_logits_bias  # (B, T, V)


def pad_rows(rows, value):
    n = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (n - len(r)) for r in rows], dtype=torch.long)


def train(c):
    torch.manual_seed(1337)
    model = Transformer(c)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=1e-3, betas=(0.9, 0.98), eps=1e-8)
    batches = []
    for b in c['batches']:
        src = pad_rows(b['src'], PAD)
        labels = pad_rows(b['tgt'], -100)
        dec = torch.cat([torch.full((labels.size(0), 1), BOS), labels[:, :-1].clamp(min=0)], dim=1)  # shift right, -100 → pad
        tokens = sum(len(r) for r in b['src']) + sum(len(r) for r in b['tgt'])
        batches.append((src, dec, labels, tokens))
    losses = []

    def step(i):
        src, dec, labels, _ = batches[i % len(batches)]
        logits = model(src, dec)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100, label_smoothing=0.1)
        losses.append(loss.item())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for i in range(c['warmup']):
        step(i)
    times, tokens = [], []
    start = time.perf_counter()
    while len(times) < c['min_steps'] or time.perf_counter() - start < c['min_s']:
        i = len(times)
        t0 = time.perf_counter()
        step(c['warmup'] + i)
        times.append(time.perf_counter() - t0)
        tokens.append(batches[(c['warmup'] + i) % len(batches)][3])
    per_token = sorted(t / n for t, n in zip(times, tokens))
    return {'tokens_per_s': 1 / per_token[len(per_token) // 2], 'steps': len(times), 'first_loss': losses[0], 'params': n_params}


if __name__ == '__main__':
    mode, cfg, torch_threads, blas_threads = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    config, blas = configure(torch_threads, blas_threads)
    if mode != 'train':
        raise SystemExit(f'{__file__}: unknown mode {mode!r} (train)')
    print(json.dumps(finish(train(cfg), config, blas)))
