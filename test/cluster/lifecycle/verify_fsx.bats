#!/usr/bin/env bats
# steps/20-verify-fsx.sh: waits for HyperPod's FSx mount, never mounts it itself.

load test_helper

setup() {
  setup_node
}

@test "accepts the Lustre mount of the configured file system at mountPath" {
  run_step 20-verify-fsx
  [ "$status" -eq 0 ]
  [ "$(calls findmnt)" = "findmnt -n -t lustre -o SOURCE --mountpoint $PROVISION_ROOT/fsx" ]
  [[ "$output" == *"FSx for Lustre 10.1.2.3@tcp:/abcdefgh (fs-123.fsx.us-east-1.amazonaws.com) is mounted at /fsx"* ]]
  [ -z "$(calls mount)" ]
}

@test "waits with backoff for a mount that appears late" {
  STUB_FSX_AFTER=3 run_step 20-verify-fsx
  [ "$status" -eq 0 ]
  [ "$(calls sleep)" = "$(printf 'sleep %s\n' 5 10)" ]
}

@test "fails clearly, naming the mount path and DNS name, when FSx never mounts" {
  STUB_FSX_AFTER=never PROVISION_FSX_ATTEMPTS=4 run_step 20-verify-fsx
  [ "$status" -eq 1 ]
  [ "$(calls findmnt | wc -l)" -eq 4 ]
  [[ "$output" == *"[ERROR] [20-verify-fsx] FSx for Lustre fs-123.fsx.us-east-1.amazonaws.com@tcp:/abcdefgh is not mounted at /fsx after 4 attempts"* ]]
  [[ "$output" == *"FsxLustreConfig"* ]]
}

@test "rejects a Lustre mount of another file system, showing what it found" {
  STUB_FSX_SOURCE=10.9.9.9@tcp:/zzzzzzzz PROVISION_FSX_ATTEMPTS=2 run_step 20-verify-fsx
  [ "$status" -eq 1 ]
  [[ "$output" == *"(found 10.9.9.9@tcp:/zzzzzzzz there)"* ]]
}

@test "fails without calling findmnt while the mount directory does not exist" {
  rmdir "$PROVISION_ROOT/fsx"
  PROVISION_FSX_ATTEMPTS=2 run_step 20-verify-fsx
  [ "$status" -eq 1 ]
  [ -z "$(calls findmnt)" ]
}

@test "does nothing when the cluster has no FSx file system" {
  set_setting fsx null
  run_step 20-verify-fsx
  [ "$status" -eq 0 ]
  [[ "$output" == *"no FSx file system"* ]]
  [ -z "$(calls findmnt)" ]
}
