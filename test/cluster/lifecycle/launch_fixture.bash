#!/usr/bin/env bash
# A launch script for the jobs that read one (convert-hf-to-megatron, export-megatron-to-hf, tokenize): the
# "# plan." lines renderMegatronSbatch writes for the swallow-70b plan (test/training/job-settings.test.ts checks the
# generator writes them), with the shared file system in the sandbox. The jobs only read those lines and hand the
# script to sbatch (stubbed).

# setup_launch_jobs: the job sandbox with the python tools stub, the job library from the source tree, a launch
# script at $LAUNCH (FSX=$SANDBOX/fsx) and a Hugging Face model in $HF.
setup_launch_jobs() {
  setup_jobs
  ln -s "$BATS_TEST_DIRNAME/stubs/python-megatron-tools" "$SANDBOX/bin/python"
  export FSX="$SANDBOX/fsx" JOBS_LIBRARY="$JOBS/job-library.sh" CONTAINER_IMAGE=""
  export SLURM_JOB_ID=500 SLURM_JOB_PARTITION=gpu STUB_SBATCH_JOBID=501
  LAUNCH="$FSX/jobs/pretrain-swallow-70b.sbatch"
  HF="$FSX/models/llama-3.3-70b"
  mkdir -p "$FSX/jobs" "$HF" "$FSX/checkpoints"
  write_launch model=llama-3.3-70b
  echo '{"architectures": ["LlamaForCausalLM"], "vocab_size": 128256}' >"$HF/config.json"
  echo '{}' >"$HF/tokenizer.json"
  echo weights >"$HF/model-00001-of-00030.safetensors"
}

# write_launch [KEY=VALUE...]: the launch script, with the plan lines given replaced.
write_launch() {
  local -A plan=(
    [model]=llama-3.3-70b [nodes]=32 [run_name]=swallow-70b [fsx]="$FSX" [tp]=8 [pp]=2 [vp]=2 [pipeline]=even
    [hf_loader_model_size]=llama3 [tokenizer_model]="$FSX/models/llama-3.3-70b"
    [base_checkpoint]="$FSX/checkpoints/llama-3.3-70b-base/torch_dist" [container_image]="$FSX/images/training.sqsh"
  )
  local pair key
  for pair in "$@"; do plan[${pair%%=*}]=${pair#*=}; done
  {
    echo '#!/usr/bin/env bash'
    echo '#SBATCH --job-name=pretrain-swallow-70b'
    for key in model nodes run_name fsx tp pp vp pipeline hf_loader_model_size tokenizer_model base_checkpoint \
      container_image; do
      echo "# plan.$key=${plan[$key]}"
    done
    echo '# plan.predicted nodes=8 dp=4 tflops_per_gpu=448.2 tokens_per_second_per_gpu=931 step_seconds=140.80 memory_gib=68.8 fits=no'
    echo '# plan.predicted nodes=16 dp=8 tflops_per_gpu=445.4 tokens_per_second_per_gpu=925 step_seconds=70.84 memory_gib=62.6 fits=yes'
    echo '# plan.predicted nodes=32 dp=16 tflops_per_gpu=440.0 tokens_per_second_per_gpu=914 step_seconds=35.86 memory_gib=59.5 fits=yes'
  } >"$LAUNCH"
}

# legacy_checkpoint DIR TP PP [ITERATION]: a complete legacy checkpoint as Megatron names it.
legacy_checkpoint() {
  local dir=$1 tp=$2 pp=$3 iteration=${4:-1} t p rank
  mkdir -p "$dir"
  echo "$iteration" >"$dir/latest_checkpointed_iteration.txt"
  for ((t = 0; t < tp; t++)); do
    for ((p = 0; p < pp; p++)); do
      if ((pp > 1)); then printf -v rank 'mp_rank_%02d_%03d' "$t" "$p"; else printf -v rank 'mp_rank_%02d' "$t"; fi
      mkdir -p "$(printf '%s/iter_%07d' "$dir" "$iteration")/$rank"
      echo weights >"$(printf '%s/iter_%07d' "$dir" "$iteration")/$rank/model_optim_rng.pt"
    done
  done
}
