#!/usr/bin/env bats
# Every job script the cluster ships (installed in /fsx/jobs by 90-job-templates, the Megatron-LM launch included)
# against the real scheduler and the rehearsal's partition layout: `sbatch --test-only` parses the #SBATCH header
# and checks it against the partitions and nodes. Node counts larger than the rehearsal's three nodes are lowered on
# the command line, which overrides the header, as a user would for a smaller cluster.

setup() {
  load harness
  JOBS=$NODE_ROOT/fsx/jobs
}

# test_only ARGS...: sbatch --test-only ARGS; the scheduler's answer in $output.
test_only() {
  run sbatch --test-only "$@"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"to start at"* ]]
}

@test "the lifecycle scripts installed every job script, the plan's launch and the library it sources included" {
  for file in dcgm-diag.sbatch nccl-allreduce-check.sbatch pretrain-swallow-70b.sbatch throughput-probe.sh; do
    [ -x "$JOBS/$file" ]
  done
  [ -r "$JOBS/megatron-launch.sh" ]
  grep -q '^: "${LAUNCH_LIBRARY:=$FSX/jobs/megatron-launch.sh}"$' "$JOBS/pretrain-swallow-70b.sbatch"
}

@test "dcgm-diag.sbatch: its header is accepted, as its usage line submits it" {
  test_only -p gpu "$JOBS/dcgm-diag.sbatch" -r 2
  [[ "$output" == *"in partition gpu"* ]]
}

@test "nccl-allreduce-check.sbatch: its header is accepted on two nodes" {
  test_only -N 2 -p gpu "$JOBS/nccl-allreduce-check.sbatch"
  [[ "$output" == *"on nodes ip-10-1-"*",ip-10-1-"* ]]
}

# The header asks for one switch (--switches=1@60), which no leaf of the rehearsal's topology (two nodes and one,
# 60-placement.bats) holds for three nodes; --test-only does not wait for a switch, so the command line allows two.
@test "pretrain-swallow-70b.sbatch: its header is accepted, with the rehearsal's 3 nodes for the plan's 32" {
  grep -q '^#SBATCH --nodes=32$' "$JOBS/pretrain-swallow-70b.sbatch"
  grep -q '^#SBATCH --switches=1@60$' "$JOBS/pretrain-swallow-70b.sbatch"
  test_only --nodes=3 --switches=2 "$JOBS/pretrain-swallow-70b.sbatch"
  # 8 tasks per node (one per GPU of the plan's p5), exclusive: every CPU of the three nodes.
  [[ "$output" == *"using 24 processors on nodes"*"in partition gpu"* ]]
}

@test "pretrain-swallow-70b.sbatch: --test-only refuses the header's one switch for more nodes than a leaf holds" {
  run sbatch --test-only --nodes=3 "$JOBS/pretrain-swallow-70b.sbatch"
  [ "$status" -ne 0 ]
  [[ "$output" == *"Requested node configuration is not available"* ]]
  test_only --nodes=2 "$JOBS/pretrain-swallow-70b.sbatch"
}

@test "pretrain-swallow-70b.sbatch: the real scheduler refuses the plan's 32 nodes on a 3-node partition" {
  run sbatch --test-only "$JOBS/pretrain-swallow-70b.sbatch"
  [ "$status" -ne 0 ]
  [[ "$output" == *"Requested node configuration is not available"* ]]
}
