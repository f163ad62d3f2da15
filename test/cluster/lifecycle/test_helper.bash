#!/usr/bin/env bash
# Shared setup for the lifecycle bats tests: a sandboxed node (PROVISION_ROOT) with the system
# commands replaced by the recording stubs in stubs/.

LIFECYCLE_SRC=$(cd "$BATS_TEST_DIRNAME/../../../lib/cluster/lifecycle" && pwd)
FIXTURES="$BATS_TEST_DIRNAME/fixtures"

# setup_node: a Compute node (10.1.38.128) with HyperPod's slurm.conf, FSx mounted, local NVMe, the EBS
# volume at /opt/sagemaker, Docker, enroot and pyxis.
setup_node() {
  SANDBOX="$BATS_TEST_TMPDIR/sandbox"
  export PROVISION_ROOT="$SANDBOX/root"
  export STUB_STATE="$SANDBOX/stub-state"
  export STUB_CALLS="$SANDBOX/calls.log"
  export SETTINGS_FILE="$SANDBOX/cluster-settings.json"
  PATH="$BATS_TEST_DIRNAME/stubs:$PATH"
  unset SAGEMAKER_RESOURCE_CONFIG_PATH ETC_DIR BIN_DIR SLURM_ROOT PROVISION_LOG_DIR DLAMI_NVME_PATH \
    SAGEMAKER_EBS_PATH SLURM_SCRIPT_CONTEXT
  mkdir -p "$STUB_STATE" "$PROVISION_ROOT/opt/ml/config" "$PROVISION_ROOT/fsx" \
    "$PROVISION_ROOT/opt/dlami/nvme" "$PROVISION_ROOT/etc/docker" "$PROVISION_ROOT/etc/enroot" \
    "$PROVISION_ROOT/opt/slurm/lib/slurm" "$PROVISION_ROOT/opt/slurm/etc"
  : >"$STUB_CALLS"
  cp "$FIXTURES/cluster-settings.json" "$SETTINGS_FILE"
  cp "$FIXTURES/resource_config.json" "$PROVISION_ROOT/opt/ml/config/resource_config.json"
  cp "$FIXTURES/daemon.json" "$PROVISION_ROOT/etc/docker/daemon.json"
  cp "$FIXTURES/enroot.conf" "$PROVISION_ROOT/etc/enroot/enroot.conf"
  cp "$FIXTURES/slurm.conf" "$PROVISION_ROOT/opt/slurm/etc/slurm.conf"
  touch "$PROVISION_ROOT/opt/slurm/lib/slurm/spank_pyxis.so"
  echo "required /opt/slurm/lib/slurm/spank_pyxis.so" >"$PROVISION_ROOT/opt/slurm/etc/plugstack.conf"
  printf '%s\n' "$PROVISION_ROOT/opt/dlami/nvme" "$PROVISION_ROOT/opt/sagemaker" >"$STUB_STATE/mountpoints"
}

# set_setting KEY.PATH JSON: change one value in the sandbox's settings; JSON "DELETE" removes the key.
set_setting() {
  python3 - "$SETTINGS_FILE" "$1" "$2" <<'PY'
import json, sys
path, key, raw = sys.argv[1:]
settings = json.load(open(path))
*parents, last = key.split(".")
node = settings
for part in parents:
    node = node.setdefault(part, {})
if raw == "DELETE":
    node.pop(last, None)
else:
    node[last] = json.loads(raw)
json.dump(settings, open(path, "w"), indent=2)
PY
}

# run_step NAME: run one step the way on_init_complete.sh does.
run_step() {
  run bash "$LIFECYCLE_SRC/steps/$1.sh"
}

# calls CMD: the recorded calls of one stubbed command, one per line.
calls() {
  grep "^$1 " "$STUB_CALLS" || true
}

# snapshot DIR: every file under DIR with its mode and checksum, to compare two runs.
snapshot() {
  (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r stat -c '%a %n' &&
    find . -type f -print0 | sort -z | xargs -0 -r md5sum)
}
