# The PyTorch peers of bench/rnn.ts, written the way a PyTorch user would write them:
#   lstm       torch.nn.LSTM (2 layers, bidirectional), forward and backward of sum(output · g) with the input
#              requiring grad, as attn's LSTM module runs it;
#   bahdanau   the G2P model of src/models/rnn_attention.ts with Bahdanau attention, step for step as the
#              PyTorch seq2seq tutorial writes it (embedding → bidirectional GRU encoder on a packed batch →
#              bridge; per target step: additive scores vᵀtanh(W s + U h) with U h computed once, masked
#              softmax, context, nn.GRU step on [e; c], tanh(combine[s; c; e]) → generator), cross-entropy
#              on the real target positions, backward, gradient clipping, an AdamW step.
#
# Usage (see bench/_torch_common.py for TORCH and BLAS, which OMP_NUM_THREADS and OPENBLAS_NUM_THREADS must
# match):
#   python3 bench/_rnn_torch.py lstm '{"T":50,"B":32,"I":256,"H":256,"layers":2}' TORCH BLAS
#   python3 bench/_rnn_torch.py bahdanau '{"B":64,"src_lengths":[...],"tgt_lengths":[...],"E":64,"H":128,
#       "Hd":256,"A":128,"src_vocab":31,"tgt_vocab":43}' TORCH BLAS
# prints {"ms": median ms of one step, "tokens": tokens per step, ...} after a warm-up step, timing at least
# 3 steps and 2 s.
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from _torch_common import configure, finish


def timed(step, min_s=2.0):
    step()
    times = []
    start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < min_s:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1000


def lstm(c):
    T, B, I, H, L = c['T'], c['B'], c['I'], c['H'], c['layers']
    m = nn.LSTM(I, H, num_layers=L, bidirectional=True)
    x = torch.randn(T, B, I, requires_grad=True)
    g = torch.randn(T, B, 2 * H)

    def step():
        m.zero_grad(set_to_none=True)
        x.grad = None
        out, _ = m(x)
        (out * g).sum().backward()

    return {'ms': timed(step), 'tokens': T * B}


class Bahdanau(nn.Module):
    def __init__(self, c):
        super().__init__()
        E, H, Hd, A = c['E'], c['H'], c['Hd'], c['A']
        self.src_embed = nn.Embedding(c['src_vocab'], E)
        self.encoder = nn.GRU(E, H, bidirectional=True)
        self.bridge = nn.Linear(2 * H, Hd)
        self.tgt_embed = nn.Embedding(c['tgt_vocab'], E)
        self.decoder = nn.GRU(E + 2 * H, Hd)
        self.attn_W = nn.Linear(Hd, A, bias=False)
        self.attn_U = nn.Linear(2 * H, A)
        self.attn_v = nn.Linear(A, 1, bias=False)
        self.combine = nn.Linear(Hd + 2 * H + E, Hd)
        self.generator = nn.Linear(Hd, c['tgt_vocab'])

    def forward(self, src, src_lengths, dec_in, targets):
        # src (S, B), dec_in and targets (T, B): time-major as the GRUs take them.
        S, B = src.shape
        x = self.src_embed(src)
        out, h_n = self.encoder(pack_padded_sequence(x, src_lengths, enforce_sorted=False))
        memory, _ = pad_packed_sequence(out, total_length=S)  # (S, B, 2H)
        memory = memory.transpose(0, 1)  # (B, S, 2H)
        summary = torch.cat([h_n[0], h_n[1]], dim=1)  # (B, 2H)
        s = torch.tanh(self.bridge(summary)).unsqueeze(0)  # (1, B, Hd)
        keys = self.attn_U(memory)  # (B, S, A), once per source
        pad = torch.arange(S).unsqueeze(0) >= src_lengths.unsqueeze(1)  # (B, S)
        logits = []
        for t in range(dec_in.shape[0]):
            e = self.tgt_embed(dec_in[t])  # (B, E)
            scores = self.attn_v(torch.tanh(keys + self.attn_W(s[0]).unsqueeze(1))).squeeze(2)  # (B, S)
            alpha = scores.masked_fill(pad, float('-inf')).softmax(dim=1)
            context = torch.bmm(alpha.unsqueeze(1), memory).squeeze(1)  # (B, 2H)
            o, s = self.decoder(torch.cat([e, context], dim=1).unsqueeze(0), s)
            o = torch.tanh(self.combine(torch.cat([o[0], context, e], dim=1)))
            logits.append(self.generator(o))
        logits = torch.stack(logits)  # (T, B, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


def bahdanau(c):
    torch.manual_seed(0)
    m = Bahdanau(c)
    opt = torch.optim.AdamW(m.parameters(), lr=2e-3, weight_decay=0)
    B = c['B']
    sl = torch.tensor(c['src_lengths'])
    tl = c['tgt_lengths']
    S, T = int(sl.max()), max(tl)
    src = torch.randint(4, c['src_vocab'], (S, B))
    dec_in = torch.randint(4, c['tgt_vocab'], (T, B))
    targets = torch.randint(4, c['tgt_vocab'], (T, B))
    for b in range(B):
        src[sl[b]:, b] = 0
        dec_in[tl[b]:, b] = 0
        targets[tl[b]:, b] = -100

    def step():
        opt.zero_grad(set_to_none=True)
        loss = m(src, sl, dec_in, targets)
        loss.backward()
        nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()

    return {'ms': timed(step), 'tokens': sum(tl), 'params': sum(p.numel() for p in m.parameters())}


if __name__ == '__main__':
    mode, cfg = sys.argv[1], json.loads(sys.argv[2])
    config, blas = configure(int(sys.argv[3]), int(sys.argv[4]))
    torch.manual_seed(0)
    if mode == 'lstm':
        res = lstm(cfg)
    elif mode == 'bahdanau':
        res = bahdanau(cfg)
    else:
        raise SystemExit(f'unknown mode {mode!r}; modes: lstm, bahdanau')
    print(json.dumps(finish(res, config, blas)))
