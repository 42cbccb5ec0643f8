# Export the benches' PyTorch models to ONNX for the onnxruntime-node and onnxruntime-web peers, with the
# same random weights as the PyTorch peer (torch.manual_seed(1337) before the model is built).
#
# Debian's torch 1.13 exports through torch.onnx.export (TorchScript tracing), opset 17 (the newest it knows;
# the first with LayerNormalization as one op). Tracing records the Python branches taken by the example
# inputs, so each graph is traced with inputs that take the branches the graph will need, and the script
# records reference outputs computed by PyTorch on other inputs (other lengths, an empty past) so the
# runner (bench/_ort.ts) can check that onnxruntime computes the same numbers before it times anything.
#
#   gpt     one decoder-with-past graph for both decode and prefill (prefill passes an empty past, P = 0):
#             input_ids (1, T) int64, past_key_i / past_value_i (1, nh, P, hs) for i < n_layer
#             → logits (1, T, V), present_key_i / present_value_i (1, nh, P+T, hs)
#           Positions P..P+T-1 come from the past's length inside the graph; the causal mask is traced in
#           (the example has T = 3, P = 2), so the same graph serves T = 1 and T = 512.
#   bert    the encoder: input_ids, token_type_ids, attention_mask (B, T) int64 → last_hidden_state (B, T, C)
#   marian  two graphs, as a translation runtime uses them:
#             encoder: input_ids (1, S) → cross_key_i / cross_value_i (1, nh, S, hs), every decoder layer's
#                      cross-attention keys and values, computed once per source
#             decoder: input_ids (B, 1), past_key_i / past_value_i (B, nh, P, hs), cross_key_i /
#                      cross_value_i (1 or B, nh, S, hs) → logits (B, 1, V), present_key_i / present_value_i
#           The decoder graph takes one token per sequence (its causal-mask branch is not traced); B is the
#           number of beams, and the cross keys/values of batch 1 broadcast over them.
#
# Usage: python3 bench/_export_onnx.py KIND 'CONFIG_JSON' OUT_PREFIX
#   writes OUT_PREFIX.onnx (gpt, bert) or OUT_PREFIX.encoder.onnx + OUT_PREFIX.decoder.onnx (marian), then
#   OUT_PREFIX.json (written last: its presence means the export is complete) with the parameter count,
#   torch version, graph input/output names and the reference values. bench/_peers.ts runs this once per
#   config into node_modules/.cache/attn-bench/ and reuses the files after that.
import json
import os
import sys
import warnings

import torch
import torch.nn as nn

from _bert_torch import Bert, inputs as bert_inputs
from _gpt_torch import make_model as make_gpt
from _marian_torch import Marian

OPSET = 17


def export(module, args, path, input_names, output_names, dynamic_axes):
    tmp = path + '.tmp'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # TracerWarnings about shapes taken as Python ints: checked below instead
        torch.onnx.export(module, args, tmp, opset_version=OPSET, do_constant_folding=True,
                          input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes)
    os.replace(tmp, path)


def first(t, n=16):
    return [round(float(x), 6) for x in t.reshape(-1)[:n]]


class GPTWithPast(nn.Module):
    """(input_ids, past_key_0, past_value_0, ...) → (logits, present_key_0, present_value_0, ...)."""

    def __init__(self, gpt):
        super().__init__()
        self.gpt = gpt

    def forward(self, ids, *past):
        cache = [(past[2 * i], past[2 * i + 1]) for i in range(len(past) // 2)]
        logits = self.gpt(ids, cache)  # the blocks replace each cache entry with (past ++ new) keys and values
        return (logits, *[t for kv in cache for t in kv])


def export_gpt(c, prefix):
    torch.manual_seed(1337)
    model = make_gpt(c).eval()
    L, nh, hs = c['n_layer'], c['n_head'], c['n_embd'] // c['n_head']
    wrapper = GPTWithPast(model)
    past_names = [f'past_{kv}_{i}' for i in range(L) for kv in ('key', 'value')]
    present_names = [f'present_{kv}_{i}' for i in range(L) for kv in ('key', 'value')]
    example = (torch.randint(0, c['vocab'], (1, 3)), *[torch.randn(1, nh, 2, hs) for _ in range(2 * L)])
    axes = {'input_ids': {1: 'T'}, 'logits': {1: 'T'}}
    axes.update({n: {2: 'P'} for n in past_names})
    axes.update({n: {2: 'P_plus_T'} for n in present_names})
    with torch.no_grad():
        export(wrapper, example, prefix + '.onnx', ['input_ids', *past_names], ['logits', *present_names], axes)
        # Reference: a 7-token prompt into an empty past, then one token with that past (other lengths than traced).
        prompt = torch.randint(0, c['vocab'], (1, 7), generator=torch.Generator().manual_seed(7))
        empty = [torch.zeros(1, nh, 0, hs) for _ in range(2 * L)]
        out = wrapper(prompt, *empty)
        nxt = int(out[0][0, -1].argmax())
        out2 = wrapper(torch.tensor([[nxt]]), *out[1:])
    return {'files': [prefix + '.onnx'], 'params': sum(p.numel() for p in model.parameters()),
            'inputs': ['input_ids', *past_names], 'outputs': ['logits', *present_names],
            'reference': {'prompt': prompt[0].tolist(), 'prefill_last': first(out[0][0, -1]), 'next': nxt,
                          'step_last': first(out2[0][0, -1]), 'step_next': int(out2[0][0, -1].argmax())}}


def export_bert(c, prefix):
    torch.manual_seed(1337)
    model = Bert({**c, 'dropout': 0.0}).eval()
    names = ['input_ids', 'token_type_ids', 'attention_mask']
    axes = {n: {0: 'B', 1: 'T'} for n in names}
    axes['last_hidden_state'] = {0: 'B', 1: 'T'}
    with torch.no_grad():
        export(model, bert_inputs({**c, 'batch': 2, 'seq': 5}), prefix + '.onnx', names, ['last_hidden_state'], axes)
        ids, types, mask = bert_inputs({**c, 'batch': 2, 'seq': 16}, seed=7)
        mask[1, 12:] = 0  # the second sequence is padded: the mask must be in the graph, not folded away
        h = model(ids, types, mask)
    return {'files': [prefix + '.onnx'], 'params': sum(p.numel() for p in model.parameters()),
            'inputs': names, 'outputs': ['last_hidden_state'],
            'reference': {'input_ids': ids.tolist(), 'attention_mask': mask.tolist(),
                          'first': first(h[0, 0]), 'last_unpadded': first(h[1, 11])}}


class MarianEncoder(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, src):
        return tuple(t for kv in self.m.encode(src) for t in kv)


class MarianDecoder(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, ids, *kv):
        L = len(self.m.decoder_layers)
        past = [(kv[2 * i], kv[2 * i + 1]) for i in range(L)]
        cross = [(kv[2 * L + 2 * i], kv[2 * L + 2 * i + 1]) for i in range(L)]
        logits, present = self.m.decode(ids, past, cross)
        return (logits, *[t for p in present for t in p])


def export_marian(c, prefix):
    torch.manual_seed(1337)
    model = Marian(c).eval()
    L, nh, hs = c['n_dec'], c['n_head'], c['d_model'] // c['n_head']
    cross_names = [f'cross_{kv}_{i}' for i in range(L) for kv in ('key', 'value')]
    past_names = [f'past_{kv}_{i}' for i in range(L) for kv in ('key', 'value')]
    present_names = [f'present_{kv}_{i}' for i in range(L) for kv in ('key', 'value')]
    enc, dec = MarianEncoder(model), MarianDecoder(model)
    enc_axes = {'input_ids': {1: 'S'}, **{n: {2: 'S'} for n in cross_names}}
    dec_axes = {'input_ids': {0: 'B'}, 'logits': {0: 'B'}}
    dec_axes.update({n: {0: 'B', 2: 'P'} for n in past_names})
    dec_axes.update({n: {0: 'Bc', 2: 'S'} for n in cross_names})
    dec_axes.update({n: {0: 'B', 2: 'P_plus_1'} for n in present_names})
    with torch.no_grad():
        src = torch.randint(0, c['vocab'] - 1, (1, 5))
        export(enc, (src,), prefix + '.encoder.onnx', ['input_ids'], cross_names, enc_axes)
        cross = enc(src)
        example = (torch.randint(0, c['vocab'], (2, 1)), *[torch.randn(2, nh, 3, hs) for _ in range(2 * L)], *cross)
        export(dec, example, prefix + '.decoder.onnx', ['input_ids', *past_names, *cross_names],
               ['logits', *present_names], dec_axes)
        # Reference: greedy tokens for a 9-token source (another length than traced), step 3's logits, and
        # the best of 4 beams after 4 steps (checks the runner's beam bookkeeping, not only the graphs).
        src = torch.randint(0, c['vocab'] - 1, (1, 9), generator=torch.Generator().manual_seed(7))
        cross = model.encode(src)
        past = model.empty_past(1)
        nxt = torch.full((1, 1), model.pad_id, dtype=torch.long)
        tokens, logits = [], None
        for _ in range(3):
            logits, past = model.decode(nxt, past, cross)
            logits[:, -1, model.pad_id] = float('-inf')
            nxt = logits[:, -1].argmax(dim=-1, keepdim=True)
            tokens.append(int(nxt))
        beam4 = model.beam(src, 4, 4)
    return {'files': [prefix + '.encoder.onnx', prefix + '.decoder.onnx'],
            'params': sum(p.numel() for p in model.parameters()),
            'encoder': {'inputs': ['input_ids'], 'outputs': cross_names},
            'decoder': {'inputs': ['input_ids', *past_names, *cross_names], 'outputs': ['logits', *present_names]},
            'reference': {'src': src[0].tolist(), 'tokens': tokens, 'step3_first': first(logits[0, -1]),
                          'beam4_tokens': beam4}}


if __name__ == '__main__':
    kind, cfg, prefix = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    meta = {'gpt': export_gpt, 'bert': export_bert, 'marian': export_marian}[kind](cfg, prefix)
    meta.update({'kind': kind, 'config': cfg, 'torch': torch.__version__, 'opset': OPSET})
    with open(prefix + '.json.tmp', 'w') as f:
        json.dump(meta, f)
    os.replace(prefix + '.json.tmp', prefix + '.json')
    print(json.dumps({'ok': True, 'files': meta['files']}))
