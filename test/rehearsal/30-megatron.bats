#!/usr/bin/env bats
# The Megatron-LM launch the reference app ships (pretrain-swallow-70b.sbatch) under the real scheduler: srun starts
# one task per GPU, each runs the python stub (stubs/python: no GPU or PyTorch here) in place of pretrain_gpt.py.
# The time-limit path is the script's own: the header's --signal=B:USR1@900 comes from slurmctld, the script stops
# the step with scancel --signal=TERM, and requeues itself with scontrol requeue.

setup() {
  load harness
  RUN_DIR=$(mktemp -d "$REHEARSAL_ROOT/megatron.XXXX")
  mkdir -p "$RUN_DIR/Megatron-LM" "$RUN_DIR/tokenizer"
  touch "$RUN_DIR/Megatron-LM/pretrain_gpt.py"
  # The script's inputs from the environment (sbatch passes it on). AUTO_RESUME=0: --auto-resume is an srun option
  # of HyperPod's own Slurm plugin, which plain Slurm refuses.
  export MEGATRON_DIR=$RUN_DIR/Megatron-LM PYTHON=$STUBS_DIR/python MOCK_DATA=1 TOKENIZER_MODEL=$RUN_DIR/tokenizer \
    CKPT_DIR=$RUN_DIR/checkpoints LOG_DIR=$RUN_DIR/logs AUTO_RESUME=0 PRUNE_INTERVAL=1 \
    NCCL_ENV_FILE=$NODE_ROOT/etc/hyperpod/nccl-env.sh
}

submit() { sbatch --parsable --chdir="$RUN_DIR" "$@" "$NODE_ROOT/fsx/jobs/pretrain-swallow-70b.sbatch"; }
job_log() { cat "$RUN_DIR/pretrain-swallow-70b-$1.out"; }
requeued() { [ "$(scontrol show job "$1" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')" -ge 1 ]; }

@test "the launch runs one task per GPU on every node of the allocation, to the end of the run" {
  local id
  id=$(REHEARSAL_STEPS=3 submit --nodes=2)
  wait_for 60 job_done "$id"
  job_log "$id"
  [ "$(job_state "$id")" = COMPLETED ]
  # 2 nodes x 8 tasks, ranks from Slurm, one rendezvous on the batch host.
  [ "$(job_log "$id" | grep -c ': finished at step 3$')" -eq 16 ]
  job_log "$id" | grep -q "rank 15/16 (local 7)"
  [ "$(job_log "$id" | grep -o 'MASTER=[^ ]*' | sort -u | wc -l)" -eq 1 ]
  job_log "$id" | grep -q "no checkpoint in $CKPT_DIR: training from scratch"
}

@test "near the time limit the job checkpoints, requeues itself, resumes, and its log keeps both attempts" {
  local id
  # A one-minute limit: the header's USR1 (900 s before the end) comes at slurmctld's first time-limit check.
  # Two nodes: the plan's TP·PP·CP needs 16 GPUs.
  id=$(REHEARSAL_STEPS=100000 submit --nodes=2 --time=1)
  wait_for 60 requeued "$id"
  wait_for 90 job_done "$id"
  job_log "$id"
  [ "$(job_state "$id")" = COMPLETED ]
  # The first attempt saved a checkpoint on SIGTERM; the second loaded it.
  [ -f "$CKPT_DIR/latest_checkpointed_iteration.txt" ]
  job_log "$id" | grep -q "resuming from $CKPT_DIR, iteration $(<"$CKPT_DIR/latest_checkpointed_iteration.txt")"
  # KNOWN FAILURE until the header has --open-mode=append (issue 14): Slurm truncates a requeued job's output file,
  # so the first attempt's lines are gone.
  job_log "$id" | grep -q "the time limit is near: stopping after a checkpoint, then requeueing"
  job_log "$id" | grep -q "requeueing job $id"
}
