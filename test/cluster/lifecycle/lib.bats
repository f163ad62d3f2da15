#!/usr/bin/env bats
# lib.sh: settings reading, node identification, retry/backoff, idempotent installs, log format.

load test_helper

setup() {
  setup_node
}

lib() {
  run bash -c 'source "$1"; shift; "$@"' _ "$LIFECYCLE_SRC/lib.sh" "$@"
}

@test "settings_get reads nested values, booleans and objects, and ignores unknown keys" {
  lib settings_get fsx.mountName
  [ "$status" -eq 0 ]
  [ "$output" = abcdefgh ]
  lib settings_get features.containers
  [ "$output" = true ]
  lib settings_get preload
  [ "$output" = '{"parallelism": 8}' ]
}

@test "settings_get returns the default for absent or null keys and fails without one" {
  set_setting experimentTracking null
  lib settings_get experimentTracking.secretArn none
  [ "$status" -eq 0 ]
  [ "$output" = none ]
  lib settings_get fsx.missingKey
  [ "$status" -ne 0 ]
  [[ "$output" == *"required key 'fsx.missingKey' is missing"* ]]
}

@test "require_settings rejects a missing file, invalid JSON and another schema version" {
  SETTINGS_FILE="$SANDBOX/absent.json" lib require_settings
  [ "$status" -eq 1 ]
  [[ "$output" == *"settings file not found: $SANDBOX/absent.json"* ]]
  echo '{"schemaVersion": 1,' >"$SETTINGS_FILE"
  lib require_settings
  [ "$status" -eq 1 ]
  [[ "$output" == *"invalid JSON"* ]]
  cp "$FIXTURES/cluster-settings.json" "$SETTINGS_FILE"
  set_setting schemaVersion 2
  lib require_settings
  [ "$status" -eq 1 ]
  [[ "$output" == *"schemaVersion must be 1, got 2"* ]]
}

@test "node_group matches this host's addresses against resource_config.json" {
  lib node_group
  [ "$status" -eq 0 ]
  [ "$output" = Compute ]
  STUB_HOST_IPS="172.17.0.1 10.1.0.20" lib node_group
  [ "$output" = Login ]
}

@test "node_group falls back to the address in an ip-a-b-c-d hostname" {
  STUB_HOST_IPS="" STUB_HOSTNAME=ip-10-1-0-10.ec2.internal lib node_group
  [ "$status" -eq 0 ]
  [ "$output" = Controller ]
}

@test "node_group prefers the interface addresses to the hostname's" {
  STUB_HOST_IPS="10.1.99.9" STUB_HOSTNAME=ip-10-1-38-128 lib node_group
  [ "$output" = Spare ]
}

@test "node_group fails naming the addresses when the host is not in resource_config.json" {
  STUB_HOST_IPS="10.9.9.9" STUB_HOSTNAME=somehost lib node_group
  [ "$status" -eq 1 ]
  [[ "$output" == *"lists no instance with this host's addresses (10.9.9.9)"* ]]
}

@test "node_group honours SAGEMAKER_RESOURCE_CONFIG_PATH and fails clearly when the file is absent" {
  SAGEMAKER_RESOURCE_CONFIG_PATH="$SANDBOX/nowhere.json" lib node_group
  [ "$status" -eq 1 ]
  [[ "$output" == *"HyperPod resource config not found: $SANDBOX/nowhere.json"* ]]
}

@test "node_type maps groups to node types and rejects unknown groups and types" {
  lib node_type Login
  [ "$output" = Login ]
  lib node_type Spare
  [ "$status" -eq 1 ]
  [[ "$output" == *"instance group 'Spare' is not in $SETTINGS_FILE instanceGroups"* ]]
  lib node_type Odd
  [ "$status" -eq 1 ]
  [[ "$output" == *"node type 'Worker'; expected Controller, Login or Compute"* ]]
}

@test "retry doubles its delay up to PROVISION_RETRY_MAX_DELAY and gives up after the attempts" {
  PROVISION_RETRY_MAX_DELAY=10 lib retry 6 2 false
  [ "$status" -eq 1 ]
  [ "$(calls sleep)" = "$(printf 'sleep %s\n' 2 4 8 10 10)" ]
  [[ "$output" == *"'false' failed 6 times; giving up"* ]]
}

@test "retry stops as soon as the command succeeds" {
  STUB_DNS_AFTER=3 lib retry 5 1 getent hosts example.internal
  [ "$status" -eq 0 ]
  [ "$(calls getent | wc -l)" -eq 3 ]
  [ "$(calls sleep)" = "$(printf 'sleep %s\n' 1 2)" ]
}

@test "install_content writes once, then reports the file up to date, and fixes a wrong mode" {
  local dest="$PROVISION_ROOT/etc/example.conf"
  run bash -c 'source "$1"; install_content "$2" 0644 <<<a; echo "changed=$INSTALL_CHANGED"' _ "$LIFECYCLE_SRC/lib.sh" "$dest"
  [[ "$output" == *"wrote $dest (mode 0644)"*"changed=true" ]]
  run bash -c 'source "$1"; install_content "$2" 0644 <<<a; echo "changed=$INSTALL_CHANGED"' _ "$LIFECYCLE_SRC/lib.sh" "$dest"
  [[ "$output" == *"is up to date"*"changed=false" ]]
  chmod 0600 "$dest"
  run bash -c 'source "$1"; install_content "$2" 0644 <<<a; echo "changed=$INSTALL_CHANGED"' _ "$LIFECYCLE_SRC/lib.sh" "$dest"
  [[ "$output" == *"changed=true" ]]
  [ "$(stat -c %a "$dest")" = 644 ]
  [ -z "$(find "$PROVISION_ROOT/etc" -name "example.conf.*")" ]
}

@test "log lines carry a UTC timestamp, the level and the step name" {
  PROVISION_STEP=20-verify-fsx lib log INFO hello world
  [[ "$output" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\ \[INFO\]\ \[20-verify-fsx\]\ hello\ world$ ]]
}
