#!/usr/bin/env bats
# The real Slurm decides whether a configuration, a topology file or a job header is usable. Each check passes
# on what the project generates and fails on a deliberately broken variant, so a generated file Slurm would refuse
# fails the rehearsal.

setup() {
  load harness
  CHECK=$(mktemp -d "$REHEARSAL_ROOT/check.XXXX")
}

@test "slurmctld starts on the slurm.conf the lifecycle scripts wrote" {
  cp "$SLURM_CONF" "$CHECK/slurm.conf"
  grep -q '^JobCompType=jobcomp/script$' "$CHECK/slurm.conf"
  slurmctld_accepts "$CHECK"
}

@test "a slurm.conf edit slurmctld refuses fails the check: an unknown job completion plugin" {
  sed 's|^JobCompType=jobcomp/script$|JobCompType=jobcomp/scripts|' "$SLURM_CONF" >"$CHECK/slurm.conf"
  run slurmctld_accepts "$CHECK"
  [ "$status" -ne 0 ]
  [[ "$output" == *"jobcomp/scripts"* ]]
}

@test "a slurm.conf edit slurmctld refuses fails the check: a misspelt key" {
  sed 's|^JobCompLoc=|JobCompLocation=|' "$SLURM_CONF" >"$CHECK/slurm.conf"
  run slurmctld_accepts "$CHECK"
  [ "$status" -ne 0 ]
  [[ "$output" == *"JobCompLocation"* ]]
}

@test "topology/tree accepts the topology file: two leaves under one spine" {
  cp "$SLURM_CONF" "$CHECK/slurm.conf"
  echo "TopologyPlugin=topology/tree" >>"$CHECK/slurm.conf"
  cp "$REHEARSAL_DIR/fixtures/topology.conf" "$CHECK/topology.conf"
  slurmctld_accepts "$CHECK" show topology
  cat "$CHECK/scontrol.out"
  grep -q 'SwitchName=spine Level=1 .*Switches=leaf-a,leaf-b' "$CHECK/scontrol.out"
  grep -q 'SwitchName=leaf-b Level=0 .*Nodes=ip-10-1-34-103' "$CHECK/scontrol.out"
}

@test "a topology file topology/tree refuses fails the check: a misspelt key" {
  cp "$SLURM_CONF" "$CHECK/slurm.conf"
  echo "TopologyPlugin=topology/tree" >>"$CHECK/slurm.conf"
  sed 's/ Nodes=/ Node=/' "$REHEARSAL_DIR/fixtures/topology.conf" >"$CHECK/topology.conf"
  run slurmctld_accepts "$CHECK" show topology
  [ "$status" -ne 0 ]
}

@test "an sbatch header the scheduler refuses fails --test-only: the launch script with a partition that does not exist" {
  sed 's/^#SBATCH --partition=gpu$/#SBATCH --partition=gpus/' "$NODE_ROOT/fsx/jobs/pretrain-swallow-70b.sbatch" >"$CHECK/bad.sbatch"
  ! cmp -s "$NODE_ROOT/fsx/jobs/pretrain-swallow-70b.sbatch" "$CHECK/bad.sbatch" || false
  run sbatch --test-only --nodes=3 "$CHECK/bad.sbatch"
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid partition"* ]]
}

@test "an sbatch header sbatch cannot parse fails --test-only: a malformed --switches" {
  sed 's/^#SBATCH --switches=1@60$/#SBATCH --switches=one@60/' "$NODE_ROOT/fsx/jobs/pretrain-swallow-70b.sbatch" >"$CHECK/bad.sbatch"
  ! cmp -s "$NODE_ROOT/fsx/jobs/pretrain-swallow-70b.sbatch" "$CHECK/bad.sbatch" || false
  run sbatch --test-only --nodes=3 "$CHECK/bad.sbatch"
  [ "$status" -ne 0 ]
  [[ "$output" == *"--switches"* ]]
}
