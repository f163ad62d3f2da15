#!/usr/bin/env bats
# jobs/tokenize.sbatch: on the login node it lists the shards and submits an array job and a merge job (sbatch
# stubbed); as an array task it tokenizes one shard (preprocess_data.py, python stubbed); as the merge job it merges
# them (merge_datasets.py) into <output>/text_document.

load test_helper
load jobs_helper
load launch_fixture

setup() {
  setup_launch_jobs
  export JOBS_DIR="$JOBS" STUB_SRUN_MODE=run
  # The login node: no job of its own.
  unset SLURM_JOB_ID SLURM_JOB_PARTITION
  RAW="$FSX/datasets/raw/corpus"
  OUTDIR="$FSX/datasets/corpus"
  STATE="$OUTDIR/.tokenize"
  mkdir -p "$RAW"
  for n in 2 0 1; do echo "{\"text\": \"document $n\"}" >"$RAW/part-$n.jsonl"; done
}

tokenize() {
  run bash "$JOBS/tokenize.sbatch" "$@"
}

# task N: run array task N the way the array job would.
task() {
  SLURM_JOB_ID=$((700 + $1)) SLURM_ARRAY_TASK_ID=$1 TOKENIZE_STEP=shard SLURM_CPUS_ON_NODE=192 \
    tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" --json-key text --max-parallel 8 "$LAUNCH"
}

@test "lists the shards in order and submits one array task per shard, then the merge after them" {
  tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" "$LAUNCH"
  [ "$status" -eq 0 ]
  [ "$(cat "$STATE/inputs.txt")" = "$RAW/part-0.jsonl
$RAW/part-1.jsonl
$RAW/part-2.jsonl" ]
  local submitted
  mapfile -t submitted < <(calls sbatch)
  [ "${#submitted[@]}" -eq 2 ]
  [ "${submitted[0]}" = "sbatch --parsable --nodes=1 --exclusive --no-requeue --array=0-2%8 --job-name=tokenize-corpus --output=$STATE/%x-%A_%a.out --export=ALL,TOKENIZE_STEP=shard,TOKENIZER_MODEL=$HF,CONTAINER_IMAGE= $JOBS/tokenize.sbatch --input $RAW/*.jsonl --output $OUTDIR --json-key text --max-parallel 8 $LAUNCH" ]
  [ "${submitted[1]}" = "sbatch --parsable --nodes=1 --exclusive --no-requeue --dependency=afterok:501 --job-name=tokenize-merge-corpus --output=$STATE/%x-%j.out --export=ALL,TOKENIZE_STEP=merge,TOKENIZER_MODEL=$HF,CONTAINER_IMAGE= $JOBS/tokenize.sbatch --input $RAW/*.jsonl --output $OUTDIR --json-key text --max-parallel 8 $LAUNCH" ]
  [[ "$output" == *"3 shards: array job 501 (at most 8 at once), then job 501 merges them into $OUTDIR/text_document"* ]]
}

@test "an array task runs preprocess_data.py with the model's Hugging Face tokenizer on its shard, renamed when done" {
  tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" "$LAUNCH"
  : >"$STUB_CALLS"
  task 1
  [ "$status" -eq 0 ]
  [ "$(calls srun)" = "srun --nodes=1 --ntasks=1 python /opt/megatron-lm/tools/preprocess_data.py --input $RAW/part-1.jsonl --json-keys text --tokenizer-type HuggingFaceTokenizer --tokenizer-model $HF --append-eod --workers 192 --output-prefix $STATE/tmp/1.701/1" ]
  [ "$(cat "$STATE/shards/00001_text_document.bin")" = '{"text": "document 1"}' ]
  [ -f "$STATE/shards/00001_text_document.idx" ]
  [ -z "$(ls -A "$STATE/tmp")" ]
  # Again: already tokenized, nothing run.
  : >"$STUB_CALLS"
  task 1
  [ "$status" -eq 0 ]
  [[ "$output" == *"shard 1 ($RAW/part-1.jsonl) is already tokenized"* ]]
  [ -z "$(calls srun)" ]
}

@test "the merge job merges the shards in order into text_document.bin/.idx, the prefix the launch reads" {
  tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" --workers 16 "$LAUNCH"
  for n in 0 1 2; do task "$n"; done
  : >"$STUB_CALLS"
  SLURM_JOB_ID=800 TOKENIZE_STEP=merge tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" "$LAUNCH"
  [ "$status" -eq 0 ]
  [ "$(calls srun)" = "srun --nodes=1 --ntasks=1 python /opt/megatron-lm/tools/merge_datasets.py --input $STATE/shards --output-prefix $STATE/merged" ]
  [ "$(cat "$OUTDIR/text_document.bin")" = '{"text": "document 0"}
{"text": "document 1"}
{"text": "document 2"}' ]
  [ -f "$OUTDIR/text_document.idx" ]
  [[ "$output" == *"3 shards merged into $OUTDIR/text_document"* ]]
  # Done: a new submission changes nothing.
  : >"$STUB_CALLS"
  tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" "$LAUNCH"
  [ "$status" -eq 0 ]
  [[ "$output" == *"$OUTDIR/text_document.bin/.idx exist: nothing to do"* ]]
  [ -z "$(calls sbatch)" ]
}

@test "the training image and --tokenizer reach the tasks" {
  mkdir -p "$FSX/images" "$SANDBOX/tok"
  touch "$FSX/images/training.sqsh" "$SANDBOX/tok/tokenizer.json"
  unset CONTAINER_IMAGE
  tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" --tokenizer "$SANDBOX/tok" --partition cpu "$LAUNCH"
  [ "$status" -eq 0 ]
  [[ "$(calls sbatch | head -n 1)" == *"--no-requeue --partition=cpu --array=0-2%8 "*"TOKENIZER_MODEL=$SANDBOX/tok,CONTAINER_IMAGE=$FSX/images/training.sqsh "* ]]
  : >"$STUB_CALLS"
  TOKENIZER_MODEL="$SANDBOX/tok" CONTAINER_IMAGE="$FSX/images/training.sqsh" task 0
  [ "$status" -eq 0 ]
  [[ "$(calls srun)" == "srun --nodes=1 --ntasks=1 --container-image=$FSX/images/training.sqsh --container-mounts=$FSX:$FSX python "*"--tokenizer-model $SANDBOX/tok "* ]]
}

@test "a shard that fails, or writes nothing: exit 1, no shard renamed into place" {
  tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" "$LAUNCH"
  STUB_TOOL_EXIT=1 task 0
  [ "$status" -eq 1 ]
  [[ "$output" == *"shard 0: preprocess_data.py exited with 1"* ]]
  [ ! -e "$STATE/shards/00000_text_document.bin" ]
  : >"$RAW/part-0.jsonl"
  task 0
  [ "$status" -eq 1 ]
  [[ "$output" == *"shard 0: preprocess_data.py wrote no $STATE/tmp/0.700/0_text_document.bin/.idx"* ]]
  [ ! -e "$STATE/shards/00000_text_document.bin" ]
}

@test "the merge refuses missing shards, and a merge that fails leaves no text_document" {
  tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" "$LAUNCH"
  task 0
  task 2
  SLURM_JOB_ID=800 TOKENIZE_STEP=merge tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" "$LAUNCH"
  [ "$status" -eq 1 ]
  [[ "$output" == *"shard 1 ($STATE/shards/00001_text_document) is missing: run the same command again"* ]]
  task 1
  STUB_TOOL_EXIT=1 SLURM_JOB_ID=800 TOKENIZE_STEP=merge tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" "$LAUNCH"
  [ "$status" -eq 1 ]
  [[ "$output" == *"merge_datasets.py exited with 1"* ]]
  [ ! -e "$OUTDIR/text_document.bin" ]
}

@test "a resubmission with other inputs is refused; submitting fails with exit 1" {
  tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" "$LAUNCH"
  tokenize --input "$RAW/part-1.jsonl" --output "$OUTDIR" "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"$STATE/inputs.txt lists other input files: an earlier run with other --input"* ]]
  rm -rf "$STATE"
  STUB_SBATCH_EXIT=1 tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" "$LAUNCH"
  [ "$status" -eq 1 ]
  [[ "$output" == *"could not submit the array job"* ]]
}

@test "bad input exits 2 before anything is submitted" {
  tokenize --input "$RAW/*.txt" --output "$OUTDIR" "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"--input '$RAW/*.txt' matches no file"* ]]
  echo x >"$RAW/notes.txt"
  tokenize --input "$RAW/*" --output "$OUTDIR" "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"--input must match JSON-lines files by absolute path (.jsonl, .json), got '$RAW/notes.txt'"* ]]
  tokenize --input "$RAW/*.jsonl" --output datasets/corpus "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"--output must be the source's directory as an absolute path"* ]]
  tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" --json-key 'a b' "$LAUNCH"
  [ "$status" -eq 2 ]
  tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" --max-parallel 0 "$LAUNCH"
  [ "$status" -eq 2 ]
  tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" --tokenizer "$SANDBOX/none" "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"$SANDBOX/none has no Hugging Face tokenizer (tokenizer.json or tokenizer.model): give --tokenizer DIR"* ]]
  SLURM_JOB_ID=9 tokenize --input "$RAW/*.jsonl" --output "$OUTDIR" "$LAUNCH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"run this on the login node"* ]]
  tokenize --input "$RAW/*.jsonl"
  [ "$status" -eq 2 ]
  [[ "$output" == *"usage: tokenize.sbatch --input 'GLOB' --output DIR"* ]]
  [ -z "$(calls sbatch)$(calls srun)" ]
}
