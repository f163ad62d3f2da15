#!/usr/bin/env bats
# on_create.sh: identifies the node, runs the steps for its type in order, logs, stops on failure.

load test_helper

setup() {
  setup_node
  # Laid out as HyperPod downloads it: the settings file next to on_create.sh.
  cp -r "$LIFECYCLE_SRC" "$SANDBOX/lifecycle"
  mv "$SETTINGS_FILE" "$SANDBOX/lifecycle/cluster-settings.json"
  unset SETTINGS_FILE
  LOG="$PROVISION_ROOT/var/log/provision/provision.log"
}

on_create() {
  run bash "$SANDBOX/lifecycle/on_create.sh"
}

started_steps() {
  sed -n 's/^.*\[on_create\] step \([^:]*\): start$/\1/p' "$LOG" | tr '\n' ' '
}

@test "a Compute node runs every step in order, logging to the console, provision.log and step logs" {
  on_create
  [ "$status" -eq 0 ]
  [ "$(started_steps)" = "10-wait-network 20-verify-fsx 30-containers 40-nccl-env 50-preload-tool 60-experiment-tracking 70-observability " ]
  grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \[INFO\] \[on_create\] this node is in instance group 'Compute' \(node type Compute\)$" "$LOG"
  grep -qE "^[0-9T:-]{19}Z \[INFO\] \[on_create\] step 30-containers: done in [0-9]+s$" "$LOG"
  grep -q "\[on_create\] done: all steps completed on this Compute node" "$LOG"
  local line="[20-verify-fsx] FSx for Lustre 10.1.2.3@tcp:/abcdefgh"
  [[ "$output" == *"$line"* ]]
  grep -qF "$line" "$LOG"
  grep -qF "$line" "$PROVISION_ROOT/var/log/provision/20-verify-fsx.log"
  [ -z "$(grep -F '[30-containers]' "$PROVISION_ROOT/var/log/provision/20-verify-fsx.log")" ]
  [ -x "$PROVISION_ROOT/usr/local/bin/preload" ]
  [ -f "$PROVISION_ROOT/etc/hyperpod/nccl-env.sh" ]
}

@test "a Controller node runs only the steps marked for controllers" {
  STUB_HOST_IPS=10.1.0.10 on_create
  [ "$status" -eq 0 ]
  [ "$(started_steps)" = "10-wait-network 20-verify-fsx 70-observability 80-job-notifications 90-job-templates " ]
  [ -x "$PROVISION_ROOT/fsx/jobs/nccl-allreduce-check.sbatch" ]
  grep -q "step 30-containers: skipped (runs on Login Compute)" "$LOG"
  [ -z "$(calls docker)" ]
  [ ! -e "$PROVISION_ROOT/usr/local/bin/preload" ]
}

@test "a failing step stops the run, named in the error, with a non-zero exit" {
  STUB_FSX_AFTER=never PROVISION_FSX_ATTEMPTS=2 on_create
  [ "$status" -eq 1 ]
  grep -qE "\[ERROR\] \[on_create\] step 20-verify-fsx: FAILED with exit code 1 after [0-9]+s; see .*/20-verify-fsx.log$" "$LOG"
  grep -q "\[ERROR\] \[20-verify-fsx\] FSx for Lustre .* is not mounted at /fsx" "$PROVISION_ROOT/var/log/provision/20-verify-fsx.log"
  [ "$(started_steps)" = "10-wait-network 20-verify-fsx " ]
  [ ! -e "$PROVISION_ROOT/var/log/provision/30-containers.log" ]
  [[ "$output" == *"step 20-verify-fsx: FAILED"* ]]
}

@test "a node whose instance group is not in the settings fails before any step" {
  STUB_HOST_IPS=10.1.99.9 on_create
  [ "$status" -eq 1 ]
  grep -q "instance group 'Spare' is not in .*/cluster-settings.json instanceGroups" "$LOG"
  [ -z "$(started_steps)" ]
}

@test "a node missing from resource_config.json fails before any step" {
  STUB_HOST_IPS=192.168.7.7 STUB_HOSTNAME=builder on_create
  [ "$status" -eq 1 ]
  grep -q "lists no instance with this host's addresses (192.168.7.7)" "$LOG"
  [ -z "$(started_steps)" ]
}

@test "a missing settings file fails with its path" {
  rm "$SANDBOX/lifecycle/cluster-settings.json"
  on_create
  [ "$status" -eq 1 ]
  grep -q "\[ERROR\] \[on_create\] settings file not found: $SANDBOX/lifecycle/cluster-settings.json" "$LOG"
  [ -z "$(started_steps)" ]
}

@test "a step without a node-types header is an error, not silently run or skipped" {
  printf '#!/usr/bin/env bash\nset -euo pipefail\ntouch "%s"\n' "$SANDBOX/ran" >"$SANDBOX/lifecycle/steps/15-unmarked.sh"
  on_create
  [ "$status" -ne 0 ]
  grep -q "15-unmarked.sh has no '# node-types:' header" "$LOG"
  [ ! -e "$SANDBOX/ran" ]
}

@test "running on_create.sh twice is harmless: same files, docker restarted only once" {
  on_create
  [ "$status" -eq 0 ]
  local before
  before=$(snapshot "$PROVISION_ROOT" | grep -v 'var/log/provision')
  on_create
  [ "$status" -eq 0 ]
  [ "$(snapshot "$PROVISION_ROOT" | grep -v 'var/log/provision')" = "$before" ]
  [ "$(calls systemctl | grep -c 'restart docker.service')" -eq 1 ]
  [ "$(grep -c 'done: all steps completed' "$LOG")" -eq 2 ]
}
