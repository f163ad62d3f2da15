"""
Checks jobs/saver_llama_hf.py's tensor mapping on a small random model: Hugging Face weights are put into the
messages the way Megatron-LM core_v0.15.3 builds them (Q/K/V interleaved per query group as
tools/checkpoint/loader_llama_mistral.py lines 344-354 writes them, the SwiGLU input as cat([gate, up]) per
tensor-parallel rank split into W and V as loader_base.py lines 318-323 sends it, the vocabulary padded), and the
saver must give back exactly the Hugging Face tensors without the padding. Then the refusals. Run by hf_saver.bats;
needs torch (Debian: python3-torch), not transformers.
"""
import os
import sys
import types

import torch

# No __pycache__ in lib/: the lifecycle asset is that directory.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', '..', 'lib', 'cluster', 'lifecycle', 'jobs'))
import saver_llama_hf as saver  # noqa: E402

HIDDEN, HEADS, GROUPS, FFN, LAYERS, VOCAB, PADDED, TP = 24, 4, 2, 20, 3, 50, 64, 2
HEAD_DIM = HIDDEN // HEADS


def hf_model(qkv_bias, generator):
    def rand(*shape):
        return torch.randn(*shape, generator=generator)
    state = {'model.embed_tokens.weight': rand(VOCAB, HIDDEN), 'model.norm.weight': rand(HIDDEN),
             'lm_head.weight': rand(VOCAB, HIDDEN)}
    for i in range(LAYERS):
        p = f'model.layers.{i}.'
        state.update({
            p + 'input_layernorm.weight': rand(HIDDEN), p + 'post_attention_layernorm.weight': rand(HIDDEN),
            p + 'self_attn.q_proj.weight': rand(HEADS * HEAD_DIM, HIDDEN),
            p + 'self_attn.k_proj.weight': rand(GROUPS * HEAD_DIM, HIDDEN),
            p + 'self_attn.v_proj.weight': rand(GROUPS * HEAD_DIM, HIDDEN),
            p + 'self_attn.o_proj.weight': rand(HIDDEN, HEADS * HEAD_DIM),
            p + 'mlp.gate_proj.weight': rand(FFN, HIDDEN), p + 'mlp.up_proj.weight': rand(FFN, HIDDEN),
            p + 'mlp.down_proj.weight': rand(HIDDEN, FFN),
        })
        if qkv_bias:
            state.update({p + 'self_attn.q_proj.bias': rand(HEADS * HEAD_DIM),
                          p + 'self_attn.k_proj.bias': rand(GROUPS * HEAD_DIM),
                          p + 'self_attn.v_proj.bias': rand(GROUPS * HEAD_DIM)})
    return state


def megatron_qkv(q, k, v):
    """loader_llama_mistral.py set_attn_state: per group [q of its heads, k, v]."""
    rest = tuple(q.shape[1:])
    return torch.cat([q.reshape((GROUPS, HEAD_DIM * HEADS // GROUPS) + rest), k.reshape((GROUPS, HEAD_DIM) + rest),
                      v.reshape((GROUPS, HEAD_DIM) + rest)], dim=1).reshape((-1,) + rest)


def megatron_swiglu(gate, up):
    """The fused fc1 as TP ranks hold it (each rank: [its gate rows; its up rows]), then as the loader sends it."""
    fused = torch.cat([gate, up], dim=0)                           # set_mlp_state
    ranks = [torch.cat([g, u]) for g, u in zip(torch.chunk(gate, TP), torch.chunk(up, TP))]
    assert torch.equal(torch.cat(ranks)[:FFN // TP], fused[:FFN // TP])
    halves = [torch.chunk(r, 2, dim=0) for r in ranks]             # loader_base.py lines 320-323
    return torch.cat([h[0] for h in halves]), torch.cat([h[1] for h in halves])


def pad(table):
    return torch.cat([table, table[-1:].expand(PADDED - VOCAB, -1)])


def messages(hf, qkv_bias, output_layer=True):
    out = [('embeddings', {'word embeddings': pad(hf['model.embed_tokens.weight'])})]
    for i in range(LAYERS):
        p = f'model.layers.{i}.'
        w, v = megatron_swiglu(hf[p + 'mlp.gate_proj.weight'], hf[p + 'mlp.up_proj.weight'])
        msg = {'input norm weight': hf[p + 'input_layernorm.weight'],
               'post norm weight': hf[p + 'post_attention_layernorm.weight'],
               'qkv weight': megatron_qkv(hf[p + 'self_attn.q_proj.weight'], hf[p + 'self_attn.k_proj.weight'],
                                          hf[p + 'self_attn.v_proj.weight']),
               'dense weight': hf[p + 'self_attn.o_proj.weight'], 'mlp l0 weight W': w, 'mlp l0 weight V': v,
               'mlp l1 weight': hf[p + 'mlp.down_proj.weight']}
        if qkv_bias:
            msg['qkv bias'] = megatron_qkv(hf[p + 'self_attn.q_proj.bias'], hf[p + 'self_attn.k_proj.bias'],
                                           hf[p + 'self_attn.v_proj.bias'])
        out.append((f'transformer layer {i}', msg))
    out.append(('final norm', {'weight': hf['model.norm.weight']}))
    if output_layer:
        out.append(('output layer', {'weight': pad(hf['lm_head.weight'])}))
    return out


def metadata(qkv_bias, **overrides):
    args = types.SimpleNamespace(num_attention_heads=HEADS, num_query_groups=GROUPS, group_query_attention=True,
                                 kv_channels=HEAD_DIM, hidden_size=HIDDEN, padded_vocab_size=PADDED)
    md = types.SimpleNamespace(checkpoint_args=args, num_layers=LAYERS, linear_bias=False, norm_has_bias=False,
                               swiglu=True, position_embedding_type='rope', qkv_bias=qkv_bias, output_layer=True)
    for key, value in overrides.items():
        setattr(md, key, value)
    return md


def receiver(msgs):
    """Like the converter's queue: named messages, then 'done'; checks the name asked for."""
    queue = [dict(m, name=n) for n, m in msgs] + ['done']

    def receive(name):
        message = queue.pop(0)
        if name is not None:
            assert isinstance(message, dict) and message['name'] == name, (name, message)
        return message
    return receive


def expect_refusal(fn, text):
    try:
        fn()
    except saver.ExportError as e:
        assert text in str(e), str(e)
        return
    raise AssertionError(f'no refusal: {text}')


def main():
    generator = torch.Generator().manual_seed(14)
    for qkv_bias in (False, True):
        hf = hf_model(qkv_bias, generator)
        got = saver.hf_state_dict(metadata(qkv_bias), receiver(messages(hf, qkv_bias)), VOCAB)
        assert sorted(got) == sorted(hf), sorted(set(got) ^ set(hf))
        for name, tensor in hf.items():
            assert got[name].shape == tensor.shape and torch.equal(got[name], tensor), name
        print(f'ok: {len(got)} tensors round-trip (qkv bias: {qkv_bias}), vocabulary {PADDED} -> {VOCAB} rows')

    hf = hf_model(False, generator)
    tied = saver.hf_state_dict(metadata(False, output_layer=False),
                               receiver(messages(hf, False, output_layer=False)), VOCAB)
    assert 'lm_head.weight' not in tied
    expect_refusal(lambda: saver.hf_state_dict(metadata(False), receiver(messages(hf, False)), PADDED + 1),
                   f'word embeddings has {PADDED} rows, fewer than the vocabulary of {PADDED + 1}')
    expect_refusal(lambda: saver.hf_state_dict(metadata(False, linear_bias=True), receiver(messages(hf, False)), VOCAB),
                   'no Llama/Qwen2 model')
    expect_refusal(lambda: saver.hf_state_dict(metadata(True), receiver(messages(hf, False)), VOCAB),
                   'has no "qkv bias"')
    extra = messages(hf, False)
    extra[1][1]['dense bias'] = torch.zeros(HIDDEN)
    expect_refusal(lambda: saver.hf_state_dict(metadata(False), receiver(extra), VOCAB),
                   "tensors this saver does not map: ['dense bias']")
    wrong_heads = metadata(False)
    wrong_heads.checkpoint_args.num_query_groups = 1
    expect_refusal(lambda: saver.hf_state_dict(wrong_heads, receiver(messages(hf, False)), VOCAB),
                   'heads in 1 groups')
    print('ok: refusals')

    # Q, K and V own their memory (safetensors refuses shared storage), also with a single query group.
    qkv = torch.arange((HEADS + 2) * HEAD_DIM * 2, dtype=torch.float32).reshape(-1, 2)
    q, k, v = saver.split_qkv(qkv, HEADS, 1, HEAD_DIM)
    assert len({q.storage().data_ptr(), k.storage().data_ptr(), v.storage().data_ptr(), qkv.storage().data_ptr()}) == 4
    print('ok: q, k, v are copies')

    write_check(hf, generator)


def write_check(hf, generator):
    """write_hf with transformers' shapes given and safetensors' save_file stood in by torch.save."""
    import json
    import tempfile
    saved = {}

    def save_file(tensors, path, metadata=None):
        assert metadata == {'format': 'pt'}
        saved[os.path.basename(path)] = sorted(tensors)
        torch.save(tensors, path)
    sys.modules['safetensors'] = types.ModuleType('safetensors')
    sys.modules['safetensors.torch'] = types.SimpleNamespace(save_file=save_file)
    expected = {n: tuple(t.shape) for n, t in hf.items()}
    with tempfile.TemporaryDirectory() as tmp:
        base, out = os.path.join(tmp, 'base'), os.path.join(tmp, 'out')
        os.makedirs(base)
        for name, text in (('config.json', json.dumps({'vocab_size': VOCAB})), ('tokenizer.json', '{}'),
                           ('tokenizer_config.json', '{}'), ('generation_config.json', '{}')):
            with open(os.path.join(base, name), 'w') as f:
                f.write(text)
        md = metadata(False)
        md.iteration, md.previous_tensor_parallel_size, md.previous_pipeline_parallel_size = 37432, 8, 2
        total = sum(t.numel() * t.element_size() for t in hf.values())
        saver.write_hf(dict(hf), base, out, max_shard_gb=total / 3 / 1e9, md=md, expected=expected)
        index = json.load(open(os.path.join(out, 'model.safetensors.index.json')))
        files = sorted(saved)
        assert files == ['model-00001-of-00004.safetensors', 'model-00002-of-00004.safetensors',
                         'model-00003-of-00004.safetensors', 'model-00004-of-00004.safetensors'], files
        assert index['metadata']['total_size'] == total
        assert sorted(index['weight_map']) == sorted(hf)
        assert all(name in saved[file] for name, file in index['weight_map'].items())
        assert sorted(os.listdir(out)) == sorted(files + ['model.safetensors.index.json', 'config.json',
                                                          'tokenizer.json', 'tokenizer_config.json',
                                                          'generation_config.json', 'export-info.json'])
        info = json.load(open(os.path.join(out, 'export-info.json')))
        assert (info['iteration'], info['tensor_parallel'], info['vocab_size'], info['padded_vocab_rows']) == \
            (37432, 8, VOCAB, PADDED), info
        restored = {}
        for file in files:
            restored.update(torch.load(os.path.join(out, file)))
        assert all(torch.equal(restored[n], t) for n, t in hf.items())
        # A tensor the architecture lacks, or of another shape, writes nothing.
        wrong = dict(expected, **{'model.norm.weight': (HIDDEN + 1,)})
        expect_refusal(lambda: saver.write_hf(dict(hf), base, os.path.join(tmp, 'x'), 5, md, expected=wrong),
                       'other shapes')
        expect_refusal(lambda: saver.write_hf(dict(hf, extra=torch.zeros(1)), base, os.path.join(tmp, 'x'), 5, md,
                                              expected=expected), "extra ['extra']")
        assert not os.path.exists(os.path.join(tmp, 'x'))
    print(f'ok: written as {len(files)} shards with their index and the base model\'s files')


if __name__ == '__main__':
    main()
