#!/usr/bin/env bats
# steps/25-fsx-directories.sh: the settings' user directories on /fsx exist, are 1777, and an unprivileged user can write them.

load test_helper

setup() {
  setup_node
}

@test "creates every user directory with mode 1777 and checks it as nobody" {
  run_step 25-fsx-directories
  [ "$status" -eq 0 ]
  [ "$(stat -c %a "$PROVISION_ROOT/fsx/users")" = 1777 ]
  [ "$(stat -c %a "$PROVISION_ROOT/fsx/checkpoints")" = 1777 ]
  [ "$(calls runuser | grep -c '^runuser -u nobody -- touch')" -eq 2 ]
  [[ "$output" == *"/fsx/checkpoints is writable by every user (1777)"* ]]
  [ -z "$(find "$PROVISION_ROOT/fsx" -name '.hyperpod-write-test.*')" ]
}

@test "an existing directory keeps its files and gets the mode" {
  mkdir -p "$PROVISION_ROOT/fsx/checkpoints/run-1"
  chmod 0755 "$PROVISION_ROOT/fsx/checkpoints"
  run_step 25-fsx-directories
  [ "$status" -eq 0 ]
  [ -d "$PROVISION_ROOT/fsx/checkpoints/run-1" ]
  [ "$(stat -c %a "$PROVISION_ROOT/fsx/checkpoints")" = 1777 ]
}

@test "fails, naming the directory, when an unprivileged user still cannot write" {
  STUB_RUNUSER_DENY=nobody run_step 25-fsx-directories
  [ "$status" -eq 1 ]
  [[ "$output" == *"[ERROR]"*"/fsx/users is not writable by an unprivileged user"* ]]
}

@test "refuses a path that leaves the mount" {
  set_setting fsx.userDirectories '["../etc"]'
  run_step 25-fsx-directories
  [ "$status" -eq 1 ]
  [[ "$output" == *"fsx.userDirectories entries must be relative paths such as 'checkpoints', got '../etc'"* ]]
  [ ! -e "$PROVISION_ROOT/etc/.hyperpod-write-test" ]
}

@test "does nothing without a file system" {
  set_setting fsx null
  run_step 25-fsx-directories
  [ "$status" -eq 0 ]
  [ -z "$(calls runuser)" ]
}
