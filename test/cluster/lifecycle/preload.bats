#!/usr/bin/env bats
# bin/preload: parallel lfs hsm_restore, then verification until every file is loaded.

load test_helper

setup() {
  setup_node
  DATA="$PROVISION_ROOT/fsx/datasets"
  mkdir -p "$DATA/shard a" "$DATA/shard-b"
  local i
  for i in 1 2 3 4 5; do
    touch "$DATA/shard a/part-$i.bin" "$DATA/shard-b/part-$i.bin"
  done
  export PRELOAD_CONF="$SANDBOX/preload.conf"
  echo PRELOAD_PARALLELISM=3 >"$PRELOAD_CONF"
}

preload() {
  run bash "$LIFECYCLE_SRC/bin/preload" "$@"
}

@test "requests a restore for every file, in batches, then confirms all are loaded" {
  preload -b 4 -i 0 "$DATA"
  [ "$status" -eq 0 ]
  [ "$(calls lfs | grep -c '^lfs hsm_restore ')" -eq 3 ]
  [ "$(calls lfs | grep '^lfs hsm_restore ' | tr ' ' '\n' | grep -c 'part-')" -eq 10 ]
  [ "$(calls lfs | grep -c '^lfs hsm_action ')" -eq 10 ]
  [[ "$output" == *"preload: 10 files, 3 parallel lfs calls of up to 4 files"* ]]
  [[ "$output" == *"restore requested: 10/10 files"* ]]
  [[ "$output" == *"loaded: 10/10 files"* ]]
  [[ "$output" == *"preload: all 10 files loaded"* ]]
}

@test "keeps checking files that are still loading until they reach NOOP" {
  STUB_LFS_SLOW='part-2.bin' STUB_LFS_SLOW_CHECKS=2 preload -i 7 "$DATA"
  [ "$status" -eq 0 ]
  [ "$(calls sleep)" = "$(printf 'sleep 7\n%.0s' 1 2)" ]
  [[ "$output" == *"loaded: 8/10 files"*"loaded: 10/10 files"* ]]
}

@test "lists the files that never reach NOOP and exits non-zero after the timeout" {
  STUB_LFS_STUCK='part-4.bin' preload -t 0 "$DATA"
  [ "$status" -eq 1 ]
  [[ "$output" == *"preload: 2 files were not loaded after 0s:"* ]]
  [[ "$output" == *"$DATA/shard a/part-4.bin"* ]]
  [[ "$output" == *"$DATA/shard-b/part-4.bin"* ]]
  [[ "$output" != *"part-3.bin"* ]]
}

@test "does not trust NOOP for a file that is still released" {
  STUB_LFS_RELEASED='part-5.bin' preload -t 0 "$DATA/shard-b"
  [ "$status" -eq 1 ]
  [[ "$output" == *"1 files were not loaded"*"$DATA/shard-b/part-5.bin"* ]]
}

@test "names the files whose restore request fails, retrying the batch file by file" {
  STUB_LFS_RESTORE_FAIL='part-1.bin' preload -b 5 "$DATA/shard a"
  [ "$status" -eq 1 ]
  [ "$(calls lfs | grep -c '^lfs hsm_restore ')" -eq 6 ]
  [[ "$output" == *"lfs hsm_restore failed for 1 files:"*"$DATA/shard a/part-1.bin"* ]]
  [[ "$output" == *"loaded: 4/4 files"* ]]
}

@test "takes the parallelism from -j over the installed default" {
  preload -j 2 -i 0 "$DATA"
  [ "$status" -eq 0 ]
  [[ "$output" == *"2 parallel lfs calls"* ]]
  rm "$PRELOAD_CONF"
  preload "$DATA"
  [[ "$output" == *"8 parallel lfs calls"* ]]
}

@test "rejects bad options and missing paths with usage errors" {
  preload -j 0 "$DATA"
  [ "$status" -eq 2 ]
  [[ "$output" == *"-j must be a positive integer, got '0'"* ]]
  preload -t soon "$DATA"
  [ "$status" -eq 2 ]
  preload "$DATA/nope"
  [ "$status" -eq 2 ]
  [[ "$output" == *"no such file or directory: $DATA/nope"* ]]
  preload
  [ "$status" -eq 2 ]
  [ -z "$(calls lfs)" ]
}

@test "succeeds without calling lfs when there is nothing to load" {
  mkdir "$DATA/empty"
  preload "$DATA/empty"
  [ "$status" -eq 0 ]
  [[ "$output" == *"no files under"* ]]
  [ -z "$(calls lfs)" ]
}
