#!/usr/bin/env bats
# on_init_complete.sh: identifies the node, runs the steps for its type in order, logs, stops on failure.

load test_helper

setup() {
  setup_node
  # Laid out as HyperPod downloads it: the settings file next to on_init_complete.sh.
  cp -r "$LIFECYCLE_SRC" "$SANDBOX/lifecycle"
  mv "$SETTINGS_FILE" "$SANDBOX/lifecycle/cluster-settings.json"
  unset SETTINGS_FILE
  LOG="$PROVISION_ROOT/var/log/provision/provision.log"
}

on_init_complete() {
  run bash "$SANDBOX/lifecycle/on_init_complete.sh"
}

started_steps() {
  sed -n 's/^.*\[on_init_complete\] step \([^:]*\): start (\(essential\|optional\))$/\1/p' "$LOG" | tr '\n' ' '
}

@test "a Compute node runs every step in order, logging to the console, provision.log and step logs" {
  on_init_complete
  [ "$status" -eq 0 ]
  [ "$(started_steps)" = "10-wait-network 15-verify-slurm 20-verify-fsx 30-containers 40-nccl-env 50-preload-tool 60-experiment-tracking 70-observability " ]
  grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \[INFO\] \[on_init_complete\] this node is in instance group 'Compute' \(node type Compute\)$" "$LOG"
  grep -qE "^[0-9T:-]{19}Z \[INFO\] \[on_init_complete\] step 30-containers: done in [0-9]+s$" "$LOG"
  grep -q "\[on_init_complete\] done: all steps completed on this Compute node" "$LOG"
  local line="[20-verify-fsx] FSx for Lustre 10.1.2.3@tcp:/abcdefgh"
  [[ "$output" == *"$line"* ]]
  grep -qF "$line" "$LOG"
  grep -qF "$line" "$PROVISION_ROOT/var/log/provision/20-verify-fsx.log"
  [ -z "$(grep -F '[30-containers]' "$PROVISION_ROOT/var/log/provision/20-verify-fsx.log")" ]
  [ -x "$PROVISION_ROOT/usr/local/bin/preload" ]
  [ -f "$PROVISION_ROOT/etc/hyperpod/nccl-env.sh" ]
}

@test "a Controller node runs only the steps marked for controllers" {
  STUB_HOST_IPS=10.1.0.10 on_init_complete
  [ "$status" -eq 0 ]
  [ "$(started_steps)" = "10-wait-network 15-verify-slurm 20-verify-fsx 25-fsx-directories 45-topology 70-observability 80-job-notifications 90-job-templates " ]
  [ -x "$PROVISION_ROOT/fsx/jobs/nccl-allreduce-check.sbatch" ]
  grep -q "step 30-containers: skipped (runs on Login Compute)" "$LOG"
  [ -z "$(calls docker)" ]
  [ ! -e "$PROVISION_ROOT/usr/local/bin/preload" ]
}

@test "a failing step stops the run, named in the error, with a non-zero exit" {
  STUB_FSX_AFTER=never PROVISION_FSX_ATTEMPTS=2 on_init_complete
  [ "$status" -eq 1 ]
  grep -qE "\[ERROR\] \[on_init_complete\] step 20-verify-fsx: FAILED \(essential\) with exit code 1 after [0-9]+s; node creation fails. See .*/20-verify-fsx.log$" "$LOG"
  grep -q "\[ERROR\] \[20-verify-fsx\] FSx for Lustre .* is not mounted at /fsx" "$PROVISION_ROOT/var/log/provision/20-verify-fsx.log"
  [ "$(started_steps)" = "10-wait-network 15-verify-slurm 20-verify-fsx " ]
  [ ! -e "$PROVISION_ROOT/var/log/provision/30-containers.log" ]
  [[ "$output" == *"step 20-verify-fsx: FAILED"* ]]
}

@test "a node whose instance group is not in the settings fails before any step" {
  STUB_HOST_IPS=10.1.99.9 on_init_complete
  [ "$status" -eq 1 ]
  grep -q "instance group 'Spare' is not in .*/cluster-settings.json instanceGroups" "$LOG"
  [ -z "$(started_steps)" ]
}

@test "a node missing from resource_config.json fails before any step" {
  STUB_HOST_IPS=192.168.7.7 STUB_HOSTNAME=builder on_init_complete
  [ "$status" -eq 1 ]
  grep -q "lists no instance with this host's addresses (192.168.7.7)" "$LOG"
  [ -z "$(started_steps)" ]
}

@test "a missing settings file fails with its path" {
  rm "$SANDBOX/lifecycle/cluster-settings.json"
  on_init_complete
  [ "$status" -eq 1 ]
  grep -q "\[ERROR\] \[on_init_complete\] settings file not found: $SANDBOX/lifecycle/cluster-settings.json" "$LOG"
  [ -z "$(started_steps)" ]
}

@test "a step without a node-types header is an error, not silently run or skipped" {
  printf '#!/usr/bin/env bash\nset -euo pipefail\ntouch "%s"\n' "$SANDBOX/ran" >"$SANDBOX/lifecycle/steps/15-unmarked.sh"
  on_init_complete
  [ "$status" -ne 0 ]
  grep -q "15-unmarked.sh has no '# node-types:' header" "$LOG"
  [ ! -e "$SANDBOX/ran" ]
}

@test "running on_init_complete.sh twice is harmless: same files, docker restarted only once" {
  on_init_complete
  [ "$status" -eq 0 ]
  local before
  before=$(snapshot "$PROVISION_ROOT" | grep -v 'var/log/provision')
  on_init_complete
  [ "$status" -eq 0 ]
  [ "$(snapshot "$PROVISION_ROOT" | grep -v 'var/log/provision')" = "$before" ]
  [ "$(calls systemctl | grep -c 'restart docker.service')" -eq 1 ]
  [ -z "$(grep -F 'FAILED' "$LOG")" ]
  [ "$(grep -c 'done: all steps completed' "$LOG")" -eq 2 ]
}

@test "the controller makes the user directories on /fsx writable by every user" {
  STUB_HOST_IPS=10.1.0.10 on_init_complete
  [ "$status" -eq 0 ]
  [ "$(stat -c %a "$PROVISION_ROOT/fsx/users")" = 1777 ]
}

@test "every shipped step declares its class, and the essential ones are the ones a cluster cannot run without" {
  local file essential=()
  for file in "$LIFECYCLE_SRC"/steps/[0-9][0-9]-*.sh; do
    grep -qE '^# class: (essential|optional)$' "$file"
    if grep -qx '# class: essential' "$file"; then essential+=("$(basename "$file" .sh)"); fi
  done
  [[ " ${essential[*]} " == *" 10-wait-network 15-verify-slurm 20-verify-fsx 25-fsx-directories 30-containers "* ]]
  for file in 45-topology 50-preload-tool 60-experiment-tracking 70-observability 80-job-notifications; do
    grep -qx '# class: optional' "$LIFECYCLE_SRC/steps/$file.sh"
  done
}

@test "a failing optional step is logged, reported as a node_exporter gauge, and the run goes on" {

  python3 - "$SANDBOX/lifecycle/cluster-settings.json" <<'PY'
import json, sys
path = sys.argv[1]
settings = json.load(open(path))
settings["observability"] = {"remoteWriteUrl": "ftp://nowhere", "region": "us-east-1"}
json.dump(settings, open(path, "w"))
PY
  on_init_complete
  [ "$status" -eq 0 ]
  grep -qE "\[ERROR\] \[on_init_complete\] step 70-observability: FAILED \(optional\) with exit code 1 after [0-9]+s; continuing with a degraded node" "$LOG"
  grep -q "\[WARN\] \[on_init_complete\] done with a degraded Compute node in [0-9]*s: optional steps failed: 70-observability" "$LOG"
  local prom="$PROVISION_ROOT/var/lib/node_exporter/textfile/hyperpod_lifecycle.prom"
  grep -qx 'hyperpod_lifecycle_step_failed{step="70-observability"} 1' "$prom"
  grep -qx 'hyperpod_lifecycle_step_failed{step="60-experiment-tracking"} 0' "$prom"
  grep -qx '# TYPE hyperpod_lifecycle_step_failed gauge' "$prom"
  [ "$(stat -c %a "$prom")" = 644 ]
  [ -z "$(find "${prom%/*}" -name 'hyperpod_lifecycle.prom.*')" ]
  if command -v promtool >/dev/null; then promtool check metrics <"$prom"; fi
}

@test "a step without a class header is an error before any step runs" {
  printf '#!/usr/bin/env bash\n# node-types: Compute\nset -euo pipefail\ntouch "%s"\n' "$SANDBOX/ran" >"$SANDBOX/lifecycle/steps/45-unclassed.sh"
  on_init_complete
  [ "$status" -ne 0 ]
  grep -q "45-unclassed.sh has no '# class:' header (essential or optional)" "$LOG"
  [ ! -e "$SANDBOX/ran" ]
  [ -z "$(started_steps)" ]
}

@test "steps added later are discovered by their number" {
  printf '#!/usr/bin/env bash\n# node-types: Compute\n# class: optional\ntouch "%s"\n' "$SANDBOX/ran" >"$SANDBOX/lifecycle/steps/75-added.sh"
  on_init_complete
  [ "$status" -eq 0 ]
  [ -e "$SANDBOX/ran" ]
  [[ "$(started_steps)" == *"70-observability 75-added "* ]]
}
