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
# Writing needs transformers (in the training image): the model is built from the base model's config.json, loaded
# with strict=True (every name and shape must match the architecture) and saved with save_pretrained.
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
    group.add_argument('--max-shard-size', default='5GB', help='Largest safetensors file')


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
    return (q.reshape((heads * head_dim,) + rest), k.reshape((groups * head_dim,) + rest),
            v.reshape((groups * head_dim,) + rest))


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


def write_hf(state, hf_base, out, max_shard_size, md):
    """The state as a Hugging Face model of the base model's architecture, with its tokenizer, in `out`."""
    import transformers

    config = transformers.AutoConfig.from_pretrained(hf_base)
    if getattr(config, 'tie_word_embeddings', False):
        if 'lm_head.weight' in state:
            raise ExportError('the base model ties its embeddings, the checkpoint has an output layer of its own')
        state['lm_head.weight'] = state['model.embed_tokens.weight']
    with torch.device('meta'):
        model = transformers.AutoModelForCausalLM.from_config(config)
    # strict: every parameter of the architecture must come from the checkpoint, with its shape.
    model.load_state_dict(state, strict=True, assign=True)
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True, max_shard_size=max_shard_size)
    transformers.AutoTokenizer.from_pretrained(hf_base).save_pretrained(out)
    generation = os.path.join(hf_base, 'generation_config.json')
    if os.path.isfile(generation):
        shutil.copyfile(generation, os.path.join(out, 'generation_config.json'))
    # Written last: export-megatron-to-hf.sbatch renames the directory into place only when this file is there.
    info = {'iteration': md.iteration, 'tensor_parallel': md.previous_tensor_parallel_size,
            'pipeline_parallel': md.previous_pipeline_parallel_size, 'vocab_size': config.vocab_size,
            'padded_vocab_rows': int(getattr(md.checkpoint_args, 'padded_vocab_size', 0) or 0), 'base': hf_base,
            'written': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}
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
    write_hf(state, args.hf_base, args.save_dir, args.max_shard_size, md)
    print(f'saved the Hugging Face model ({len(state)} tensors, vocabulary {vocab_size}) to {args.save_dir}')
