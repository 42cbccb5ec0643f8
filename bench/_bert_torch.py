# The PyTorch peer of the BERT benches: BERT written out by hand as plain torch modules (no transformers
# library), with Hugging Face's BertModel architecture and parameter names' structure, random weights.
#
#   ids, token types, mask → word + position + token-type embeddings → LayerNorm → dropout
#   → n_layer × Layer → hidden states (B, T, C)
#   Layer(x) = LN(x + attn(x));  LN(x + out(GELU(inter(x))))        (post-LayerNorm, as BERT)
#   attn = softmax(q·kᵀ/√hs + mask)·v with separate query/key/value (C → C) and output (C → C) projections
#   GELU is the exact (erf) one, LayerNorm eps 1e-12, as bert-base-uncased's config.json.
# For classification, a pooler (tanh(dense(h[:, 0]))) and a linear classifier over the [CLS] position.
#
# Shape letters: B batch, T tokens, C hidden size, nh heads, hs head size (C = nh·hs), V vocab, F FFN size.
#
# Usage (one process per case and threading configuration; see bench/_torch_common.py for TORCH and BLAS,
# which OMP_NUM_THREADS and OPENBLAS_NUM_THREADS must match):
#   python3 bench/_bert_torch.py forward  '{"n_layer":12,"hidden":768,"n_head":12,"ffn":3072,"vocab":30522,
#                                           "batch":8,"seq":128,"runs":3}' TORCH BLAS
#       inference (eval, no_grad) of the encoder on B×T random tokens, all real (mask of ones);
#       tokens/s = B·T / median seconds per forward, after one warm-up forward.
#   python3 bench/_bert_torch.py finetune '{"n_layer":4,"hidden":256,"n_head":4,"ffn":1024,"vocab":30522,
#                                           "batch":16,"seq":128,"labels":2,"dropout":0.1,"lr":5e-5,
#                                           "weight_decay":0.0,"warmup":2,"min_steps":5,"min_s":3}' TORCH BLAS
#       one sequence-classification training step: forward, cross-entropy on the [CLS] logits, backward,
#       clip the gradient norm at 1.0, AdamW, zero the grads (Hugging Face Trainer's defaults);
#       tokens/s = B·T / median seconds per step.
# Each prints one JSON object on stdout. bench/_export_onnx.py imports Bert from here.
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from _torch_common import configure, finish


class Layer(nn.Module):
    def __init__(self, C, nh, F_, p):
        super().__init__()
        self.nh = nh
        self.query = nn.Linear(C, C)
        self.key = nn.Linear(C, C)
        self.value = nn.Linear(C, C)
        self.attn_out = nn.Linear(C, C)
        self.attn_ln = nn.LayerNorm(C, eps=1e-12)
        self.inter = nn.Linear(C, F_)
        self.out = nn.Linear(F_, C)
        self.out_ln = nn.LayerNorm(C, eps=1e-12)
        self.drop = nn.Dropout(p)

    def forward(self, x, bias):
        B, T, C = x.shape
        nh, hs = self.nh, C // self.nh
        q, k, v = (lin(x).view(B, T, nh, hs).transpose(1, 2) for lin in (self.query, self.key, self.value))  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs)) + bias  # (B, nh, T, T); bias (B, 1, 1, T)
        y = self.drop(att.softmax(dim=-1)) @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)
        x = self.attn_ln(x + self.drop(self.attn_out(y)))
        return self.out_ln(x + self.drop(self.out(F.gelu(self.inter(x)))))


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, p = c['hidden'], c.get('dropout', 0.0)
        self.word = nn.Embedding(c['vocab'], C)
        self.position = nn.Embedding(c.get('n_positions', 512), C)
        self.token_type = nn.Embedding(2, C)
        self.emb_ln = nn.LayerNorm(C, eps=1e-12)
        self.drop = nn.Dropout(p)
        self.layers = nn.ModuleList([Layer(C, c['n_head'], c['ffn'], p) for _ in range(c['n_layer'])])
        # BERT's initialisation: N(0, 0.02) for matrices and embeddings, zero biases, LayerNorm (1, 0).
        for name, t in self.named_parameters():
            if '_ln' in name or name.startswith('emb_ln'):
                nn.init.ones_(t) if name.endswith('weight') else nn.init.zeros_(t)
            elif name.endswith('bias'):
                nn.init.zeros_(t)
            else:
                nn.init.normal_(t, 0.0, 0.02)

    def forward(self, ids, token_types, mask):
        B, T = ids.shape
        x = self.word(ids) + self.position(torch.arange(T)) + self.token_type(token_types)
        x = self.drop(self.emb_ln(x))  # (B, T, C)
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min  # (B, 1, 1, T): 0 or -big
        for layer in self.layers:
            x = layer(x, bias)
        return x


class BertClassifier(nn.Module):
    """Bert + pooler (tanh of a dense layer on the [CLS] position) + dropout + linear classifier."""

    def __init__(self, c):
        super().__init__()
        C = c['hidden']
        self.bert = Bert(c)
        self.pooler = nn.Linear(C, C)
        self.drop = nn.Dropout(c.get('dropout', 0.0))
        self.classifier = nn.Linear(C, c['labels'])
        for lin in (self.pooler, self.classifier):
            nn.init.normal_(lin.weight, 0.0, 0.02)
            nn.init.zeros_(lin.bias)

    def forward(self, ids, token_types, mask):
        h = self.bert(ids, token_types, mask)  # (B, T, C)
        return self.classifier(self.drop(torch.tanh(self.pooler(h[:, 0]))))  # (B, labels)


def inputs(c, seed=0):
    g = torch.Generator().manual_seed(seed)
    B, T = c['batch'], c['seq']
    ids = torch.randint(0, c['vocab'], (B, T), generator=g)
    return ids, torch.zeros(B, T, dtype=torch.long), torch.ones(B, T, dtype=torch.long)


def forward(c):
    torch.manual_seed(1337)
    model = Bert({**c, 'dropout': 0.0}).eval()
    ids, types, mask = inputs(c)
    times = []
    with torch.no_grad():
        model(ids, types, mask)  # warm-up
        for _ in range(c.get('runs', 3)):
            t0 = time.perf_counter()
            model(ids, types, mask)
            times.append(time.perf_counter() - t0)
    times.sort()
    s = times[len(times) // 2]
    return {'tokens_per_s': c['batch'] * c['seq'] / s, 'forward_s': s, 'runs': len(times),
            'params': sum(p.numel() for p in model.parameters())}


def finetune(c):
    torch.manual_seed(1337)
    model = BertClassifier(c).train()
    # Trainer's grouping: no weight decay on biases and LayerNorm weights.
    decay = [p for n, p in model.named_parameters() if not (n.endswith('bias') or '_ln' in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith('bias') or '_ln' in n]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': c.get('weight_decay', 0.0)},
                             {'params': no_decay, 'weight_decay': 0.0}],
                            lr=c.get('lr', 5e-5), betas=(0.9, 0.999), eps=1e-8)
    batches = [(*inputs(c, seed=i), torch.randint(0, c['labels'], (c['batch'],))) for i in range(4)]
    losses = []

    def step(i):
        ids, types, mask, y = batches[i % len(batches)]
        loss = F.cross_entropy(model(ids, types, mask), y)
        losses.append(loss.item())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for i in range(c['warmup']):
        step(i)
    times = []
    start = time.perf_counter()
    while len(times) < c['min_steps'] or time.perf_counter() - start < c['min_s']:
        t0 = time.perf_counter()
        step(len(times))
        times.append(time.perf_counter() - t0)
    times.sort()
    s = times[len(times) // 2]
    return {'tokens_per_s': c['batch'] * c['seq'] / s, 'step_s': s, 'steps': len(times), 'first_loss': losses[0],
            'params': sum(p.numel() for p in model.parameters())}


if __name__ == '__main__':
    mode, cfg = sys.argv[1], json.loads(sys.argv[2])
    config, blas = configure(int(sys.argv[3]), int(sys.argv[4]))
    out = {'forward': forward, 'finetune': finetune}[mode](cfg)
    print(json.dumps(finish(out, config, blas)))
