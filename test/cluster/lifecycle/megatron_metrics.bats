#!/usr/bin/env bats
# bin/megatron-metrics: the Megatron-LM metrics of the jobs whose batch host this node is, from each job's log, for
# the job-health alerts (JobThroughputBelowPlan, StragglerRankReported, TrainingNoProgress, TrainingLossInvalid,
# TrainingLossSpike, CheckpointOverdue). The logs in fixtures/ use Megatron-LM core_v0.15.3's own format strings
# (megatron/training/training.py training_log, megatron/training/checkpointing.py save_checkpoint,
# megatron/core/utils.py StragglerDetector.report, megatron/training/arguments.py _print_args) and the
# [hyperpod-plan] line of jobs/megatron-launch.sh; scontrol-job-4242.txt is `scontrol show job -o` of a real
# Slurm 22.05, squeue-running below is `squeue -h -t RUNNING -w NODE -o '%A %B %S'`.

load test_helper

# The log's last write, 2026-11-27T04:17:30Z: the time new lines are stamped with.
LOG_MTIME=1795753050

setup() {
  setup_node
  export TZ=UTC0
  METRICS="$LIFECYCLE_SRC/bin/megatron-metrics"
  RULES="$LIFECYCLE_SRC/../../observability/rules/training-alerts.yaml"
  TEXTFILE="$SANDBOX/textfile"
  STATE="$SANDBOX/megatron-state"
  LOG="$PROVISION_ROOT/fsx/users/alice/pretrain-llama3-70b-4242.out"
  mkdir -p "$TEXTFILE" "${LOG%/*}"
  job_log megatron-train.log
  running "4242 ip-10-1-38-128 2026-11-27T04:00:00"
  sed "s|/fsx/|$PROVISION_ROOT/fsx/|g" "$FIXTURES/scontrol-job-4242.txt" >"$STUB_STATE/scontrol-job-4242"
}

# job_log FIXTURE: the job's log is FIXTURE, last written at LOG_MTIME.
job_log() {
  cp "$FIXTURES/$1" "$LOG"
  touch -d "@$LOG_MTIME" "$LOG"
}

# running LINE...: what squeue reports running on this node ("JOBID BATCHHOST START").
running() {
  printf '%s\n' "$@" >"$STUB_STATE/squeue-running"
}

# append_log TEXT MTIME: TEXT added to the log, written at MTIME.
append_log() {
  printf '%s' "$1" >>"$LOG"
  touch -d "@$2" "$LOG"
}

run_metrics() {
  run bash "$METRICS" -d "$TEXTFILE" -s "$STATE"
}

# series NAME: the samples of NAME in the job's file, without HELP and TYPE.
series() {
  grep "^$1[{ ]" "$TEXTFILE/megatron-4242.prom" || true
}

# iteration_line N: a core_v0.15.3 iteration line for iteration N (no straggler report after it).
iteration_line() {
  printf ' [2026-11-27 04:20:41] iteration %8d/%8d | consumed samples: %12d | elapsed time per iteration (ms): 20000.0 | throughput per GPU (TFLOP/s/GPU): 424.6 | learning rate: 7.500000E-05 | global batch size:  1024 | lm loss: 2.150000E+00 | loss scale: 1.0 | grad norm: 0.850 | number of skipped iterations:   0 | number of nan iterations:   0 |\n' \
    "$1" 1000 "$(($1 * 1024))"
}

@test "writes a job's series from its Megatron-LM log, on the job's batch host" {
  run_metrics
  [ "$status" -eq 0 ]
  diff "$FIXTURES/megatron-4242.prom" "$TEXTFILE/megatron-4242.prom"
  [ "$(stat -c %a "$TEXTFILE/megatron-4242.prom")" = 644 ]
  [ "$(ls "$TEXTFILE")" = megatron-4242.prom ]
  [ "$(calls squeue)" = "squeue -h -t RUNNING -w ip-10-1-38-128 -o %A %B %S" ]
  [ "$(calls scontrol)" = "scontrol show job -o 4242" ]
}

@test "writes every megatron_ series the alert rules read, labelled with the job" {
  local name
  run_metrics
  [ "$status" -eq 0 ]
  for name in $(grep -ohE 'megatron_[a-z_]+' "$RULES" | sort -u); do
    [ -n "$(series "$name")" ] || {
      echo "missing $name"
      return 1
    }
  done
  [ -z "$(grep -v '^#' "$TEXTFILE/megatron-4242.prom" | grep -v '{hpc_job="4242"[,}]')" ]
  [ "$(series megatron_loss)" = 'megatron_loss{hpc_job="4242",loss="lm loss"} 2.187654' ]
  # Megatron's last report: rank 37 at 240.12 TFLOP/s, rank 12 the fastest.
  [ "$(series megatron_straggler_rank_tflops | tr '\n' ';')" = 'megatron_straggler_rank_tflops{hpc_job="4242",stat="min",rank="37"} 240.12;megatron_straggler_rank_tflops{hpc_job="4242",stat="max",rank="12"} 410;' ]
  # The interval counts add up over the run: one NaN iteration at iteration 30.
  [ "$(series megatron_nan_iterations_total)" = 'megatron_nan_iterations_total{hpc_job="4242"} 1' ]
  # 1024 samples x 8192 tokens in 20 s on 128 GPUs.
  [ "$(series megatron_throughput_tokens_per_second_per_gpu)" = 'megatron_throughput_tokens_per_second_per_gpu{hpc_job="4242"} 3276.8' ]
}

@test "megatron-metrics output passes promtool check metrics" {
  run bash -c 'promtool check metrics <"$1" 2>&1' _ "$FIXTURES/megatron-4242.prom"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "another node of the job writes nothing for it" {
  running "4242 ip-10-1-29-16 2026-11-27T04:00:00"
  run_metrics
  [ "$status" -eq 0 ]
  [ -z "$(ls "$TEXTFILE")" ]
  [ -z "$(calls scontrol)" ]
}

@test "reads only what was added since the last run; new lines carry the log's new time" {
  run_metrics
  append_log "$(iteration_line 50)"$'\n'"  successfully saved checkpoint from iteration      50 to /fsx/checkpoints/llama3-70b [ t 1/8, p 1/2 ]"$'\n' $((LOG_MTIME + 200))
  run_metrics
  [ "$status" -eq 0 ]
  [ "$(series megatron_iteration)" = 'megatron_iteration{hpc_job="4242"} 50' ]
  [ "$(series megatron_progress_timestamp_seconds)" = "megatron_progress_timestamp_seconds{hpc_job=\"4242\"} $((LOG_MTIME + 200))" ]
  [ "$(series megatron_last_checkpoint_timestamp_seconds)" = "megatron_last_checkpoint_timestamp_seconds{hpc_job=\"4242\"} $((LOG_MTIME + 200))" ]
  [ "$(series megatron_last_checkpoint_iteration)" = 'megatron_last_checkpoint_iteration{hpc_job="4242"} 50' ]
  # The NaN iteration of the first read is not counted again.
  [ "$(series megatron_nan_iterations_total)" = 'megatron_nan_iterations_total{hpc_job="4242"} 1' ]
}

@test "a line still being written is read once it is complete" {
  local line
  line=$(iteration_line 50)
  run_metrics
  append_log "${line:0:80}" $((LOG_MTIME + 100))
  run_metrics
  [ "$(series megatron_iteration)" = 'megatron_iteration{hpc_job="4242"} 40' ]
  [ "$(series megatron_progress_timestamp_seconds)" = "megatron_progress_timestamp_seconds{hpc_job=\"4242\"} $LOG_MTIME" ]
  append_log "${line:80}"$'\n' $((LOG_MTIME + 110))
  run_metrics
  [ "$(series megatron_iteration)" = 'megatron_iteration{hpc_job="4242"} 50' ]
}

@test "a requeued job's series come from its current run only" {
  job_log megatron-requeued.log
  running "4242 ip-10-1-38-128 2026-11-27T05:10:00"
  run_metrics
  [ "$status" -eq 0 ]
  [ "$(series megatron_iteration)" = 'megatron_iteration{hpc_job="4242"} 20' ]
  # The first run's checkpoint and NaN iterations are not this run's.
  [ -z "$(series megatron_last_checkpoint_timestamp_seconds)" ]
  [ "$(series megatron_nan_iterations_total)" = 'megatron_nan_iterations_total{hpc_job="4242"} 0' ]
  [ "$(series megatron_start_timestamp_seconds)" = 'megatron_start_timestamp_seconds{hpc_job="4242"} 1795756200' ]
  # Megatron prints an infinite average loss as INF and a NaN grad norm as nan.
  [ "$(series megatron_loss)" = 'megatron_loss{hpc_job="4242",loss="lm loss"} +Inf' ]
  [ "$(series megatron_grad_norm)" = 'megatron_grad_norm{hpc_job="4242"} NaN' ]
  [ "$(series megatron_plan_save_interval_seconds)" = 'megatron_plan_save_interval_seconds{hpc_job="4242"} 1796.8' ]
}

@test "a plan line of another job does not start a new run" {
  append_log "[hyperpod-plan] job=999 tflops_per_gpu=1 tokens_per_s_per_gpu=1 iteration_s=1 save_interval_s=1 gpus=8"$'\n' $((LOG_MTIME + 10))
  run_metrics
  [ "$(series megatron_iteration)" = 'megatron_iteration{hpc_job="4242"} 40' ]
  [ "$(series megatron_plan_gpus)" = 'megatron_plan_gpus{hpc_job="4242"} 128' ]
}

@test "the straggler series go once Megatron stops reporting; one missing report is tolerated" {
  run_metrics
  # No report after iteration 50: known when iteration 60 is logged.
  append_log "$(iteration_line 50)"$'\n'"$(iteration_line 60)"$'\n' $((LOG_MTIME + 400))
  run_metrics
  [ -n "$(series megatron_straggler_rank_tflops)" ]
  # None after 60 either: the detector was turned off (on its port), its last report no longer holds.
  append_log "$(iteration_line 70)"$'\n' $((LOG_MTIME + 600))
  run_metrics
  [ -z "$(series megatron_straggler_rank_tflops)" ]
  [ "$(series megatron_iteration)" = 'megatron_iteration{hpc_job="4242"} 70' ]
}

@test "a job that ends goes silent: its file and its state are removed, other files stay" {
  echo "# efa" >"$TEXTFILE/efa.prom"
  run_metrics
  [ -f "$TEXTFILE/megatron-4242.prom" ]
  [ -f "$STATE/4242.json" ]
  running ""
  run_metrics
  [ "$status" -eq 0 ]
  [ "$(ls "$TEXTFILE")" = efa.prom ]
  [ -z "$(ls "$STATE")" ]
}

@test "a job without Megatron-LM output, or whose log is gone, gets no file" {
  running "4242 ip-10-1-38-128 2026-11-27T04:00:00" "4243 ip-10-1-38-128 2026-11-27T04:05:00"
  sed 's/4242/4243/g' "$STUB_STATE/scontrol-job-4242" >"$STUB_STATE/scontrol-job-4243"
  cp "$FIXTURES/all_reduce_perf-2x8-pass.txt" "${LOG%-4242.out}-4243.out"
  run_metrics
  [ "$status" -eq 0 ]
  [ "$(ls "$TEXTFILE")" = megatron-4242.prom ]
  rm "$LOG"
  run_metrics
  [ "$status" -eq 0 ]
  # Its file stays until the job ends: the log may be back (a file system hiccup); TextfileMetricsStale says so.
  [ "$(ls "$TEXTFILE")" = megatron-4242.prom ]
}

@test "when squeue fails, the files stay as they were and the run fails" {
  run_metrics
  cp "$TEXTFILE/megatron-4242.prom" "$SANDBOX/before"
  STUB_SQUEUE_FAIL=1 run_metrics
  [ "$status" -eq 1 ]
  [[ "$output" == *"squeue failed; job metrics not updated"* ]]
  cmp -s "$SANDBOX/before" "$TEXTFILE/megatron-4242.prom"
}

@test "rejects unknown options" {
  run bash "$METRICS" -x
  [ "$status" -eq 2 ]
  run bash "$METRICS" extra
  [ "$status" -eq 2 ]
}
