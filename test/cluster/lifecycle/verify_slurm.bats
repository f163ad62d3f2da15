#!/usr/bin/env bats
# steps/15-verify-slurm.sh: the Slurm HyperPod set up is there before anything builds on it; nothing starts it.

load test_helper

setup() {
  setup_node
  export PROVISION_SLURM_ATTEMPTS=3 PROVISION_SLURM_DELAY=1
}

@test "a compute node with slurm.conf and a running slurmd passes, without starting anything" {
  run_step 15-verify-slurm
  [ "$status" -eq 0 ]
  [[ "$output" == *"[INFO] [15-verify-slurm] slurmd runs; $PROVISION_ROOT/opt/slurm/etc/slurm.conf present"* ]]
  [ "$(calls pgrep)" = "pgrep -x slurmd" ]
  [ -z "$(calls systemctl)" ]
}

@test "a compute node without slurmd fails after its retries, naming the log to read" {
  STUB_PROCESSES="" run_step 15-verify-slurm
  [ "$status" -eq 1 ]
  [ "$(calls pgrep | wc -l)" -eq 3 ]
  [[ "$output" == *"[ERROR] [15-verify-slurm] no slurmd process on this compute node after 3 attempts; see /var/log/slurm/slurmd.log"* ]]
}

@test "the controller passes when scontrol ping reports the primary UP, and fails when it is DOWN" {
  STUB_HOST_IPS=10.1.0.10 run_step 15-verify-slurm
  [ "$status" -eq 0 ]
  [[ "$output" == *"slurmctld is up: Slurmctld(primary) at ip-10-1-0-10 is UP"* ]]
  [ -z "$(calls pgrep)" ]
  STUB_HOST_IPS=10.1.0.10 STUB_SLURMCTLD=down run_step 15-verify-slurm
  [ "$status" -eq 1 ]
  [[ "$output" == *"slurmctld does not answer on this controller after 3 attempts: Slurmctld(primary) at ip-10-1-0-10 is DOWN."* ]]
}

@test "a node without HyperPod's slurm.conf fails at once, saying where it looked and why it may be missing" {
  rm "$PROVISION_ROOT/opt/slurm/etc/slurm.conf"
  run_step 15-verify-slurm
  [ "$status" -eq 1 ]
  [[ "$output" == *"$PROVISION_ROOT/opt/slurm/etc/slurm.conf not found: HyperPod configures Slurm only for instance groups with SlurmConfig (NodeType Compute)"* ]]
  [ -z "$(calls pgrep)" ]
}

@test "a login node needs only slurm.conf" {
  STUB_HOST_IPS=10.1.0.20 STUB_PROCESSES="" run_step 15-verify-slurm
  [ "$status" -eq 0 ]
  [[ "$output" == *"[INFO] [15-verify-slurm] $PROVISION_ROOT/opt/slurm/etc/slurm.conf present"* ]]
  [ -z "$(calls pgrep)$(calls scontrol)" ]
}
