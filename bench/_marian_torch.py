# The PyTorch peer of the translation bench: a Marian-base-shaped encoder-decoder (Hugging Face's MarianMT
# architecture, as the opus-mt models use it) written out by hand as plain torch modules, random weights.
#
#   source ids → E·√C + sinusoidal positions → n_enc × EncoderLayer → h (1, S, C)
#   EncoderLayer(x) = LN(x + self_attn(x));  LN(x + fc2(SiLU(fc1(x))))             (post-LayerNorm)
#   target ids → E·√C + positions → n_dec × DecoderLayer → logits = y·Eᵀ + final_logits_bias
#   DecoderLayer(y) = LN(y + causal_self_attn(y));  LN(y + cross_attn(y, h));  LN(y + fc2(SiLU(fc1(y))))
# One embedding matrix E (V, C) is shared by the encoder, the decoder and the output head. Attention has
# separate q/k/v/out projections with biases; q is scaled by 1/√hs. Positions: Marian's sinusoids, sin in
# the first C/2 channels and cos in the last C/2.
#
# Generation (what a translation call does; the timed unit is the whole call, encoder included):
#   encode the source once; compute every decoder layer's cross-attention keys and values from it once
#   (cross_kv); then step the decoder one token at a time with a self-attention KV cache, starting from the
#   decoder start token (the pad id, as Marian). Greedy takes the argmax; beam search keeps the `beams`
#   best partial translations by summed log-probability, reordering the cache by beam each step. Nothing
#   ends a translation early (as generate() with min_new_tokens = max_new_tokens), so every run makes
#   exactly `new` tokens; the pad token is never chosen.
#   tokens/s = new / seconds per call (best of `runs`).
#
# Shape letters: S source tokens, P cached target tokens, T new target tokens, K beams, C d_model,
# nh heads, hs head size, V vocab, F FFN size.
#
# Usage (see bench/_torch_common.py for TORCH and BLAS, which OMP_NUM_THREADS and OPENBLAS_NUM_THREADS
# must match):
#   python3 bench/_marian_torch.py greedy '{"n_enc":6,"n_dec":6,"d_model":512,"n_head":8,"ffn":2048,
#                                          "vocab":58101,"src":32,"new":64,"runs":2}' TORCH BLAS
#   python3 bench/_marian_torch.py beam   '{..., "beams":4}' TORCH BLAS
# Each prints one JSON object on stdout. bench/_export_onnx.py imports Marian from here.
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from _torch_common import configure, finish


def sinusoids(n_positions, C):
    """Marian's table: row p is [sin(p·ω_0) … sin(p·ω_{C/2-1}), cos(p·ω_0) … cos(p·ω_{C/2-1})], ω_j = 10000^(-2j/C)."""
    pos = torch.arange(n_positions, dtype=torch.float32)[:, None]
    omega = torch.pow(10000.0, -2.0 * torch.arange(C // 2, dtype=torch.float32) / C)[None, :]
    return torch.cat([torch.sin(pos * omega), torch.cos(pos * omega)], dim=1)  # (n_positions, C)


class Attention(nn.Module):
    def __init__(self, C, nh):
        super().__init__()
        self.nh = nh
        self.q_proj = nn.Linear(C, C)
        self.k_proj = nn.Linear(C, C)
        self.v_proj = nn.Linear(C, C)
        self.out_proj = nn.Linear(C, C)

    def heads(self, x):
        B, T, C = x.shape
        return x.view(B, T, self.nh, C // self.nh).transpose(1, 2)  # (B, nh, T, hs)

    def forward(self, x, k, v, causal=False):
        """x (B, T, C) attends to keys/values k, v (B or 1, nh, S, hs); causal: the last T of S are x's own."""
        B, T, C = x.shape
        q = self.heads(self.q_proj(x)) * (C // self.nh) ** -0.5  # (B, nh, T, hs)
        att = q @ k.transpose(-2, -1)  # (B, nh, T, S)
        if causal and T > 1:  # with one new token every cached key is in its past: no mask needed
            S = k.size(2)
            allowed = torch.ones(T, S, dtype=torch.bool).tril(S - T)
            att = att.masked_fill(~allowed, float('-inf'))
        y = att.softmax(dim=-1) @ v  # (B, nh, T, hs)
        return self.out_proj(y.transpose(1, 2).reshape(B, T, C))


class EncoderLayer(nn.Module):
    def __init__(self, C, nh, F_):
        super().__init__()
        self.self_attn = Attention(C, nh)
        self.self_attn_layer_norm = nn.LayerNorm(C)
        self.fc1 = nn.Linear(C, F_)
        self.fc2 = nn.Linear(F_, C)
        self.final_layer_norm = nn.LayerNorm(C)

    def forward(self, x):
        a = self.self_attn
        x = self.self_attn_layer_norm(x + a(x, a.heads(a.k_proj(x)), a.heads(a.v_proj(x))))
        return self.final_layer_norm(x + self.fc2(F.silu(self.fc1(x))))


class DecoderLayer(nn.Module):
    def __init__(self, C, nh, F_):
        super().__init__()
        self.self_attn = Attention(C, nh)
        self.self_attn_layer_norm = nn.LayerNorm(C)
        self.encoder_attn = Attention(C, nh)
        self.encoder_attn_layer_norm = nn.LayerNorm(C)
        self.fc1 = nn.Linear(C, F_)
        self.fc2 = nn.Linear(F_, C)
        self.final_layer_norm = nn.LayerNorm(C)

    def forward(self, y, past_k, past_v, cross_k, cross_v):
        """y (B, T, C); past_k/v (B, nh, P, hs); cross_k/v (B or 1, nh, S, hs) → y, present k/v (B, nh, P+T, hs)."""
        a = self.self_attn
        k = torch.cat([past_k, a.heads(a.k_proj(y))], dim=2)  # (B, nh, P+T, hs)
        v = torch.cat([past_v, a.heads(a.v_proj(y))], dim=2)
        y = self.self_attn_layer_norm(y + a(y, k, v, causal=True))
        y = self.encoder_attn_layer_norm(y + self.encoder_attn(y, cross_k, cross_v))
        return self.final_layer_norm(y + self.fc2(F.silu(self.fc1(y)))), k, v


class Marian(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, nh, F_ = c['d_model'], c['n_head'], c['ffn']
        self.C, self.nh = C, nh
        self.pad_id = c['vocab'] - 1  # Marian's pad id is the last one; it is also the decoder start token
        self.shared = nn.Embedding(c['vocab'], C)
        self.register_buffer('positions', sinusoids(c.get('n_positions', 512), C), persistent=False)
        self.encoder_layers = nn.ModuleList([EncoderLayer(C, nh, F_) for _ in range(c['n_enc'])])
        self.decoder_layers = nn.ModuleList([DecoderLayer(C, nh, F_) for _ in range(c['n_dec'])])
        self.register_buffer('final_logits_bias', torch.zeros(1, c['vocab']))
        for name, t in self.named_parameters():  # init_std 0.02, zero biases, LayerNorm (1, 0)
            if 'layer_norm' in name:
                nn.init.ones_(t) if name.endswith('weight') else nn.init.zeros_(t)
            elif name.endswith('bias'):
                nn.init.zeros_(t)
            else:
                nn.init.normal_(t, 0.0, 0.02)

    def embed(self, ids, offset):
        T = ids.size(1)
        return self.shared(ids) * math.sqrt(self.C) + self.positions[offset:offset + T]  # (B, T, C)

    def encode(self, src):
        """src (1, S) → every decoder layer's cross-attention keys and values, [(k, v)] with k, v (1, nh, S, hs)."""
        h = self.embed(src, 0)
        for layer in self.encoder_layers:
            h = layer(h)
        return [(l.encoder_attn.heads(l.encoder_attn.k_proj(h)), l.encoder_attn.heads(l.encoder_attn.v_proj(h)))
                for l in self.decoder_layers]

    def decode(self, ids, past, cross):
        """ids (B, T), past [(k, v)] (B, nh, P, hs), cross [(k, v)] → logits (B, T, V), present [(k, v)]."""
        y = self.embed(ids, past[0][0].size(2))
        present = []
        for layer, (pk, pv), (ck, cv) in zip(self.decoder_layers, past, cross):
            y, k, v = layer(y, pk, pv, ck, cv)
            present.append((k, v))
        return F.linear(y, self.shared.weight) + self.final_logits_bias, present

    def empty_past(self, B):
        hs = self.C // self.nh
        return [(torch.zeros(B, self.nh, 0, hs), torch.zeros(B, self.nh, 0, hs)) for _ in self.decoder_layers]

    def greedy(self, src, new):
        cross = self.encode(src)
        past = self.empty_past(1)
        nxt = torch.full((1, 1), self.pad_id, dtype=torch.long)
        out = []
        for _ in range(new):
            logits, past = self.decode(nxt, past, cross)
            logits[:, -1, self.pad_id] = float('-inf')  # the pad token is never generated (as generate())
            nxt = logits[:, -1].argmax(dim=-1, keepdim=True)  # (1, 1)
            out.append(int(nxt))
        return out

    def beam(self, src, new, K):
        cross = self.encode(src)  # batch 1; broadcast over the K beams in the attention matmuls
        past = self.empty_past(K)
        nxt = torch.full((K, 1), self.pad_id, dtype=torch.long)
        scores = torch.zeros(K)
        scores[1:] = float('-inf')  # all beams start identical: let only the first one expand at step 1
        seqs = torch.zeros(K, 0, dtype=torch.long)
        for _ in range(new):
            logits, past = self.decode(nxt, past, cross)
            logp = logits[:, -1].log_softmax(dim=-1)  # (K, V)
            logp[:, self.pad_id] = float('-inf')
            V = logp.size(1)
            scores, flat = (scores[:, None] + logp).view(-1).topk(K)  # the K best (beam, token) pairs
            beam, tok = flat // V, flat % V
            seqs = torch.cat([seqs[beam], tok[:, None]], dim=1)  # (K, t)
            past = [(k[beam], v[beam]) for k, v in past]  # reorder the cache: each survivor keeps its parent's
            nxt = tok[:, None]
        return seqs[0].tolist()  # the best beam (all have the same length)


def generate(c, beam):
    torch.manual_seed(1337)
    model = Marian(c).eval()
    src = torch.randint(0, c['vocab'] - 1, (1, c['src']), generator=torch.Generator().manual_seed(0))
    best = None
    with torch.no_grad():
        for _ in range(c.get('runs', 2)):
            t0 = time.perf_counter()
            out = model.beam(src, c['new'], c['beams']) if beam else model.greedy(src, c['new'])
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
    assert len(out) == c['new']
    return {'tokens_per_s': c['new'] / best, 'call_s': best, 'first_tokens': out[:8],
            'params': sum(p.numel() for p in model.parameters())}


if __name__ == '__main__':
    mode, cfg = sys.argv[1], json.loads(sys.argv[2])
    config, blas = configure(int(sys.argv[3]), int(sys.argv[4]))
    out = {'greedy': lambda c: generate(c, False), 'beam': lambda c: generate(c, True)}[mode](cfg)
    print(json.dumps(finish(out, config, blas)))
