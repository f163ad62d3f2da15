#!/usr/bin/env bats
# steps/50-preload-tool.sh: installs the preload command with the cluster's parallelism.

load test_helper

setup() {
  setup_node
}

@test "installs preload as an executable and writes the parallelism from the settings" {
  set_setting preload.parallelism 16
  run_step 50-preload-tool
  [ "$status" -eq 0 ]
  cmp -s "$LIFECYCLE_SRC/bin/preload" "$PROVISION_ROOT/usr/local/bin/preload"
  [ "$(stat -c %a "$PROVISION_ROOT/usr/local/bin/preload")" = 755 ]
  grep -qx PRELOAD_PARALLELISM=16 "$PROVISION_ROOT/etc/hyperpod/preload.conf"
}

@test "defaults the parallelism to 8 when settings.preload is absent" {
  set_setting preload DELETE
  run_step 50-preload-tool
  [ "$status" -eq 0 ]
  grep -qx PRELOAD_PARALLELISM=8 "$PROVISION_ROOT/etc/hyperpod/preload.conf"
}

@test "rejects a parallelism that is not a positive integer" {
  set_setting preload.parallelism 0
  run_step 50-preload-tool
  [ "$status" -eq 1 ]
  [[ "$output" == *"preload.parallelism must be an integer from 1 to 512, got '0'"* ]]
  set_setting preload.parallelism '"eight"'
  run_step 50-preload-tool
  [ "$status" -eq 1 ]
  [ ! -e "$PROVISION_ROOT/usr/local/bin/preload" ]
}

@test "running twice changes nothing" {
  run_step 50-preload-tool
  local before
  before=$(snapshot "$PROVISION_ROOT")
  run_step 50-preload-tool
  [ "$status" -eq 0 ]
  [ "$(snapshot "$PROVISION_ROOT")" = "$before" ]
  [[ "$output" == *"preload is up to date"* ]]
}
