#!/usr/bin/env bats
# jobs/nccl-allreduce-check.sbatch and jobs/dcgm-diag.sbatch, with srun, nvidia-smi, all_reduce_perf and dcgmi
# stubbed: the verdict line, the exit code and the command they run.

load test_helper
load jobs_helper

setup() {
  setup_jobs
  export SLURM_JOB_NUM_NODES=2 STUB_GPUS=8
  export STUB_ALL_REDUCE_OUTPUT="$FIXTURES/all_reduce_perf-2x8-pass.txt"
  echo "export FI_PROVIDER=efa" >"$NCCL_ENV_FILE"
  BINARY="$SANDBOX/bin/all_reduce_perf"
}

nccl_check() {
  run bash "$JOBS/nccl-allreduce-check.sbatch" "$@"
}

dcgm_diag() {
  run bash "$JOBS/dcgm-diag.sbatch" "$@"
}

@test "nccl: PASS when the bus bandwidth of the largest message clears the instance type's floor" {
  STUB_SRUN_ENV=FI_PROVIDER nccl_check --binary "$BINARY"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "PASS: all_reduce_perf on 2 node(s), 16 GPUs (ml.p5.48xlarge): bus bandwidth 352.41 GB/s at 4294967296 bytes >= 240 GB/s" ]
  [[ "$output" == *"at least 240 GB/s (60% of the EFA line rate of 400 GB/s per node)"* ]]
  [ "$(calls srun)" = "srun --nodes=2 --ntasks-per-node=8 --mpi=pmix $BINARY -b 8M -e 4G -f 2 -g 1 -c 1 -n 20 -w 5" ]
  grep -qx "srun-env FI_PROVIDER=efa" "$STUB_CALLS"
}

@test "nccl: FAIL when the bandwidth is below the floor, with what to check" {
  STUB_ALL_REDUCE_OUTPUT="$FIXTURES/all_reduce_perf-2x8-slow.txt" nccl_check --binary "$BINARY"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == "FAIL: all_reduce_perf on 2 node(s), 16 GPUs (ml.p5.48xlarge): bus bandwidth 12.30 GB/s at 4294967296 bytes < 240 GB/s. Check that NCCL uses EFA"* ]]
}

@test "nccl: --min-busbw overrides the table, --max-bytes the message size" {
  nccl_check --binary "$BINARY" --min-busbw 400 --max-bytes 16G
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"bus bandwidth 352.41 GB/s at 4294967296 bytes < 400 GB/s"* ]]
  [[ "$(calls srun)" == *" -e 16G "* ]]
}

@test "nccl: the floor follows the GPUs: A100 40GB nodes are p4d, 30 GB/s across nodes" {
  STUB_GPU_NAME="NVIDIA A100-SXM4-40GB" nccl_check --binary "$BINARY"
  [ "$status" -eq 0 ]
  [[ "${lines[-1]}" == "PASS: all_reduce_perf on 2 node(s), 16 GPUs (ml.p4d.24xlarge): "*">= 30 GB/s" ]]
}

@test "nccl: one node is judged against the NVLink floor" {
  SLURM_JOB_NUM_NODES=1 STUB_ALL_REDUCE_OUTPUT="$FIXTURES/all_reduce_perf-2x8-pass.txt" nccl_check --binary "$BINARY" --instance-type ml.p5.48xlarge
  [[ "$output" == *"at least 270 GB/s (one node: NVLink, not EFA"* ]]
}

@test "nccl: FAIL on wrong values in the reduced data" {
  STUB_ALL_REDUCE_OUTPUT="$FIXTURES/all_reduce_perf-2x8-wrong.txt" nccl_check --binary "$BINARY"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"3 wrong value(s) in the reduced data"* ]]
}

@test "nccl: FAIL when the ranks did not form one job (nccl-tests without MPI, wrong srun --mpi)" {
  STUB_ALL_REDUCE_OUTPUT="$FIXTURES/all_reduce_perf-1rank.txt" nccl_check --binary "$BINARY"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"it ran as 1 rank(s) in one job instead of 16: nccl-tests must be built with MPI=1"* ]]
}

@test "nccl: FAIL when srun fails" {
  STUB_SRUN_EXIT=1 nccl_check --binary "$BINARY"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *": srun exited with 1 (see the output above)" ]]
}

@test "nccl: a container image runs the image's all_reduce_perf through pyxis" {
  nccl_check --container-image /fsx/images/nccl-tests.sqsh
  [ "$status" -eq 0 ]
  [[ "$(calls srun)" == "srun --nodes=2 --ntasks-per-node=8 --mpi=pmix --container-image=/fsx/images/nccl-tests.sqsh /opt/nccl-tests/build/all_reduce_perf "* ]]
}

@test "nccl: the binary comes from ALL_REDUCE_PERF; without one the error names where it looked" {
  ALL_REDUCE_PERF="$BINARY" nccl_check
  [ "$status" -eq 0 ]
  [[ "$(calls srun)" == *" $BINARY -b 8M "* ]]
  : >"$STUB_CALLS"
  nccl_check
  [ "$status" -eq 2 ]
  [[ "$output" == *"all_reduce_perf not found (looked at \$ALL_REDUCE_PERF, /opt/nccl-tests/build/all_reduce_perf and /usr/local/cuda*/efa/test-cuda*/all_reduce_perf): pass --binary PATH"* ]]
  [ -z "$(calls srun)" ]
}

@test "nccl: refuses to guess an unknown instance type, and runs only in an allocation" {
  STUB_GPU_NAME="NVIDIA B200" nccl_check --binary "$BINARY"
  [ "$status" -eq 2 ]
  [[ "$output" == *"cannot tell the instance type from 8 x 'NVIDIA B200': pass --instance-type or --min-busbw"* ]]
  STUB_GPU_NAME="NVIDIA B200" nccl_check --binary "$BINARY" --min-busbw 300
  [ "$status" -eq 0 ]
  [[ "${lines[-1]}" == "PASS: all_reduce_perf on 2 node(s), 16 GPUs (instance type unknown): "*">= 300 GB/s" ]]
  unset SLURM_JOB_NUM_NODES
  nccl_check --binary "$BINARY"
  [ "$status" -eq 2 ]
  [[ "$output" == *"run it in a Slurm allocation"* ]]
  nccl_check --min-busbw fast
  [ "$status" -eq 2 ]
}

@test "dcgm: PASS names the node and lists warnings" {
  STUB_DCGMI_OUTPUT="$FIXTURES/dcgmi-diag-pass.txt" dcgm_diag -r 2
  [ "$status" -eq 0 ]
  [ "$(calls dcgmi)" = "dcgmi diag -r 2" ]
  [ "${lines[-1]}" = "PASS: ip-10-1-38-128: dcgmi diag -r 2 (warnings: Memory Bandwidth (GPU: 5))" ]
}

@test "dcgm: FAIL lists the failed tests and GPUs and how to replace the node" {
  STUB_DCGMI_OUTPUT="$FIXTURES/dcgmi-diag-fail.txt" STUB_DCGMI_EXIT=226 dcgm_diag --level 3
  [ "$status" -eq 1 ]
  [ "$(calls dcgmi)" = "dcgmi diag -r 3" ]
  [[ "${lines[-1]}" == "FAIL: ip-10-1-38-128: dcgmi diag -r 3: Page Retirement/Row Remap (GPU: 3), GPU Memory (GPU: 3) failed."* ]]
  [[ "${lines[-1]}" == *'scontrol update node=ip-10-1-38-128 state=fail reason="Action:Replace"'* ]]
}

@test "dcgm: FAIL when dcgmi cannot reach the host engine" {
  STUB_DCGMI_OUTPUT="$FIXTURES/dcgmi-no-hostengine.txt" STUB_DCGMI_EXIT=255 dcgm_diag
  [ "$status" -eq 1 ]
  [ "$(calls dcgmi)" = "dcgmi diag -r 2" ]
  [[ "${lines[-1]}" == *"could not reach the DCGM host engine (exit 255): start it with sudo systemctl start nvidia-dcgm" ]]
}

@test "dcgm: the level is 1 to 4; no dcgmi is an error, not a FAIL" {
  dcgm_diag -r 5
  [ "$status" -eq 2 ]
  [[ "$output" == *"the level must be 1, 2, 3 or 4, got '5'"* ]]
  rm "$SANDBOX/bin/dcgmi"
  PATH="$SANDBOX/bin:/usr/bin:/bin" dcgm_diag -r 1
  [ "$status" -eq 2 ]
  [[ "$output" == *"dcgmi not found on ip-10-1-38-128"* ]]
}
