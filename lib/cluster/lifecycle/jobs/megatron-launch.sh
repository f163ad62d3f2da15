# shellcheck shell=bash
# The fixed part of every Megatron-LM launch script that cdk-hyperpod-training generates (pretrain-<run>.sbatch,
# `cdk-hyperpod-plan plan ... --emit-sbatch FILE`). The generated script sets the plan's variables and argument
# arrays, then sources this file from <fsx>/jobs. Pinned release: Megatron-LM core_v0.15.3 (docs/jobs.md).
#
# Modes, chosen by the environment:
#   (default)                 train: --pretrained-checkpoint BASE_CHECKPOINT --load CKPT_DIR --save CKPT_DIR
#   PROBE_ITERS=N             a throughput probe: N steps, no checkpoint loaded or saved, no auto-resume
#   CONVERT_FROM=DIR          convert the legacy (torch) checkpoint DIR, e.g. from tools/checkpoint/convert.py, to
#                             torch_dist in CONVERT_TO (default BASE_CHECKPOINT's parent); exits after the save
#   EXPORT_ITERATION=N        convert the run's torch_dist checkpoint N to legacy torch in EXPORT_TO, the input of
#                             export-megatron-to-hf.sbatch
# Exit codes: Megatron's, 2 bad input or environment, 3 NCCL did not load the EFA (OFI) plugin.
# shellcheck disable=SC2154 # TP, PP, ..., the *_ARGS arrays and PLAN_* are set by the generated script

log() { printf '%s [pretrain] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
die() {
  log "ERROR: $*" >&2
  exit 2
}

: "${MEGATRON_DIR:=/opt/megatron-lm}"
: "${PYTHON:=python}"
: "${DATA_CACHE_PATH:=$FSX/cache/$RUN_NAME}"
: "${CKPT_DIR:=$FSX/checkpoints/$RUN_NAME}"
: "${LOG_DIR:=$FSX/logs/$RUN_NAME}"
: "${TP_COMM_OVERLAP:=1}"
: "${AUTO_RESUME:=1}"
: "${NCCL_ENV_FILE:=/etc/hyperpod/nccl-env.sh}"
: "${PROBE_ITERS:=}"
: "${MOCK_DATA:=0}"
: "${PRUNE_INTERVAL:=60}"
: "${CONVERT_FROM:=}"
: "${CONVERT_TO:=${BASE_CHECKPOINT%/torch_dist}}"
: "${EXPORT_ITERATION:=}"
: "${EXPORT_TO:=$FSX/exports/$RUN_NAME/legacy}"
# Megatron stops itself (after a checkpoint) this long before the job's time limit; the job then requeues.
: "${STOP_MARGIN_S:=900}"
: "${JOB_STATE_DIR:=$LOG_DIR/.job-${SLURM_JOB_ID:-none}}"
JOB_END=

[[ -n "${SLURM_JOB_ID:-}" && -n "${SLURM_JOB_NUM_NODES:-}" ]] || die "submit this script with sbatch: it needs a Slurm allocation"
nodes=$SLURM_JOB_NUM_NODES
gpus=$((nodes * GPUS_PER_NODE))
# One line for the observability stack's Megatron log exporter, first in the job log (appended to on requeue).
printf '[hyperpod-plan] job=%s tflops_per_gpu=%s tokens_per_s_per_gpu=%s iteration_s=%s save_interval_s=%s gpus=%d\n' \
  "$SLURM_JOB_ID" "$PLAN_TFLOPS_PER_GPU" "$PLAN_TOKENS_PER_S_PER_GPU" "$PLAN_ITERATION_S" "$PLAN_SAVE_INTERVAL_S" "$gpus"

mode=train
if [[ -n "$CONVERT_FROM" ]]; then
  mode=convert
elif [[ -n "$EXPORT_ITERATION" ]]; then
  mode='export'
elif [[ -n "$PROBE_ITERS" ]]; then
  [[ "$PROBE_ITERS" =~ ^[1-9][0-9]*$ ]] || die "PROBE_ITERS must be a positive number of steps, got '$PROBE_ITERS'"
  mode=probe
fi

# check_inputs: the allocation fits the layout and the inputs are on the shared file system.
check_inputs() {
  [[ -f "$MEGATRON_DIR/pretrain_gpt.py" ]] || [[ -n "${CONTAINER_IMAGE:-}" ]] ||
    die "MEGATRON_DIR=$MEGATRON_DIR has no pretrain_gpt.py and no CONTAINER_IMAGE is set: use the training image (import-training-image.sbatch) or a Megatron-LM core_v0.15.3 checkout"
  if [[ -n "${CONTAINER_IMAGE:-}" && "$CONTAINER_IMAGE" == /* ]]; then
    [[ -f "$CONTAINER_IMAGE" ]] || die "CONTAINER_IMAGE=$CONTAINER_IMAGE not found: import the training image first: sbatch $FSX/jobs/import-training-image.sbatch"
  fi
  [[ "$KEEP_CHECKPOINTS" =~ ^[0-9]+$ ]] || die "KEEP_CHECKPOINTS must be a number of checkpoints (0: keep all), got '$KEEP_CHECKPOINTS'"
  ((gpus % (TP * PP * CP) == 0)) ||
    die "$nodes nodes ($gpus GPUs) cannot run TP·PP·CP = $((TP * PP * CP)) GPUs per model replica: use a node count whose GPUs are a multiple of it"
  dp=$((gpus / (TP * PP * CP)))
  ((GLOBAL_BATCH % (MICRO_BATCH * dp) == 0)) ||
    die "the global batch $GLOBAL_BATCH is not divisible by micro-batch·DP = $MICRO_BATCH·$dp on $nodes nodes"
  if ((VP > 1)) && [[ "$mode" != convert && "$mode" != export ]]; then
    micro_batches=$((GLOBAL_BATCH / (MICRO_BATCH * dp)))
    ((micro_batches % PP == 0)) ||
      die "the interleaved schedule (VP $VP) needs the $micro_batches micro-batches per step on $nodes nodes to be a multiple of PP $PP"
  fi
  [[ -e "$TOKENIZER_MODEL" ]] || die "tokenizer $TOKENIZER_MODEL not found: copy the model's Hugging Face tokenizer files there (docs/jobs.md)"
}

# data_args: the weighted blend (DATA_PATH overrides it: "W1 PREFIX1 W2 PREFIX2 ..." or one prefix); every
# prefix must have its .bin and .idx.
data_args() {
  if [[ "$MOCK_DATA" == 1 || "$mode" == convert || "$mode" == export ]]; then
    DATA_ARGS=(--mock-data)
    return 0
  fi
  local words=("${DATA_BLEND[@]}") word
  [[ -n "${DATA_PATH:-}" ]] && read -r -a words <<<"$DATA_PATH"
  for word in "${words[@]}"; do
    [[ "$word" =~ ^[0-9.eE+-]+$ ]] && continue # a blend weight
    [[ -f "$word.bin" && -f "$word.idx" ]] ||
      die "dataset $word.bin/.idx not found: tokenize it with $FSX/jobs/tokenize.sbatch into $FSX/datasets (the S3 data repository), then warm it with: sudo preload $FSX/datasets/..."
  done
  DATA_ARGS=(--data-path "${words[@]}" --split "$DATA_SPLIT" --data-cache-path "$DATA_CACHE_PATH")
}

# environment: the cluster's NCCL/EFA settings, the rendezvous, experiment tracking.
environment() {
  if [[ -r "$NCCL_ENV_FILE" ]]; then
    # shellcheck source=/dev/null
    . "$NCCL_ENV_FILE"
  else
    log "WARNING: $NCCL_ENV_FILE not found: no NCCL/EFA settings from the cluster"
  fi
  # Tensor/context parallelism on GPUs before Blackwell asserts this (Megatron arguments.py, core_v0.12+).
  export CUDA_DEVICE_MAX_CONNECTIONS=1 TORCH_NCCL_AVOID_RECORD_STREAMS=1
  if ((REQUIRE_OFI)); then
    # The INIT/NET lines name the transport NCCL chose; check_transport reads them.
    export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET
  fi
  # Rendezvous on the batch host: it lives as long as the job, also when HyperPod replaces a failed node.
  MASTER_ADDR=$(hostname)
  MASTER_PORT=$((20000 + SLURM_JOB_ID % 20000))
  export MASTER_ADDR MASTER_PORT
  # Rank 0 binds the straggler toggle on 0.0.0.0: above Linux's default ephemeral range (32768-60999) and the
  # rendezvous ports, so no NCCL socket or other job's rendezvous takes it.
  STRAGGLER_PORT=$((61000 + SLURM_JOB_ID % 4000))
  if [[ "$mode" == probe ]]; then
    exp_name="$RUN_NAME-probe-${nodes}n-$SLURM_JOB_ID"
  else
    exp_name=$RUN_NAME
  fi
  # The key comes from Secrets Manager through the instance role, never from a file.
  if [[ -n "$WANDB_PROJECT" && -z "${WANDB_API_KEY:-}" ]] && command -v experiment-tracking-env >/dev/null 2>&1; then
    if tracking=$(experiment-tracking-env); then
      eval "$tracking"
    fi
  fi
  mkdir -p "$LOG_DIR" "$JOB_STATE_DIR"
  TRACKING_ARGS=(--tensorboard-dir "$LOG_DIR/tensorboard")
  if [[ -n "$WANDB_PROJECT" && -n "${WANDB_API_KEY:-}" ]]; then
    TRACKING_ARGS+=(--wandb-project "$WANDB_PROJECT" --wandb-exp-name "$exp_name" --wandb-save-dir "$LOG_DIR/wandb")
    log "Weights & Biases: project $WANDB_PROJECT, run $exp_name"
  else
    log "Weights & Biases: off (no WANDB_API_KEY); TensorBoard in $LOG_DIR/tensorboard"
  fi
}

# job_end_epoch: the job's end (its time limit) in seconds since the epoch; empty without a limit.
job_end_epoch() {
  local end
  end=$(squeue -h -j "$SLURM_JOB_ID" -o %e 2>/dev/null) || return 0
  [[ "$end" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T ]] || return 0
  date -d "$end" +%s
}

# megatron_arguments: the plan's arrays plus what the mode decides.
megatron_arguments() {
  MEGATRON_ARGS=("${LAYOUT_ARGS[@]}")
  case "$mode" in
    convert | export)
      [[ " ${LAYOUT_ARGS[*]} " != *" --decoder-first-pipeline-num-layers "* ]] ||
        die "conversions need even pipeline stages: tools/checkpoint/convert.py splits layers evenly; convert on a layout with even stages, torch_dist reshards"
      # The legacy format holds no virtual-pipeline chunks: convert on the plain TP×PP layout. torch_dist
      # stores global tensor offsets, so the run loads it into its virtual stages (docs/jobs.md).
      MEGATRON_ARGS+=("${MODEL_ARGS[@]}" "${TRAINING_ARGS[@]}")
      ;;
    *)
      MEGATRON_ARGS+=("${VIRTUAL_STAGE_ARGS[@]}" "${MODEL_ARGS[@]}" "${TRAINING_ARGS[@]}")
      if ((${#TP_COMM_OVERLAP_ARGS[@]} > 0)) && [[ "$TP_COMM_OVERLAP" == 1 ]]; then
        MEGATRON_ARGS+=("${TP_COMM_OVERLAP_ARGS[@]}")
      fi
      ;;
  esac
  MEGATRON_ARGS+=(--straggler-ctrlr-port "$STRAGGLER_PORT" "${DATA_ARGS[@]}" "${TRACKING_ARGS[@]}")
  case "$mode" in
    probe)
      MEGATRON_ARGS+=(--exit-interval "$PROBE_ITERS" --eval-iters 0)
      log "throughput probe: $PROBE_ITERS steps"
      ;;
    convert)
      [[ -f "$CONVERT_FROM/latest_checkpointed_iteration.txt" ]] ||
        die "CONVERT_FROM=$CONVERT_FROM holds no Megatron checkpoint (latest_checkpointed_iteration.txt): run convert-hf-to-megatron.sbatch"
      [[ -n "$CONVERT_TO" ]] || die "CONVERT_TO is not set and the plan has no BASE_CHECKPOINT"
      mkdir -p "$CONVERT_TO"
      # Weights only: the run loads this with --pretrained-checkpoint (no optimizer or RNG state), and a fresh
      # distributed-optimizer state would add 12 bytes per parameter.
      MEGATRON_ARGS+=(--ckpt-format torch --load "$CONVERT_FROM" --no-load-optim --no-load-rng
        --ckpt-convert-format torch_dist --ckpt-convert-save "$CONVERT_TO" --no-save-optim --no-save-rng)
      log "converting $CONVERT_FROM (torch) to $CONVERT_TO/torch_dist for TP$TP PP$PP"
      ;;
    export)
      [[ "$EXPORT_ITERATION" =~ ^[0-9]+$ ]] || die "EXPORT_ITERATION must be an iteration number, got '$EXPORT_ITERATION'"
      local dir
      printf -v dir '%s/iter_%07d' "$CKPT_DIR" "$((10#$EXPORT_ITERATION))"
      [[ -d "$dir" ]] || die "no checkpoint $dir to export"
      # --load takes the newest checkpoint; a tracker file of its own points it at the one asked for.
      mkdir -p "$JOB_STATE_DIR/export-load" "$EXPORT_TO"
      ln -sfn "$dir" "$JOB_STATE_DIR/export-load/${dir##*/}"
      echo "$((10#$EXPORT_ITERATION))" >"$JOB_STATE_DIR/export-load/latest_checkpointed_iteration.txt"
      MEGATRON_ARGS+=(--ckpt-format torch_dist --load "$JOB_STATE_DIR/export-load" --no-load-optim --no-load-rng
        --ckpt-convert-format torch --ckpt-convert-save "$EXPORT_TO" --no-save-optim --no-save-rng)
      log "exporting $dir to $EXPORT_TO/torch for TP$TP PP$PP"
      ;;
    train)
      mkdir -p "$CKPT_DIR"
      MEGATRON_ARGS+=("${CHECKPOINT_ARGS[@]}" --save "$CKPT_DIR" --load "$CKPT_DIR"
        --eval-interval "$EVAL_INTERVAL" --eval-iters "$EVAL_ITERS")
      if [[ -f "$CKPT_DIR/latest_checkpointed_iteration.txt" ]]; then
        log "resuming from $CKPT_DIR, iteration $(<"$CKPT_DIR/latest_checkpointed_iteration.txt")"
      elif [[ -n "$BASE_CHECKPOINT" ]]; then
        [[ -f "$BASE_CHECKPOINT/latest_checkpointed_iteration.txt" ]] ||
          die "BASE_CHECKPOINT=$BASE_CHECKPOINT holds no Megatron checkpoint: convert the base model first (convert-hf-to-megatron.sbatch, docs/jobs.md)"
        log "no checkpoint in $CKPT_DIR yet: starting from $BASE_CHECKPOINT (weights only; iteration 0)"
      else
        log "no checkpoint in $CKPT_DIR: training from scratch"
      fi
      # Megatron loads BASE_CHECKPOINT only while CKPT_DIR holds none: every restart resumes the run itself.
      [[ -n "$BASE_CHECKPOINT" ]] && MEGATRON_ARGS+=(--pretrained-checkpoint "$BASE_CHECKPOINT")
      JOB_END=$(job_end_epoch)
      if [[ -n "$JOB_END" ]]; then
        # Less than a minute of training before the stop margin: starting would stop at once, requeue, and do the
        # same again forever. A time limit this short is a mistake, not a pause.
        (((JOB_END - $(date +%s) - STOP_MARGIN_S) >= 60)) ||
          die "the time limit (at $(date -u -d "@$JOB_END" +%Y-%m-%dT%H:%M:%SZ)) leaves under a minute of training before" \
            "the ${STOP_MARGIN_S}s stop margin: give the job a longer --time, or a smaller STOP_MARGIN_S"
        log "time limit at $(date -u -d "@$JOB_END" +%Y-%m-%dT%H:%M:%SZ): Megatron saves and stops ${STOP_MARGIN_S}s before it"
      fi
      log "checkpoints every $SAVE_INTERVAL steps to $CKPT_DIR"
      ;;
  esac
}

# check_transport STATE: pass the step's output through; stop the step when NCCL chose TCP sockets, not the EFA
# (OFI) plugin: "NCCL INFO Using network Socket" instead of "... Using network Libfabric"/"AWS Libfabric".
check_transport() {
  local state=$1 line
  while IFS= read -r line; do
    printf '%s\n' "$line"
    if [[ ! -f "$state/transport" && "$line" == *"NCCL INFO Using network "* ]]; then
      echo "${line##*Using network }" >"$state/transport"
      if [[ "$line" != *Libfabric* ]]; then
        log "ERROR: NCCL loaded no EFA plugin (${line##*Using network }): the training image lacks aws-ofi-nccl or FI_PROVIDER is wrong; stopping" >&2
        : >"$state/no-ofi"
        [[ -f "$state/srun.pid" ]] && kill -TERM "$(<"$state/srun.pid")" 2>/dev/null
      fi
    fi
  done
}

# exported DIR: every file of the checkpoint is archived in the S3 data repository and unchanged since (lfs
# hsm_state: "archived" without "dirty"). Only those may leave FSx: the copy in S3 is then the checkpoint.
exported() {
  local states
  states=$(find "$1" -type f -print0 | xargs -0 -r lfs hsm_state 2>/dev/null) || return 1
  [[ -n "$states" ]] && ! grep -v -q "archived" <<<"$states" && ! grep -q "dirty" <<<"$states"
}

# prune_checkpoints: keep the newest KEEP_CHECKPOINTS complete checkpoints on FSx. A checkpoint is complete once
# latest_checkpointed_iteration.txt names its iteration or a later one (Megatron writes it after the save); an
# older one is deleted from FSx only once it is exported to S3, where it stays.
prune_checkpoints() {
  local latest dir complete=() i
  if ((KEEP_CHECKPOINTS == 0)) || [[ ! -f "$CKPT_DIR/latest_checkpointed_iteration.txt" ]]; then
    return 0
  fi
  latest=$(<"$CKPT_DIR/latest_checkpointed_iteration.txt")
  [[ "$latest" =~ ^[0-9]+$ ]] || return 0
  for dir in "$CKPT_DIR"/iter_*; do
    if [[ -d "$dir" && "${dir##*/}" =~ ^iter_([0-9]+)$ ]] && ((10#${BASH_REMATCH[1]} <= 10#$latest)); then
      complete+=("$dir")
    fi
  done
  for ((i = 0; i < ${#complete[@]} - KEEP_CHECKPOINTS; i++)); do
    if exported "${complete[i]}"; then
      log "removing checkpoint ${complete[i]} from FSx: it is in S3 (keeping the newest $KEEP_CHECKPOINTS here)"
      rm -rf -- "${complete[i]}"
    else
      log "keeping checkpoint ${complete[i]} on FSx: not yet exported to S3"
    fi
  done
}

# finished: the run's newest checkpoint is at the last step.
finished() {
  local latest
  [[ -f "$CKPT_DIR/latest_checkpointed_iteration.txt" ]] || return 1
  latest=$(<"$CKPT_DIR/latest_checkpointed_iteration.txt")
  [[ "$latest" =~ ^[0-9]+$ ]] && ((10#$latest >= TRAIN_STEPS))
}

run_step() {
  SRUN_ARGS=(--ntasks-per-node="$GPUS_PER_NODE" --kill-on-bad-exit=1)
  # HyperPod auto-resume: after a hardware fault, replace the node and run the step again (it loads the newest
  # checkpoint).
  if [[ "$AUTO_RESUME" == 1 && "$mode" == train ]]; then
    SRUN_ARGS+=(--auto-resume=1)
  fi
  if [[ -n "${CONTAINER_IMAGE:-}" ]]; then
    SRUN_ARGS+=(--container-image="$CONTAINER_IMAGE" --container-mounts="$FSX:$FSX")
  fi
  # Each task takes its rank from Slurm and, in training, its --exit-duration-in-mins from the job's end at its
  # own start: Megatron counts minutes from process start, and an auto-resumed step starts later than the first.
  # shellcheck disable=SC2016 # expanded by each task
  local task='export RANK=$SLURM_PROCID LOCAL_RANK=$SLURM_LOCALID WORLD_SIZE=$SLURM_NTASKS
if [[ -n "${JOB_END:-}" ]]; then
  mins=$(( (JOB_END - $(date +%s) - STOP_MARGIN_S) / 60 ))
  (( mins >= 1 )) || { echo "too close to the time limit to start" >&2; exit 0; }
  set -- "$@" --exit-duration-in-mins "$mins"
fi
exec "$@"'
  export JOB_END STOP_MARGIN_S
  local status=0 pruner_pid=
  rm -f "$JOB_STATE_DIR/transport" "$JOB_STATE_DIR/no-ofi" "$JOB_STATE_DIR/srun.pid"
  srun "${SRUN_ARGS[@]}" bash -c "$task" task "$PYTHON" "$MEGATRON_DIR/pretrain_gpt.py" "${MEGATRON_ARGS[@]}" \
    > >(check_transport "$JOB_STATE_DIR") 2>&1 &
  local srun_pid=$!
  echo "$srun_pid" >"$JOB_STATE_DIR/srun.pid"
  if [[ "$mode" == train ]] && ((KEEP_CHECKPOINTS > 0)); then
    # sleep gets no output stream of the job: it may outlive the pruner by one interval.
    while sleep "$PRUNE_INTERVAL" >/dev/null 2>&1; do prune_checkpoints; done &
    pruner_pid=$!
  fi
  wait "$srun_pid" || status=$?
  if [[ -n "$pruner_pid" ]]; then
    kill "$pruner_pid" 2>/dev/null || true
    prune_checkpoints
  fi
  # The output filter ends with the step; wait for its last lines.
  wait 2>/dev/null || true
  if [[ -f "$JOB_STATE_DIR/no-ofi" ]]; then
    log "ERROR: stopped: NCCL used $(<"$JOB_STATE_DIR/transport") instead of EFA" >&2
    exit 3
  fi
  if ((REQUIRE_OFI)) && ((status == 0)) && [[ ! -f "$JOB_STATE_DIR/transport" ]]; then
    log "WARNING: no 'NCCL INFO Using network' line in the output: the EFA plugin was not confirmed"
  fi
  if ((status != 0)); then
    log "training step failed with exit code $status"
    exit "$status"
  fi
  if [[ "$mode" == train && -n "$JOB_END" ]] && ! finished; then
    # Megatron stopped cleanly before the time limit (--exit-duration-in-mins) after a checkpoint.
    log "requeueing job $SLURM_JOB_ID: stopped before the time limit; the next run resumes from $CKPT_DIR"
    scontrol requeue "$SLURM_JOB_ID"
  fi
  exit 0
}

check_inputs
data_args
environment
megatron_arguments
log "job $SLURM_JOB_ID ($mode): $nodes nodes, TP$TP PP$PP CP$CP DP$dp VP$VP, micro-batch $MICRO_BATCH, global batch $GLOBAL_BATCH"
run_step
