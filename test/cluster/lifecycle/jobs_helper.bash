#!/usr/bin/env bash
# Shared setup for the job-template tests (the scripts in lib/cluster/lifecycle/jobs and the generated launch
# scripts): a sandbox whose PATH has only the Slurm, GPU and nccl-tests stubs, so sleep is the real one.

# shellcheck disable=SC2034 # read by the .bats files
JOBS="$LIFECYCLE_SRC/jobs"

# setup_jobs: the sandbox, no Slurm allocation, no experiment-tracking key.
setup_jobs() {
  SANDBOX="$BATS_TEST_TMPDIR/sandbox"
  export STUB_STATE="$SANDBOX/stub-state"
  export STUB_CALLS="$SANDBOX/calls.log"
  export NCCL_ENV_FILE="$SANDBOX/nccl-env.sh"
  mkdir -p "$SANDBOX/bin" "$STUB_STATE"
  : >"$STUB_CALLS"
  local stub
  for stub in _stub.bash srun sbatch scancel scontrol squeue hostname nvidia-smi dcgmi all_reduce_perf lfs; do
    ln -s "$BATS_TEST_DIRNAME/stubs/$stub" "$SANDBOX/bin/$stub"
  done
  PATH="$SANDBOX/bin:$PATH"
  unset SLURM_JOB_ID SLURM_JOB_NUM_NODES WANDB_API_KEY ALL_REDUCE_PERF
}
