#!/usr/bin/env bats
# The Megatron-LM launch the reference app ships (pretrain-swallow-70b.sbatch, which sources megatron-launch.sh from
# the jobs directory 90-job-templates installed) under the real scheduler: srun starts one task per GPU, each runs
# the python stub (stubs/python: no GPU or PyTorch here) in place of pretrain_gpt.py. The time-limit path is the
# script's own: it reads the job's end from squeue, gives each task --exit-duration-in-mins, and requeues itself with
# scontrol requeue once Megatron stopped after a checkpoint.

setup() {
  load harness
  RUN_DIR=$(mktemp -d "$REHEARSAL_ROOT/megatron.XXXX")
  mkdir -p "$RUN_DIR/Megatron-LM" "$RUN_DIR/tokenizer"
  touch "$RUN_DIR/Megatron-LM/pretrain_gpt.py"
  JOB_SCRIPT=$NODE_ROOT/fsx/jobs/pretrain-swallow-70b.sbatch
  TRAIN_STEPS=$(sed -n 's/^readonly .*TRAIN_STEPS=\([0-9]*\).*/\1/p' "$JOB_SCRIPT")
  # The script's inputs from the environment (sbatch passes it on). LAUNCH_LIBRARY: the launch library where
  # 90-job-templates put it (/fsx is node/fsx here). No container (CONTAINER_IMAGE empty: no pyxis in plain Slurm),
  # no base checkpoint. AUTO_RESUME=0: --auto-resume is an srun option of HyperPod's own Slurm plugin, which plain
  # Slurm refuses. NCCL_ENV_FILE: what 40-nccl-env wrote on the first compute node (the same on every node), where a
  # job reads /etc/hyperpod/nccl-env.sh.
  export LAUNCH_LIBRARY=$NODE_ROOT/fsx/jobs/megatron-launch.sh CONTAINER_IMAGE="" BASE_CHECKPOINT="" \
    MEGATRON_DIR=$RUN_DIR/Megatron-LM PYTHON=$STUBS_DIR/python MOCK_DATA=1 TOKENIZER_MODEL=$RUN_DIR/tokenizer \
    CKPT_DIR=$RUN_DIR/checkpoints LOG_DIR=$RUN_DIR/logs AUTO_RESUME=0 PRUNE_INTERVAL=1
  NCCL_ENV_FILE=$(compute_root "$(compute_nodes | head -n 1 | cut -d' ' -f2)")/etc/hyperpod/nccl-env.sh
  export NCCL_ENV_FILE
}

submit() { sbatch --parsable --chdir="$RUN_DIR" "$@" "$JOB_SCRIPT"; }
job_log() { cat "$RUN_DIR/pretrain-swallow-70b-$1.out"; }
requeued() { [ "$(scontrol show job "$1" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')" -ge 1 ]; }
exit_code() { scontrol show job "$1" | sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p'; }
batch_host() { scontrol show job "$1" | sed -n 's/.* BatchHost=\([^ ]*\).*/\1/p'; }

@test "the launch runs one task per GPU on every node of the allocation, to the end of the run" {
  local id
  [[ "$TRAIN_STEPS" =~ ^[0-9]+$ ]]
  id=$(REHEARSAL_STEPS=3 submit --nodes=2)
  wait_for 60 job_done "$id"
  job_log "$id"
  [ "$(job_state "$id")" = COMPLETED ]
  # The plan's line for the log exporter comes first.
  job_log "$id" | head -n 1 | grep -q "^\[hyperpod-plan\] job=$id tflops_per_gpu=.* gpus=16$"
  # 2 nodes x 8 tasks, ranks from Slurm, one rendezvous on the batch host, the run's last save.
  [ "$(job_log "$id" | grep -c ": finished at iteration $TRAIN_STEPS$")" -eq 16 ]
  job_log "$id" | grep -q "rank 15/16 (local 7)"
  [ "$(job_log "$id" | grep -o 'MASTER=[^:]*' | sort -u)" = "MASTER=$(batch_host "$id")" ]
  job_log "$id" | grep -q "no checkpoint in $CKPT_DIR: training from scratch"
  [ "$(<"$CKPT_DIR/latest_checkpointed_iteration.txt")" = "$TRAIN_STEPS" ]
  # The cluster's NCCL settings reached every node's tasks; NCCL named the EFA plugin: the transport check saw it.
  [ "$(job_log "$id" | grep -c "NCCL INFO NCCL_SOCKET_IFNAME set by environment to $(jq_settings nccl.NCCL_SOCKET_IFNAME)$")" -eq 2 ]
  [ "$(job_log "$id" | grep -c -e "nccl-env.sh not found" -e "the EFA plugin was not confirmed")" -eq 0 ]
}

@test "near the time limit Megatron checkpoints and stops, the job requeues itself, resumes, and its log keeps both attempts" {
  local id saved
  # A two-minute limit and a 30 s margin: each task gets --exit-duration-in-mins 1. Two nodes: the plan's TP·PP·CP
  # needs 16 GPUs.
  id=$(REHEARSAL_STEPS=100000 STOP_MARGIN_S=30 submit --nodes=2 --time=2)
  wait_for 120 requeued "$id"
  wait_for 90 job_done "$id"
  job_log "$id"
  [ "$(job_state "$id")" = COMPLETED ]
  # The first attempt: the job's end from squeue, one minute for every task, a save when it is up, the requeue.
  job_log "$id" | grep -q "time limit at .*: Megatron saves and stops 30s before it"
  [ "$(job_log "$id" | grep -c 'start at iteration 0 of .*, exit after 1 min$')" -eq 16 ]
  saved=$(job_log "$id" | sed -n 's/^rank 0: exiting program after 1 minutes: saved checkpoint at iteration \([0-9]*\)$/\1/p')
  [[ "$saved" =~ ^[0-9]+$ ]]
  [ -d "$CKPT_DIR/iter_$(printf %07d "$saved")" ]
  job_log "$id" | grep -q "requeueing job $id: stopped before the time limit; the next run resumes from $CKPT_DIR"
  # The second attempt (appended: --open-mode=append) loaded that checkpoint and finished the run.
  [ "$(job_log "$id" | grep -c "^\[hyperpod-plan\] job=$id ")" -eq 2 ]
  job_log "$id" | grep -q "resuming from $CKPT_DIR, iteration $saved"
  [ "$(job_log "$id" | grep -c ": finished at iteration $TRAIN_STEPS$")" -eq 16 ]
  [ "$(<"$CKPT_DIR/latest_checkpointed_iteration.txt")" = "$TRAIN_STEPS" ]
}

@test "a step whose NCCL uses TCP sockets instead of EFA is stopped, and the job fails with exit code 3" {
  local id
  id=$(REHEARSAL_STEPS=100000 REHEARSAL_NCCL_NETWORK=Socket submit --nodes=2)
  wait_for 60 job_done "$id"
  job_log "$id"
  [ "$(job_state "$id")" = FAILED ]
  [ "$(exit_code "$id")" = 3:0 ]
  job_log "$id" | grep -q "NCCL loaded no EFA plugin (Socket)"
  job_log "$id" | grep -q "stopped: NCCL used Socket instead of EFA"
  [ "$(job_log "$id" | grep -c ": finished at iteration")" -eq 0 ]
}
