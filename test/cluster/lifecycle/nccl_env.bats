#!/usr/bin/env bats
# steps/40-nccl-env.sh: settings.nccl written once, for shells, job scripts and containers.

load test_helper

setup() {
  setup_node
  ENV_FILE="$PROVISION_ROOT/etc/hyperpod/nccl-env.sh"
}

@test "writes settings.nccl as a sourceable file with exactly the construct's values" {
  run_step 40-nccl-env
  [ "$status" -eq 0 ]
  run env -i bash -c '. "$1"; env | grep -E "^(FI|NCCL)_" | sort' _ "$ENV_FILE"
  [ "$output" = "$(printf '%s\n' FI_EFA_USE_DEVICE_RDMA=1 FI_PROVIDER=efa NCCL_DEBUG=WARN 'NCCL_SOCKET_IFNAME=^docker,lo,veth')" ]
  [ "$(stat -c %a "$ENV_FILE")" = 644 ]
}

@test "login shells source it through profile.d, with POSIX sh" {
  run_step 40-nccl-env
  run env -i sh -c '. "$1"; echo "$NCCL_SOCKET_IFNAME"' _ "$PROVISION_ROOT/etc/profile.d/hyperpod-nccl.sh"
  [ "$status" -eq 0 ]
  [ "$output" = '^docker,lo,veth' ]
}

@test "gives enroot containers the same variables" {
  run_step 40-nccl-env
  [ "$(cat "$PROVISION_ROOT/etc/enroot/environ.d/50-hyperpod-nccl.env")" = "$(printf '%s\n' FI_PROVIDER=efa FI_EFA_USE_DEVICE_RDMA=1 'NCCL_SOCKET_IFNAME=^docker,lo,veth' NCCL_DEBUG=WARN)" ]
}

@test "quotes values that the shell would otherwise interpret" {
  set_setting nccl '{"NCCL_TOPO_FILE": "/opt/topo dir/$HOME;x.xml", "NCCL_NSOCKS_PERTHREAD": 8}'
  run_step 40-nccl-env
  [ "$status" -eq 0 ]
  run env -i bash -c '. "$1"; printf "%s|%s" "$NCCL_TOPO_FILE" "$NCCL_NSOCKS_PERTHREAD"' _ "$ENV_FILE"
  [ "$output" = '/opt/topo dir/$HOME;x.xml|8' ]
}

@test "rejects a key that is not an environment variable name" {
  set_setting nccl '{"NCCL DEBUG": "INFO"}'
  run_step 40-nccl-env
  [ "$status" -ne 0 ]
  [[ "$output" == *"nccl key 'NCCL DEBUG' is not an environment variable name"* ]]
  [ ! -e "$ENV_FILE" ]
}

@test "rejects values that are objects" {
  set_setting nccl '{"NCCL_DEBUG": {"level": "INFO"}}'
  run_step 40-nccl-env
  [ "$status" -ne 0 ]
  [[ "$output" == *"nccl.NCCL_DEBUG must be a string or a number"* ]]
}

@test "running twice changes nothing; a settings change rewrites the file" {
  run_step 40-nccl-env
  local before
  before=$(snapshot "$PROVISION_ROOT/etc")
  run_step 40-nccl-env
  [ "$status" -eq 0 ]
  [ "$(snapshot "$PROVISION_ROOT/etc")" = "$before" ]
  set_setting nccl.NCCL_DEBUG '"INFO"'
  run_step 40-nccl-env
  grep -qx "export NCCL_DEBUG=INFO" "$ENV_FILE"
}

@test "skips the container file when enroot is not installed" {
  rm -r "$PROVISION_ROOT/etc/enroot"
  run_step 40-nccl-env
  [ "$status" -eq 0 ]
  [ ! -e "$PROVISION_ROOT/etc/enroot" ]
  [[ "$output" == *"enroot is not installed"* ]]
}
