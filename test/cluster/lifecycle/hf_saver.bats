#!/usr/bin/env bats
# jobs/saver_llama_hf.py, the Hugging Face saver export-megatron-to-hf.sbatch gives Megatron-LM's converter: its
# tensor mapping on a small random model (hf_saver_check.py) against the layouts of the pinned Megatron-LM, its
# refusals, and the files it writes (transformers' shapes given, safetensors' save_file stood in by torch.save).
# Needs torch for Debian's python3 (python3-torch, which also gives the torchrun command), not a version manager's
# python3 earlier on PATH: $PYTHON_TORCH (default /usr/bin/python3). Without it the test fails, it never skips.

@test "Megatron's fused Q/K/V, SwiGLU and padded vocabulary come back as the Hugging Face tensors, sharded with an index; wrong models are refused" {
  local python=${PYTHON_TORCH:-/usr/bin/python3}
  run "$python" -c 'import torch'
  [ "$status" -eq 0 ] || {
    echo "$python has no torch: install it (Debian: apt-get install python3-torch) to check the Hugging Face saver" >&2
    return 1
  }
  run "$python" "$BATS_TEST_DIRNAME/hf_saver_check.py"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "ok: 30 tensors round-trip (qkv bias: False), vocabulary 64 -> 50 rows" ]
  [ "${lines[1]}" = "ok: 39 tensors round-trip (qkv bias: True), vocabulary 64 -> 50 rows" ]
  [ "${lines[2]}" = "ok: refusals" ]
  [ "${lines[3]}" = "ok: q, k, v are copies" ]
  [ "${lines[4]}" = "ok: written as 4 shards with their index and the base model's files" ]
}
