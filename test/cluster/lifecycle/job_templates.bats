#!/usr/bin/env bats
# steps/90-job-templates.sh: copies jobs/ (static and generated templates) to <fsx.mountPath>/jobs.

load test_helper

setup() {
  setup_node
  # Laid out as HyperPod downloads it from S3: no file modes, plus a launch script the construct generated.
  cp -r "$LIFECYCLE_SRC" "$SANDBOX/lifecycle"
  chmod 0644 "$SANDBOX"/lifecycle/jobs/*
  printf '#!/usr/bin/env bash\necho pretrain\n' >"$SANDBOX/lifecycle/jobs/pretrain-swallow-70b.sbatch"
  DEST="$PROVISION_ROOT/fsx/jobs"
}

run_templates() {
  run bash "$SANDBOX/lifecycle/steps/90-job-templates.sh"
}

@test "copies every template to /fsx/jobs: scripts 0755, other files 0644, the directory 0755" {
  run_templates
  [ "$status" -eq 0 ]
  [ "$(stat -c %a "$DEST")" = 755 ]
  local file
  for file in "$SANDBOX"/lifecycle/jobs/*; do
    cmp -s "$file" "$DEST/${file##*/}"
  done
  [ "$(stat -c %a "$DEST/nccl-allreduce-check.sbatch")" = 755 ]
  [ "$(stat -c %a "$DEST/dcgm-diag.sbatch")" = 755 ]
  [ "$(stat -c %a "$DEST/throughput-probe.sh")" = 755 ]
  [ "$(stat -c %a "$DEST/pretrain-swallow-70b.sbatch")" = 755 ]
  [ "$(stat -c %a "$DEST/README.md")" = 644 ]
  local count
  count=$(find "$SANDBOX/lifecycle/jobs" -maxdepth 1 -type f | wc -l)
  [[ "$output" == *"[90-job-templates] $count job template(s), cluster-selfcheck and its settings in /fsx/jobs"* ]]
}

@test "installs cluster-selfcheck next to the jobs it runs, with the settings it compares against" {
  run_templates
  [ "$status" -eq 0 ]
  [ "$(stat -c %a "$DEST/cluster-selfcheck")" = 755 ]
  cmp -s "$LIFECYCLE_SRC/bin/cluster-selfcheck" "$DEST/cluster-selfcheck"
  [ "$(stat -c %a "$DEST/cluster-settings.json")" = 644 ]
  cmp -s "$SETTINGS_FILE" "$DEST/cluster-settings.json"
}

@test "running twice changes nothing; a changed template is rewritten; users' files stay" {
  run_templates
  echo "my job" >"$DEST/my-job.sbatch"
  local before
  before=$(snapshot "$PROVISION_ROOT/fsx")
  run_templates
  [ "$status" -eq 0 ]
  [ "$(snapshot "$PROVISION_ROOT/fsx")" = "$before" ]
  [[ "$output" == *"$DEST/dcgm-diag.sbatch is up to date"* ]]
  echo "# changed" >>"$SANDBOX/lifecycle/jobs/dcgm-diag.sbatch"
  run_templates
  [[ "$output" == *"wrote $DEST/dcgm-diag.sbatch (mode 0755)"* ]]
  cmp -s "$SANDBOX/lifecycle/jobs/dcgm-diag.sbatch" "$DEST/dcgm-diag.sbatch"
  [ "$(cat "$DEST/my-job.sbatch")" = "my job" ]
}

@test "makes an existing jobs directory readable by everyone" {
  mkdir -m 0700 "$DEST"
  run_templates
  [ "$status" -eq 0 ]
  [ "$(stat -c %a "$DEST")" = 755 ]
}

@test "follows fsx.mountPath" {
  set_setting fsx.mountPath '"/lustre"'
  mkdir -p "$PROVISION_ROOT/lustre"
  run_templates
  [ "$status" -eq 0 ]
  [ -f "$PROVISION_ROOT/lustre/jobs/throughput-probe.sh" ]
  [ ! -e "$DEST" ]
}

@test "skips with a log line when the cluster has no FSx file system" {
  set_setting fsx null
  run_templates
  [ "$status" -eq 0 ]
  [[ "$output" == *"no FSx file system"*"job templates are not installed"* ]]
  [ ! -e "$DEST" ]
}
