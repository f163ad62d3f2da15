#!/usr/bin/env bats
# steps/30-containers.sh: Docker on the EBS volume, enroot on local scratch re-created at boot, enroot and pyxis
# verified, nothing downloaded.

load test_helper

setup() {
  setup_node
  NVME="$PROVISION_ROOT/opt/dlami/nvme"
  EBS="$PROVISION_ROOT/opt/sagemaker"
}

daemon_json() {
  python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' \
    "$PROVISION_ROOT/etc/docker/daemon.json"
}

@test "puts docker's data-root on the EBS volume (survives reboots), keeps the DLAMI's runtime settings, restarts docker once" {
  run_step 30-containers
  [ "$status" -eq 0 ]
  [ "$(daemon_json)" = '{"data-root": "'"$EBS"'/docker/data-root", "default-runtime": "nvidia", "runtimes": {"nvidia": {"args": [], "path": "nvidia-container-runtime"}}}' ]
  [ "$(calls systemctl | grep -c 'restart docker.service')" -eq 1 ]
  [ -d "$EBS/docker/data-root" ]
  [ ! -e "$NVME/docker" ]
  [[ "$output" == *"docker data-root is $EBS/docker/data-root"* ]]
}

@test "verifies enroot, and re-creates its NVMe directories at every boot through an enabled systemd unit" {
  run_step 30-containers
  [ "$status" -eq 0 ]
  [ "$(calls enroot)" = "enroot version" ]
  local unit="$PROVISION_ROOT/etc/systemd/system/hyperpod-enroot-dirs.service"
  grep -qx 'After=local-fs.target dlami-nvme.service' "$unit"
  grep -qx 'Before=slurmd.service' "$unit"
  grep -qx "ExecStart=/usr/bin/install -d -m 1777 $NVME/enroot/runtime $NVME/enroot/data $NVME/enroot/cache $NVME/enroot/tmp" "$unit"
  grep -qx 'WantedBy=multi-user.target' "$unit"
  calls systemctl | grep -qx 'systemctl enable hyperpod-enroot-dirs.service'
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

@test "uses /opt/sagemaker for enroot too when there is no local NVMe" {
  echo "$EBS" >"$STUB_STATE/mountpoints"
  run_step 30-containers
  [ "$status" -eq 0 ]
  [[ "$(daemon_json)" == *"\"data-root\": \"$EBS/docker/data-root\""* ]]
  grep -qxF "ENROOT_DATA_PATH $EBS/enroot/data/user-\$(id -u)" "$PROVISION_ROOT/etc/enroot/enroot.conf"
}

@test "leaves docker and enroot alone, with a warning, when no local volume is mounted" {
  : >"$STUB_STATE/mountpoints"
  run_step 30-containers
  [ "$status" -eq 0 ]
  [[ "$output" == *"[WARN]"*"Docker keeps its data-root on the root volume"* ]]
  [[ "$output" == *"[WARN]"*"enroot keeps its default paths"* ]]
  cmp -s "$FIXTURES/daemon.json" "$PROVISION_ROOT/etc/docker/daemon.json"
  cmp -s "$FIXTURES/enroot.conf" "$PROVISION_ROOT/etc/enroot/enroot.conf"
}

@test "fails when docker does not report the new data-root" {
  STUB_DOCKER_ROOT=/var/lib/docker run_step 30-containers
  [ "$status" -eq 1 ]
  [[ "$output" == *"docker reports root dir '/var/lib/docker', expected $EBS/docker/data-root"* ]]
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

@test "fails when pyxis is installed but not registered in plugstack.conf" {
  : >"$PROVISION_ROOT/opt/slurm/etc/plugstack.conf"
  run_step 30-containers
  [ "$status" -eq 1 ]
  [[ "$output" == *"[ERROR]"*"not registered in $PROVISION_ROOT/opt/slurm/etc/plugstack.conf; srun --container-image would fail"* ]]
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
