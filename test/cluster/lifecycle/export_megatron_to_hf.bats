#!/usr/bin/env bats
# jobs/export-megatron-to-hf.sbatch: the run's torch_dist iteration → legacy TP×PP (the launch, submitted; sbatch
# stubbed) → Hugging Face safetensors in checkpoints/serving (convert.py with saver_llama_hf, python stubbed).

load test_helper
load jobs_helper
load launch_fixture

setup() {
  setup_launch_jobs
  export JOBS_DIR="$JOBS" STUB_SRUN_MODE=run
  RUN_CKPT="$FSX/checkpoints/swallow-70b"
  LEGACY="$FSX/exports/swallow-70b/iter_0037432/torch"
  SERVING="$FSX/checkpoints/serving"
  mkdir -p "$RUN_CKPT/iter_0037432" "$FSX/exports"
}

export_hf() {
  run bash "$JOBS/export-megatron-to-hf.sbatch" "$@"
}

@test "without the legacy copy: submits the launch's export on 16 nodes, and itself after it on one node" {
  export_hf --iteration 37432 "$LAUNCH"
  [ "$status" -eq 0 ]
  local submitted
  mapfile -t submitted < <(calls sbatch)
  [ "${#submitted[@]}" -eq 2 ]
  [ "${submitted[0]}" = "sbatch --parsable --no-requeue --partition=gpu --nodes=16 --job-name=export-legacy-swallow-70b --export=ALL,EXPORT_ITERATION=37432,EXPORT_TO=$FSX/exports/swallow-70b/iter_0037432,CKPT_DIR=$RUN_CKPT,CONTAINER_IMAGE= $LAUNCH" ]
  [ "${submitted[1]}" = "sbatch --parsable --no-requeue --partition=gpu --nodes=1 --dependency=afterok:501 --job-name=export-megatron-to-hf --export=ALL,EXPORT_HF_STEP=convert,EXPORT_TO=$FSX/exports/swallow-70b/iter_0037432,CKPT_DIR=$RUN_CKPT,HF_MODEL=$HF,SERVING_DIR=$SERVING,CONTAINER_IMAGE= $JOBS/export-megatron-to-hf.sbatch --iteration 37432 --name swallow-70b-iter37432 $LAUNCH" ]
  [[ "$output" == *"step 1: job 501 writes $RUN_CKPT/iter_0037432 as legacy TP8 PP2 to $LEGACY on 16 nodes"* ]]
  [ -z "$(calls srun)" ]
}

@test "with the legacy copy: converts it with the pinned loader and the Hugging Face saver, renamed into serving/" {
  legacy_checkpoint "$LEGACY" 8 2 37432
  EXPORT_HF_STEP=convert export_hf --iteration 37432 "$LAUNCH"
  [ "$status" -eq 0 ]
  [ "$(calls srun)" = "srun --nodes=1 --ntasks=1 env PYTHONPATH=$JOBS:/opt/megatron-lm python /opt/megatron-lm/tools/checkpoint/convert.py --model-type GPT --loader core --saver llama_hf --load-dir $LEGACY --save-dir $SERVING/swallow-70b-iter37432.partial.500 --megatron-path /opt/megatron-lm --position-embedding-type rope --loader-transformer-impl transformer_engine --hf-base $HF" ]
  local out="$SERVING/swallow-70b-iter37432"
  [ -f "$out/config.json" ] && [ -f "$out/model-00001-of-00001.safetensors" ] && [ -f "$out/export-info.json" ]
  # The saver module is found beside the job (PYTHONPATH), the architecture and tokenizer come from the base model.
  [ "$(cat "$out/export-info.json")" = "{\"base\": \"$HF\", \"pythonpath\": \"$JOBS:/opt/megatron-lm\"}" ]
  [ ! -e "$out.partial.500" ]
  [ -z "$(calls sbatch)" ]
  [[ "$output" == *"deploy with: -c servingModelKey=checkpoints/serving/swallow-70b-iter37432/"* ]]
}

@test "--name, --hf, the training image; a finished export is left alone" {
  legacy_checkpoint "$LEGACY" 8 2 37432
  mkdir -p "$FSX/images" "$SANDBOX/base"
  touch "$FSX/images/training.sqsh"
  cp "$HF/config.json" "$HF/tokenizer.json" "$SANDBOX/base/"
  unset CONTAINER_IMAGE
  export_hf --iteration 37432 --name swallow-v1 --hf "$SANDBOX/base" "$LAUNCH"
  [ "$status" -eq 0 ]
  [[ "$(calls srun)" == "srun --nodes=1 --ntasks=1 --container-image=$FSX/images/training.sqsh --container-mounts=$FSX:$FSX env "*"--save-dir $SERVING/swallow-v1.partial.500 "*"--hf-base $SANDBOX/base" ]]
  : >"$STUB_CALLS"
  export_hf --iteration 37432 --name swallow-v1 "$LAUNCH"
  [ "$status" -eq 0 ]
  [[ "$output" == *"$SERVING/swallow-v1 is already exported: nothing to do"* ]]
  [ -z "$(calls srun)$(calls sbatch)" ]
}

@test "a legacy copy of another iteration is not used: step 1 runs again" {
  legacy_checkpoint "$LEGACY" 8 2 100
  export_hf --iteration 37432 "$LAUNCH"
  [ "$status" -eq 0 ]
  [[ "$(calls sbatch | head -n 1)" == *"EXPORT_ITERATION=37432,"* ]]
}

@test "step 2 after a step 1 that left nothing: exit 1, not submitted again" {
  EXPORT_HF_STEP=convert export_hf --iteration 37432 "$LAUNCH"
  [ "$status" -eq 1 ]
  [[ "$output" == *"step 1 left no complete TP8 PP2 legacy checkpoint of iteration 37432 in $LEGACY"* ]]
  [ -z "$(calls sbatch)$(calls srun)" ]
}

@test "the converter fails, or its saver dies and convert.py exits 0: exit 1, nothing in serving/" {
  legacy_checkpoint "$LEGACY" 8 2 37432
  STUB_TOOL_EXIT=1 export_hf --iteration 37432 "$LAUNCH"
  [ "$status" -eq 1 ]
  [[ "$output" == *"step 2 failed: tools/checkpoint/convert.py exited with 1"* ]]
  [ -z "$(ls -A "$SERVING")" ]
  STUB_SAVER=dies export_hf --iteration 37432 "$LAUNCH"
  [ "$status" -eq 1 ]
  [[ "$output" == *"step 2 wrote no complete Hugging Face model to $SERVING/swallow-70b-iter37432.partial.500"* ]]
  [ -z "$(ls -A "$SERVING")" ]
}

@test "submitting fails: exit 1 with the command to run" {
  STUB_SBATCH_EXIT=1 export_hf --iteration 37432 "$LAUNCH"
  [ "$status" -eq 1 ]
  [[ "$output" == *"could not submit step 1: EXPORT_ITERATION=37432 EXPORT_TO=$FSX/exports/swallow-70b/iter_0037432 sbatch -N 16 $LAUNCH"* ]]
}

@test "refused before any step: no such iteration, no exports directory, no base model, an occupied name, bad input" {
  export_hf --iteration 99 "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"no checkpoint $RUN_CKPT/iter_0000099 to export"* ]]
  # Not a directory one can create (as a user without write access to the file system's top; the tests run as root).
  rmdir "$FSX/exports"
  touch "$FSX/exports"
  export_hf --iteration 37432 "$LAUNCH"
  rm "$FSX/exports"
  [ "$status" -eq 2 ]
  [[ "$output" == *"cannot create $FSX/exports/swallow-70b/iter_0037432: create $FSX/exports once with: sudo mkdir -p $FSX/exports"* ]]
  rm "$HF/tokenizer.json"
  export_hf --iteration 37432 "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"$HF has no config.json and tokenizer of the base model"* ]]
  mkdir -p "$SERVING/taken"
  export_hf --iteration 37432 --name taken "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"$SERVING/taken exists but is no finished export (no export-info.json)"* ]]
  export_hf --iteration last "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"--iteration must be the iteration to export (a number), got 'last'"* ]]
  export_hf --iteration 1 --name "../x" "$LAUNCH"
  [ "$status" -eq 2 ]
  export_hf --iteration 1
  [ "$status" -eq 2 ]
  [[ "$output" == *"usage: sbatch export-megatron-to-hf.sbatch --iteration N"* ]]
  [ -z "$(calls sbatch)$(calls srun)" ]
}
