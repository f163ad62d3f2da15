#!/usr/bin/env bats
# jobs/import-training-image.sbatch: the stack's ECR image imported once with enroot into a squashfs on the shared
# file system (aws and enroot stubbed), atomically, never leaving or using a partial file.

load test_helper
load jobs_helper

REGISTRY=123456789012.dkr.ecr.us-east-1.amazonaws.com
ENROOT_REF="$REGISTRY#trainingplatform-trainingimagerepo-abc123:0f3c2a"

setup() {
  setup_jobs
  ln -s "$BATS_TEST_DIRNAME/stubs/aws" "$SANDBOX/bin/aws"
  ln -s "$BATS_TEST_DIRNAME/stubs/enroot-import" "$SANDBOX/bin/enroot"
  IMAGES="$SANDBOX/fsx/images"
  OUT="$IMAGES/training.sqsh"
  mkdir -p "$IMAGES"
  export SLURM_JOB_ID=77 TMPDIR="$SANDBOX/tmp"
  mkdir -p "$TMPDIR"
}

import() {
  run bash "$JOBS/import-training-image.sbatch" "$@"
}

@test "imports the image into the squashfs with an ECR token from the instance role, and records which image it holds" {
  import "$ENROOT_REF" "$OUT"
  [ "$status" -eq 0 ]
  [ "$(head -c 4 "$OUT")" = hsqs ]
  [ "$(cat "$OUT.image")" = "$ENROOT_REF" ]
  [ "$(calls aws)" = "aws ecr get-login-password --region us-east-1" ]
  [ "$(calls enroot)" = "enroot import --output $OUT.partial.77 docker://$ENROOT_REF" ]
  # The token went to a credentials file of the job's own (mode 600), removed with its directory afterwards.
  [ "$(cat "$STUB_STATE/enroot-credentials")" = "600
machine $REGISTRY login AWS password stub-ecr-token" ]
  [ ! -e "$(cat "$STUB_STATE/enroot-config-path")" ]
  [ -z "$(find "$IMAGES" -name '*.partial.*')" ]
  [[ "$output" == *"imported $ENROOT_REF to $OUT"* ]]
}

@test "takes the TrainingImageUri form (registry/repository:tag, docker:// before it) and the default output" {
  export TRAINING_IMAGE_SQSH="$OUT"
  import "docker://$REGISTRY/trainingplatform-trainingimagerepo-abc123:0f3c2a"
  [ "$status" -eq 0 ]
  [ "$(calls enroot)" = "enroot import --output $OUT.partial.77 docker://$ENROOT_REF" ]
  [ "$(cat "$OUT.image")" = "$ENROOT_REF" ]
}

@test "once: the same image again imports nothing and asks for no token" {
  import "$ENROOT_REF" "$OUT"
  : >"$STUB_CALLS"
  import "$ENROOT_REF" "$OUT"
  [ "$status" -eq 0 ]
  [[ "$output" == *"$OUT already holds $ENROOT_REF: nothing to do"* ]]
  [ -z "$(calls aws)" ]
  [ -z "$(calls enroot)" ]
}

@test "a new tag, or a squashfs nobody recorded, is replaced by one rename" {
  import "$ENROOT_REF" "$OUT"
  STUB_ENROOT_CONTENT=new import "${ENROOT_REF%:*}:1a2b3c" "$OUT"
  [ "$status" -eq 0 ]
  [ "$(cat "$OUT")" = hsqsnew ]
  [ "$(cat "$OUT.image")" = "${ENROOT_REF%:*}:1a2b3c" ]
  rm "$OUT.image"
  : >"$STUB_CALLS"
  import "${ENROOT_REF%:*}:1a2b3c" "$OUT"
  [ "$status" -eq 0 ]
  [[ "$output" == *"$OUT holds another image (or an unrecorded one)"* ]]
  [ -n "$(calls enroot)" ]
}

@test "a failed import (the image not pushed yet) exits 1, keeps the squashfs there was and removes its partial file" {
  import "$ENROOT_REF" "$OUT"
  STUB_ENROOT_IMPORT=fail import "${ENROOT_REF%:*}:1a2b3c" "$OUT"
  [ "$status" -eq 1 ]
  [[ "$output" == *"enroot import of ${ENROOT_REF%:*}:1a2b3c failed; if the image is not pushed yet, wait for the build: aws codebuild batch-get-builds"* ]]
  [ "$(cat "$OUT")" = hsqsimage ]
  [ "$(cat "$OUT.image")" = "$ENROOT_REF" ]
  [ -z "$(find "$IMAGES" -name '*.partial.*')" ]
  [ ! -e "$(cat "$STUB_STATE/enroot-config-path")" ]
}

@test "a file that is no squashfs is refused: exit 1, nothing renamed" {
  STUB_ENROOT_IMPORT=junk import "$ENROOT_REF" "$OUT"
  [ "$status" -eq 1 ]
  [[ "$output" == *"enroot wrote no whole squashfs to $OUT.partial.77: not used"* ]]
  [ ! -e "$OUT" ]
  [ ! -e "$OUT.image" ]
  [ -z "$(find "$IMAGES" -name '*.partial.*')" ]
}

@test "no ECR token (the instance role may not pull): exit 1 before enroot runs" {
  STUB_AWS_FAIL=1 import "$ENROOT_REF" "$OUT"
  [ "$status" -eq 1 ]
  [[ "$output" == *"no ECR login token for $REGISTRY (aws ecr get-login-password --region us-east-1)"* ]]
  [ -z "$(calls enroot)" ]
  [ ! -e "$OUT" ]
}

@test "bad input exits 2 before any call: no image, not an ECR image, an output that is no .sqsh, no directory" {
  import
  [ "$status" -eq 2 ]
  [[ "$output" == *"usage: sbatch import-training-image.sbatch IMAGE [OUTPUT]"* ]]
  import "nvcr.io#nvidia/pytorch:25.09-py3" "$OUT"
  [ "$status" -eq 2 ]
  [[ "$output" == *"IMAGE must be the stack's ECR image"*"got 'nvcr.io#nvidia/pytorch:25.09-py3'"* ]]
  import "$ENROOT_REF" "$IMAGES/training.img"
  [ "$status" -eq 2 ]
  [[ "$output" == *"OUTPUT must be an absolute path ending in .sqsh, got '$IMAGES/training.img'"* ]]
  import "$ENROOT_REF" "$SANDBOX/fsx/none/training.sqsh"
  [ "$status" -eq 2 ]
  [[ "$output" == *"$SANDBOX/fsx/none is not a directory this user may write: create it once with: sudo mkdir -p $SANDBOX/fsx/none && sudo chown"* ]]
  [ -z "$(calls aws)$(calls enroot)" ]
}
