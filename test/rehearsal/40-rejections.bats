#!/usr/bin/env bats
# The real Slurm decides whether a configuration, a topology file or a job header is usable. Each check passes
# on what the project generates and fails on a deliberately broken variant, so a generated file Slurm would refuse
# fails the rehearsal.

setup() {
  load harness
  CHECK=$(mktemp -d "$REHEARSAL_ROOT/check.XXXX")
}

@test "slurmctld starts on the slurm.conf the lifecycle scripts wrote (with the topology.conf its topology/tree reads)" {
  cp "$SLURM_CONF" "$SLURM_ETC/topology.conf" "$CHECK/"
  grep -q '^JobCompType=jobcomp/script$' "$CHECK/slurm.conf"
  slurmctld_accepts "$CHECK"
}

@test "a slurm.conf edit slurmctld refuses fails the check: an unknown job completion plugin" {
  cp "$SLURM_ETC/topology.conf" "$CHECK/"
  sed 's|^JobCompType=jobcomp/script$|JobCompType=jobcomp/scripts|' "$SLURM_CONF" >"$CHECK/slurm.conf"
  run slurmctld_accepts "$CHECK"
  [ "$status" -ne 0 ]
  [[ "$output" == *"jobcomp/scripts"* ]]
}

@test "a slurm.conf edit slurmctld refuses fails the check: a misspelt key" {
  cp "$SLURM_ETC/topology.conf" "$CHECK/"
  sed 's|^JobCompLoc=|JobCompLocation=|' "$SLURM_CONF" >"$CHECK/slurm.conf"
  run slurmctld_accepts "$CHECK"
  [ "$status" -ne 0 ]
  [[ "$output" == *"JobCompLocation"* ]]
}

# The topology 45-topology generated from the labels in resource_config.json (see 60-placement.bats for the live one).
@test "a fresh slurmctld starts on the generated topology with topology/tree and shows its two leaves under one spine" {
  cp "$SLURM_CONF" "$SLURM_ETC/topology.conf" "$CHECK/"
  grep -q '^TopologyPlugin=topology/tree$' "$CHECK/slurm.conf"
  slurmctld_accepts "$CHECK" show topology
  cat "$CHECK/scontrol.out"
  grep -q '^SwitchName=nn-rehearsal-leaf-a Level=0 .*Nodes=ip-10-1-32-101,ip-10-1-33-102$' "$CHECK/scontrol.out"
  grep -q '^SwitchName=nn-rehearsal-leaf-b Level=0 .*Nodes=ip-10-1-34-103$' "$CHECK/scontrol.out"
  grep -q '^SwitchName=nn-rehearsal-spine Level=2 .*Switches=nn-rehearsal-agg$' "$CHECK/scontrol.out"
}

@test "a topology file topology/tree refuses fails the check: a misspelt key" {
  cp "$SLURM_CONF" "$CHECK/slurm.conf"
  sed 's/ Nodes=/ Node=/' "$SLURM_ETC/topology.conf" >"$CHECK/topology.conf"
  ! cmp -s "$SLURM_ETC/topology.conf" "$CHECK/topology.conf" || false
  run slurmctld_accepts "$CHECK" show topology
  echo "$output"
  [ "$status" -ne 0 ]
}

@test "a topology file topology/tree refuses fails the check: a switch whose child switch is not defined" {
  cp "$SLURM_CONF" "$CHECK/slurm.conf"
  sed 's/^SwitchName=nn-rehearsal-agg Switches=.*/&,nn-rehearsal-leaf-c/' "$SLURM_ETC/topology.conf" >"$CHECK/topology.conf"
  ! cmp -s "$SLURM_ETC/topology.conf" "$CHECK/topology.conf" || false
  run slurmctld_accepts "$CHECK" show topology
  echo "$output"
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
