# A Hugging Face saver for Megatron-LM's checkpoint converter, for Llama and Qwen2 models: with
# `tools/checkpoint/convert.py --loader core --saver llama_hf` it writes the model a legacy (torch) Megatron checkpoint
# holds as Hugging Face safetensors, without Megatron's vocabulary padding. export-megatron-to-hf.sbatch runs it;
# Megatron-LM core_v0.15.3 ships no Hugging Face saver for Llama (tools/checkpoint has core, legacy, llava and
# hf_llava).
#
# The messages are the converter's, as the pinned loader sends them (tools/checkpoint/loader_base.py at 309ffca6,
# send_llm_over_queue, lines 257-392): the metadata, "embeddings", "transformer layer N" for every layer (tensors
# already gathered over tensor and pipeline ranks), "final norm", "output layer" (untied models), then "done". Their
# layouts are the inverse of the Hugging Face loader's (loader_llama_mistral.py lines 328-369): Q/K/V interleaved per
# query group, [q of the group's heads, k, v]; the SwiGLU input as W (gate) and V (up).
# Writing: the tensors must be exactly the parameters of the base model's architecture (names and shapes of
# transformers' model for its config.json, built on the meta device: no memory), then go to safetensors shards with
# the index transformers reads (model.safetensors.index.json), beside the base model's config.json, tokenizer files
# and generation_config.json. Needs torch, transformers and safetensors (all in the training image).
import json
import os
import shutil
import time

import torch


def add_arguments(parser):
    group = parser.add_argument_group(title='Hugging Face Llama/Qwen2 saver')
    group.add_argument('--hf-base', required=True,
                       help='The base model\'s Hugging Face directory: its config.json, tokenizer and '
                            'generation_config.json are those of the export')
    group.add_argument('--max-shard-gb', type=float, default=5.0, help='Largest safetensors file, in GB (10^9 bytes)')


class ExportError(Exception):
    """The checkpoint is not one this saver can write as the base model's architecture."""


def split_qkv(qkv, heads, groups, head_dim):
    """Megatron's fused Q/K/V (weight or bias) as Hugging Face's q, k and v."""
    per_group = heads // groups
    rows = (heads + 2 * groups) * head_dim
    if heads % groups or qkv.shape[0] != rows:
        raise ExportError(f'qkv has {qkv.shape[0]} rows, {heads} heads in {groups} groups of {head_dim} need {rows}')
    rest = tuple(qkv.shape[1:])
    grouped = qkv.reshape((groups, (per_group + 2) * head_dim) + rest)
    q, k, v = torch.split(grouped, [per_group * head_dim, head_dim, head_dim], dim=1)
    # Copies: safetensors refuses tensors that share memory, and views of one group would.
    return (q.reshape((heads * head_dim,) + rest).clone(), k.reshape((groups * head_dim,) + rest).clone(),
            v.reshape((groups * head_dim,) + rest).clone())


def _take(msg, key):
    if key not in msg:
        raise ExportError(f'message "{msg.get("name")}" has no "{key}"')
    return msg.pop(key)


def _done_with(msg):
    msg = dict(msg)
    name = msg.pop('name', None)
    if msg:
        raise ExportError(f'message "{name}" has tensors this saver does not map: {sorted(msg)}')


def _unpad(tensor, vocab_size, what):
    if tensor.shape[0] < vocab_size:
        raise ExportError(f'{what} has {tensor.shape[0]} rows, fewer than the vocabulary of {vocab_size}')
    return tensor[:vocab_size].clone()


def hf_state_dict(md, receive, vocab_size):
    """
    The Hugging Face state dict of the model the converter sends. `receive(name)` returns the next message (checked
    to be `name`, or any message for None); `vocab_size` is the base model's, the rows kept of the padded tables.
    """
    args = md.checkpoint_args
    if md.linear_bias or md.norm_has_bias or not md.swiglu or md.position_embedding_type != 'rope':
        raise ExportError('the checkpoint is no Llama/Qwen2 model (bias-free linear layers, RMSNorm, SwiGLU, RoPE)')
    heads = args.num_attention_heads
    groups = args.num_query_groups if args.group_query_attention else heads
    head_dim = args.kv_channels or args.hidden_size // heads
    state = {}
    embeddings = dict(receive('embeddings'))
    state['model.embed_tokens.weight'] = _unpad(_take(embeddings, 'word embeddings'), vocab_size, 'word embeddings')
    _done_with(embeddings)
    for index in range(md.num_layers):
        msg = dict(receive(f'transformer layer {index}'))
        prefix = f'model.layers.{index}.'
        state[prefix + 'input_layernorm.weight'] = _take(msg, 'input norm weight')
        state[prefix + 'post_attention_layernorm.weight'] = _take(msg, 'post norm weight')
        q, k, v = split_qkv(_take(msg, 'qkv weight'), heads, groups, head_dim)
        state.update({prefix + 'self_attn.q_proj.weight': q, prefix + 'self_attn.k_proj.weight': k,
                      prefix + 'self_attn.v_proj.weight': v})
        if md.qkv_bias:
            q, k, v = split_qkv(_take(msg, 'qkv bias'), heads, groups, head_dim)
            state.update({prefix + 'self_attn.q_proj.bias': q, prefix + 'self_attn.k_proj.bias': k,
                          prefix + 'self_attn.v_proj.bias': v})
        state[prefix + 'self_attn.o_proj.weight'] = _take(msg, 'dense weight')
        state[prefix + 'mlp.gate_proj.weight'] = _take(msg, 'mlp l0 weight W')
        state[prefix + 'mlp.up_proj.weight'] = _take(msg, 'mlp l0 weight V')
        state[prefix + 'mlp.down_proj.weight'] = _take(msg, 'mlp l1 weight')
        _done_with(msg)
    final_norm = dict(receive('final norm'))
    state['model.norm.weight'] = _take(final_norm, 'weight')
    _done_with(final_norm)
    if md.output_layer:
        output = dict(receive('output layer'))
        state['lm_head.weight'] = _unpad(_take(output, 'weight'), vocab_size, 'output layer')
        _done_with(output)
    last = receive(None)
    if last != 'done':
        raise ExportError(f'expected the end of the model, got "{last.get("name") if isinstance(last, dict) else last}"')
    return {name: tensor.contiguous() for name, tensor in state.items()}


# Files of the base model that go with the weights unchanged: its architecture, generation defaults and tokenizer.
COPIED_FILES = ('config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json',
                'special_tokens_map.json', 'tokenizer.model', 'added_tokens.json', 'vocab.json', 'merges.txt')


def expected_shapes(hf_base):
    """Name → shape of every tensor transformers saves for the base model's architecture (built on the meta device)."""
    import transformers

    config = transformers.AutoConfig.from_pretrained(hf_base)
    with torch.device('meta'):
        model = transformers.AutoModelForCausalLM.from_config(config)
    shapes = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    if getattr(config, 'tie_word_embeddings', False):
        shapes.pop('lm_head.weight', None)   # saved once, as the embedding
    return shapes


def check_architecture(state, expected):
    """The tensors are exactly the architecture's: no name missing or extra, every shape the same."""
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = sorted(f'{n} {tuple(state[n].shape)} != {expected[n]}' for n in set(state) & set(expected)
                   if tuple(state[n].shape) != tuple(expected[n]))
    if missing or extra or wrong:
        raise ExportError(f'the checkpoint does not match the base model\'s architecture: missing {missing[:5]}, '
                          f'extra {extra[:5]}, other shapes {wrong[:5]}')


def shard_plan(state, max_shard_bytes):
    """[(file, [names])]: tensors in name order, a new file before one would exceed max_shard_bytes."""
    shards, current, size = [], [], 0
    for name in sorted(state):
        nbytes = state[name].numel() * state[name].element_size()
        if current and size + nbytes > max_shard_bytes:
            shards.append(current)
            current, size = [], 0
        current.append(name)
        size += nbytes
    if current:
        shards.append(current)
    total = len(shards)
    return [(f'model-{i + 1:05d}-of-{total:05d}.safetensors', names) for i, names in enumerate(shards)]


def shard_index(state, plan):
    """model.safetensors.index.json as transformers reads it: the total size and the file of every tensor."""
    total = sum(t.numel() * t.element_size() for t in state.values())
    return {'metadata': {'total_size': total}, 'weight_map': {n: f for f, names in plan for n in names}}


def write_hf(state, hf_base, out, max_shard_gb, md, expected=None):
    """The state as the base model's Hugging Face model in `out`: checked, sharded, with the base model's files."""
    from safetensors.torch import save_file

    check_architecture(state, expected_shapes(hf_base) if expected is None else expected)
    os.makedirs(out, exist_ok=True)
    plan = shard_plan(state, int(max_shard_gb * 1e9))
    for file, names in plan:
        save_file({n: state[n] for n in names}, os.path.join(out, file), metadata={'format': 'pt'})
    with open(os.path.join(out, 'model.safetensors.index.json'), 'w') as f:
        json.dump(shard_index(state, plan), f, indent=2)
    for file in COPIED_FILES:
        if os.path.isfile(os.path.join(hf_base, file)):
            shutil.copyfile(os.path.join(hf_base, file), os.path.join(out, file))
    with open(os.path.join(hf_base, 'config.json')) as f:
        vocab_size = json.load(f)['vocab_size']
    # Written last: export-megatron-to-hf.sbatch renames the directory into place only when this file is there.
    info = {'iteration': md.iteration, 'tensor_parallel': md.previous_tensor_parallel_size,
            'pipeline_parallel': md.previous_pipeline_parallel_size, 'vocab_size': vocab_size,
            'padded_vocab_rows': int(getattr(md.checkpoint_args, 'padded_vocab_size', 0) or 0), 'base': hf_base,
            'files': [file for file, _ in plan], 'written': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}
    with open(os.path.join(out, 'export-info.json'), 'w') as f:
        json.dump(info, f, indent=2)


def save_checkpoint(queue, args):
    """The converter's entry point: receive the model from the loader and write it."""
    def receive(name):
        message = queue.get()
        if message == 'exit':
            raise SystemExit('the loader failed; nothing written')
        if name is not None and (not isinstance(message, dict) or message.get('name') != name):
            raise ExportError(f'expected "{name}", got "{message.get("name") if isinstance(message, dict) else message}"')
        return message

    md = queue.get()
    if md == 'exit':
        raise SystemExit('the loader failed; nothing written')
    try:
        with open(os.path.join(args.hf_base, 'config.json')) as f:
            vocab_size = json.load(f)['vocab_size']
        state = hf_state_dict(md, receive, vocab_size)
    except Exception:
        # The loader blocks on a full queue: take the rest so it ends, and the converter with it.
        message = None
        while message not in ('done', 'exit'):
            message = queue.get()
        raise
    write_hf(state, args.hf_base, args.save_dir, args.max_shard_gb, md)
    print(f'saved the Hugging Face model ({len(state)} tensors, vocabulary {vocab_size}) to {args.save_dir}')
