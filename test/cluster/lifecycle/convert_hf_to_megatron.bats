#!/usr/bin/env bats
# jobs/convert-hf-to-megatron.sbatch: Hugging Face model → legacy checkpoint on the plan's TP×PP (convert.py, python
# stubbed) → the launch script submitted with CONVERT_FROM for the torch_dist step (sbatch stubbed).

load test_helper
load jobs_helper
load launch_fixture

setup() {
  setup_launch_jobs
  BASE="$FSX/checkpoints/llama-3.3-70b-base"
  export STUB_SRUN_MODE=run
}

convert() {
  run bash "$JOBS/convert-hf-to-megatron.sbatch" "$@"
}

@test "converts the Hugging Face model to legacy TP8 PP2, then submits the launch's torch_dist conversion on 16 nodes" {
  convert "$LAUNCH"
  [ "$status" -eq 0 ]
  [ "$(calls srun)" = "srun --nodes=1 --ntasks=1 python /opt/megatron-lm/tools/checkpoint/convert.py --model-type GPT --loader llama_mistral --saver core --checkpoint-type hf --model-size llama3 --bf16 --load-dir $HF --tokenizer-model $HF --megatron-path /opt/megatron-lm --saver-transformer-impl transformer_engine --target-tensor-parallel-size 8 --target-pipeline-parallel-size 2 --save-dir $BASE/legacy.partial.500" ]
  # Every rank's file, renamed into place; no partial directory left.
  [ "$(find "$BASE/legacy/iter_0000001" -name model_optim_rng.pt | wc -l)" -eq 16 ]
  [ -f "$BASE/legacy/iter_0000001/mp_rank_07_001/model_optim_rng.pt" ]
  [ ! -e "$BASE/legacy.partial.500" ]
  [ "$(calls sbatch)" = "sbatch --parsable --nodes=16 --no-requeue --job-name=convert-torch-dist-swallow-70b --export=ALL,CONVERT_FROM=$BASE/legacy,BASE_CHECKPOINT=$BASE/torch_dist,CONTAINER_IMAGE= --partition=gpu $LAUNCH" ]
  [[ "$output" == *"step 2: job 501 converts $BASE/legacy to $BASE/torch_dist on 16 nodes (TP8 PP2, no virtual stages)"* ]]
}

@test "runs the converter in the training image, with the file system mounted; --hf, --nodes and --partition" {
  mkdir -p "$FSX/images" "$SANDBOX/hf-from-s3"
  touch "$FSX/images/training.sqsh"
  cp "$HF"/* "$SANDBOX/hf-from-s3/"
  unset CONTAINER_IMAGE
  convert --hf "$SANDBOX/hf-from-s3" --nodes 32 --partition big "$LAUNCH"
  [ "$status" -eq 0 ]
  [[ "$(calls srun)" == "srun --nodes=1 --ntasks=1 --container-image=$FSX/images/training.sqsh --container-mounts=$FSX:$FSX python "*" --load-dir $SANDBOX/hf-from-s3 --tokenizer-model $SANDBOX/hf-from-s3 "* ]]
  [[ "$(calls sbatch)" == "sbatch --parsable --nodes=32 "*",CONTAINER_IMAGE=$FSX/images/training.sqsh --partition=big $LAUNCH" ]]
}

@test "Qwen2.5 and TP4 PP1: the qwen2.5 loader, ranks named without a pipeline index" {
  write_launch hf_loader_model_size=qwen2.5 tp=4 pp=1
  convert "$LAUNCH"
  [ "$status" -eq 0 ]
  [[ "$(calls srun)" == *"--model-size qwen2.5 "*"--target-tensor-parallel-size 4 --target-pipeline-parallel-size 1 "* ]]
  [ -f "$BASE/legacy/iter_0000001/mp_rank_03/model_optim_rng.pt" ]
}

@test "idempotent: a converted base model is left alone; a complete legacy checkpoint skips step 1" {
  legacy_checkpoint "$BASE/torch_dist" 8 2
  convert "$LAUNCH"
  [ "$status" -eq 0 ]
  [[ "$output" == *"$BASE/torch_dist already holds a checkpoint: nothing to do"* ]]
  [ -z "$(calls srun)$(calls sbatch)" ]
  rm -rf "$BASE/torch_dist"
  legacy_checkpoint "$BASE/legacy" 8 2
  convert "$LAUNCH"
  [ "$status" -eq 0 ]
  [[ "$output" == *"$BASE/legacy already holds the legacy checkpoint (iteration 1, TP8 PP2): step 1 skipped"* ]]
  [ -z "$(calls srun)" ]
  [[ "$(calls sbatch)" == *"CONVERT_FROM=$BASE/legacy,"* ]]
}

@test "the converter fails: exit 1, no legacy checkpoint, no partial directory, nothing submitted" {
  STUB_TOOL_EXIT=1 convert "$LAUNCH"
  [ "$status" -eq 1 ]
  [[ "$output" == *"step 1 failed: tools/checkpoint/convert.py exited with 1"* ]]
  [ ! -e "$BASE/legacy" ]
  [ ! -e "$BASE/legacy.partial.500" ]
  [ -z "$(calls sbatch)" ]
}

@test "the saver dies but convert.py exits 0: the missing rank files are caught, nothing is renamed" {
  STUB_SAVER=dies convert "$LAUNCH"
  [ "$status" -eq 1 ]
  [[ "$output" == *"step 1 wrote no complete TP8 PP2 checkpoint to $BASE/legacy.partial.500"* ]]
  [ ! -e "$BASE/legacy" ]
  [ ! -e "$BASE/legacy.partial.500" ]
  [ -z "$(calls sbatch)" ]
}

@test "step 2 cannot be submitted: exit 1 with the command to run" {
  STUB_SBATCH_EXIT=1 convert "$LAUNCH"
  [ "$status" -eq 1 ]
  [[ "$output" == *"could not submit step 2; run it yourself: CONVERT_FROM=$BASE/legacy sbatch -N 16 $LAUNCH"* ]]
  [ -d "$BASE/legacy" ]
}

@test "refused before any step: a model the loader does not know, uneven stages, training from scratch" {
  write_launch hf_loader_model_size= model=custom
  convert "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"the plan's model (custom) is not one Megatron-LM core_v0.15.3's Hugging Face loader knows"* ]]
  write_launch pipeline=uneven pp=16
  convert "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"the plan has uneven pipeline stages (PP 16): tools/checkpoint/convert.py splits layers evenly"* ]]
  write_launch base_checkpoint=
  convert "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"BASE_CHECKPOINT is empty: this launch script trains from scratch"* ]]
  BASE_CHECKPOINT="$BASE/dist" convert "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"BASE_CHECKPOINT must end in /torch_dist"* ]]
  [ -z "$(calls srun)$(calls sbatch)" ]
}

@test "refused before any step: no Hugging Face model, no image, a legacy directory of another layout, bad input" {
  rm "$HF"/*.safetensors
  convert "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"$HF is not a Hugging Face model (config.json, tokenizer.json or tokenizer.model, *.safetensors)"* ]]
  echo weights >"$HF/model.safetensors"
  CONTAINER_IMAGE="$FSX/images/none.sqsh" convert "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"CONTAINER_IMAGE=$FSX/images/none.sqsh not found: import the training image first: sbatch $FSX/jobs/import-training-image.sbatch"* ]]
  legacy_checkpoint "$BASE/legacy" 4 2
  convert "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"$BASE/legacy exists but is no complete TP8 PP2 legacy checkpoint"* ]]
  convert --nodes 0 "$LAUNCH"
  [ "$status" -eq 2 ]
  convert "$SANDBOX/none.sbatch"
  [ "$status" -eq 2 ]
  [[ "$output" == *"launch script $SANDBOX/none.sbatch not found"* ]]
  echo '#!/usr/bin/env bash' >"$SANDBOX/old.sbatch"
  convert "$SANDBOX/old.sbatch"
  [ "$status" -eq 2 ]
  [[ "$output" == *"has no '# plan.hf_loader_model_size=' line: generate it again"* ]]
  convert
  [ "$status" -eq 2 ]
  [[ "$output" == *"usage: sbatch convert-hf-to-megatron.sbatch"* ]]
  unset SLURM_JOB_ID
  convert "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"submit this script with sbatch"* ]]
  [ -z "$(calls srun)$(calls sbatch)" ]
}
