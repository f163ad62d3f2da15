#!/usr/bin/env bats
# steps/30-containers.sh: Docker and enroot on local scratch, pyxis present, nothing downloaded.

load test_helper

setup() {
  setup_node
  NVME="$PROVISION_ROOT/opt/dlami/nvme"
}

daemon_json() {
  python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' \
    "$PROVISION_ROOT/etc/docker/daemon.json"
}

@test "puts docker's data-root on local NVMe, keeps the DLAMI's runtime settings and restarts docker once" {
  run_step 30-containers
  [ "$status" -eq 0 ]
  [ "$(daemon_json)" = '{"data-root": "'"$NVME"'/docker/data-root", "default-runtime": "nvidia", "runtimes": {"nvidia": {"args": [], "path": "nvidia-container-runtime"}}}' ]
  [ "$(calls systemctl | grep -c 'restart docker.service')" -eq 1 ]
  [ -d "$NVME/docker/data-root" ]
  [[ "$output" == *"docker data-root is $NVME/docker/data-root"* ]]
}

@test "points enroot's per-user paths at local NVMe, replacing defaults and keeping other settings" {
  run_step 30-containers
  [ "$status" -eq 0 ]
  local conf="$PROVISION_ROOT/etc/enroot/enroot.conf"
  grep -qxF "ENROOT_RUNTIME_PATH $NVME/enroot/runtime/user-\$(id -u)" "$conf"
  grep -qxF "ENROOT_DATA_PATH $NVME/enroot/data/user-\$(id -u)" "$conf"
  grep -qxF "ENROOT_CACHE_PATH $NVME/enroot/cache/user-\$(id -u)" "$conf"
  grep -qxF "ENROOT_TEMP_PATH $NVME/enroot/tmp" "$conf"
  [ "$(grep -c '^ENROOT_DATA_PATH' "$conf")" -eq 1 ]
  grep -qx 'ENROOT_ROOTFS_WRITABLE      yes' "$conf"
  grep -qx '#ENROOT_CONFIG_PATH         ${XDG_CONFIG_HOME}/enroot' "$conf"
  [ "$(stat -c %a "$NVME/enroot/runtime")" = 1777 ]
  [ "$(stat -c %a "$NVME/enroot/tmp")" = 1777 ]
}

@test "running twice changes nothing and does not restart docker again" {
  run_step 30-containers
  [ "$status" -eq 0 ]
  local before
  before=$(snapshot "$PROVISION_ROOT")
  : >"$STUB_CALLS"
  run_step 30-containers
  [ "$status" -eq 0 ]
  [ "$(snapshot "$PROVISION_ROOT")" = "$before" ]
  [ -z "$(calls systemctl | grep restart)" ]
}

@test "waits for dlami-nvme.service before choosing the volume" {
  STUB_LOADED_UNITS=dlami-nvme.service STUB_ACTIVE_AFTER=3 run_step 30-containers
  [ "$status" -eq 0 ]
  [ "$(calls systemctl | grep -c 'is-active --quiet dlami-nvme.service')" -eq 3 ]
}

@test "uses /opt/sagemaker when there is no local NVMe" {
  echo "$PROVISION_ROOT/opt/sagemaker" >"$STUB_STATE/mountpoints"
  run_step 30-containers
  [ "$status" -eq 0 ]
  [[ "$(daemon_json)" == *"\"data-root\": \"$PROVISION_ROOT/opt/sagemaker/docker/data-root\""* ]]
}

@test "leaves docker and enroot alone, with a warning, when no local volume is mounted" {
  : >"$STUB_STATE/mountpoints"
  run_step 30-containers
  [ "$status" -eq 0 ]
  [[ "$output" == *"[WARN]"*"keep their default paths on the root volume"* ]]
  cmp -s "$FIXTURES/daemon.json" "$PROVISION_ROOT/etc/docker/daemon.json"
  cmp -s "$FIXTURES/enroot.conf" "$PROVISION_ROOT/etc/enroot/enroot.conf"
}

@test "fails when docker does not report the new data-root" {
  STUB_DOCKER_ROOT=/var/lib/docker run_step 30-containers
  [ "$status" -eq 1 ]
  [[ "$output" == *"docker reports root dir '/var/lib/docker', expected $NVME/docker/data-root"* ]]
}

@test "refuses to overwrite a daemon.json it cannot parse" {
  echo '{ not json' >"$PROVISION_ROOT/etc/docker/daemon.json"
  run_step 30-containers
  [ "$status" -ne 0 ]
  [[ "$output" == *"daemon.json is not valid JSON"*"not overwriting it"* ]]
  [ "$(cat "$PROVISION_ROOT/etc/docker/daemon.json")" = '{ not json' ]
}

@test "fails when the AMI lacks pyxis, instead of building it" {
  rm "$PROVISION_ROOT/opt/slurm/lib/slurm/spank_pyxis.so"
  run_step 30-containers
  [ "$status" -eq 1 ]
  [[ "$output" == *"pyxis (spank_pyxis.so) is not installed"*"do not build it at boot"* ]]
}

@test "warns when pyxis is installed but not registered in plugstack.conf" {
  : >"$PROVISION_ROOT/opt/slurm/etc/plugstack.conf"
  run_step 30-containers
  [ "$status" -eq 0 ]
  [[ "$output" == *"[WARN]"*"not registered in $PROVISION_ROOT/opt/slurm/etc/plugstack.conf"* ]]
}

@test "fails when the AMI lacks docker" {
  # Keep every tool but docker: the other stubs, and PATH entries that have no docker of their own.
  local tool dir path="$SANDBOX/nodocker"
  mkdir -p "$SANDBOX/nodocker"
  for tool in "$BATS_TEST_DIRNAME"/stubs/*; do
    [ "$(basename "$tool")" = docker ] || ln -s "$tool" "$SANDBOX/nodocker/"
  done
  IFS=: read -ra dirs <<<"$PATH"
  for dir in "${dirs[@]}"; do
    [ -x "$dir/docker" ] || path="$path:$dir"
  done
  PATH="$path" run_step 30-containers
  [ "$status" -eq 1 ]
  [[ "$output" == *"docker is not installed; features.containers needs an AMI that ships Docker"* ]]
}

@test "does nothing when features.containers is off" {
  set_setting features.containers false
  run_step 30-containers
  [ "$status" -eq 0 ]
  [[ "$output" == *"features.containers is off"* ]]
  [ ! -s "$STUB_CALLS" ]
  cmp -s "$FIXTURES/daemon.json" "$PROVISION_ROOT/etc/docker/daemon.json"
}
