#!/usr/bin/env bats
# bin/cluster-selfcheck against a fake two-node cluster (selfcheck-stubs/): each check's PASS, FAIL and SKIP paths,
# and the exit code.

setup() {
  SELFCHECK="$BATS_TEST_DIRNAME/../../../lib/cluster/lifecycle/bin/cluster-selfcheck"
  export STUB_CALLS="$BATS_TEST_TMPDIR/calls.log" STUB_STATE="$BATS_TEST_TMPDIR/state" HOME="$BATS_TEST_TMPDIR/home"
  export SELFCHECK_POLL_SECONDS=0
  mkdir -p "$STUB_STATE" "$HOME"
  PATH="$BATS_TEST_DIRNAME/selfcheck-stubs:$PATH"
  FSX="$BATS_TEST_TMPDIR/fsx"
  export STUB_SHARED_DIR="$FSX"
  mkdir -p "$FSX/users" "$FSX/checkpoints" "$FSX/datasets/tokenized"
  SETTINGS="$BATS_TEST_TMPDIR/cluster-settings.json"
  python3 - "$BATS_TEST_DIRNAME/fixtures/cluster-settings.json" "$SETTINGS" "$FSX" <<'PY'
import json, sys
settings = json.load(open(sys.argv[1]))
settings["fsx"]["mountPath"] = sys.argv[3]
settings["fsx"]["dataRepositories"] = [
    {"fileSystemPath": "/datasets", "s3Uri": "s3://data/datasets/", "exported": False},
    {"fileSystemPath": "/checkpoints", "s3Uri": "s3://ckpt/checkpoints/", "exported": True},
]
settings["slurm"] = {"partitions": {"gpu": 2}}
settings["observability"] = {"remoteWriteUrl": "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
                             "images": {"nodeExporter": "602401143452.dkr.ecr.us-east-1.amazonaws.com/hyperpod/node_exporter:v1.9.1"}}
settings["jobNotifications"] = {"topicArn": "arn:aws:sns:us-east-1:111122223333:alerts"}
json.dump(settings, open(sys.argv[2], "w"))
PY
}

selfcheck() {
  run bash "$SELFCHECK" --settings "$SETTINGS" "$@"
}

# row CHECK: the table row(s) of one check.
row() { grep -E "^$1 " <<<"$output"; }

@test "a healthy cluster passes every check, exit 0" {
  selfcheck
  [ "$status" -eq 0 ]
  [[ "$(row slurmctld)" == "slurmctld     PASS  Slurmctld(primary) at head is UP" ]]
  [[ "$(row partition)" == *"PASS  gpu: 2 nodes, as the stack asked" ]]
  [[ "$(row slurmd)" == *"PASS  every node responds (2 nodes)" ]]
  [[ "$(row containers)" == *"PASS  gpu: srun --container-image=dockerd://602401143452.dkr.ecr.us-east-1.amazonaws.com/hyperpod/node_exporter:v1.9.1 ran" ]]
  [[ "$(row fsx)" == *"PASS  $FSX mounted on 3 nodes" ]]
  [[ "$(row fsx-write)" == *"PASS  $(id -un) writes $FSX/users on 3 nodes" ]]
  [[ "$(row exporters)" == *"PASS  5 exporters answer on 3 nodes" ]]
  [[ "$(row remote-write)" == *"PASS  3000 points sent, under 1% failed, on 3 nodes" ]]
  [[ "$(row lifecycle)" == *"PASS  no failed lifecycle step on 3 nodes" ]]
  [[ "$(row datasets)" == *"PASS  $FSX/datasets visible (1 entries, from s3://data/datasets/)" ]]
  # Archived at the first look; bash's SECONDS may tick over meanwhile on a busy machine.
  [[ "$(row export)" == *"PASS  $FSX/checkpoints exports to s3://ckpt/checkpoints/ (archived after "[01]"s)" ]]
  [[ "$(row dcgm)" == *"PASS  gpu: dcgmi diag -r 1 passed on 2 nodes" ]]
  [[ "$(row nccl)" == *"PASS  gpu (2 nodes): 2 nodes: busbw 310.2 GB/s >= floor 240 GB/s" ]]
  [[ "$(row tracking)" == *"PASS  a gpu node reads the secret (40 characters)" ]]
  [[ "$(row alerts)" == *"PASS  test message 5f1a-msg published to arn:aws:sns:us-east-1:111122223333:alerts"* ]]
  [[ "$output" == *"cluster-selfcheck: no check failed" ]]
  [ -z "$(find "$FSX" -name '*selfcheck*')" ]
  # The secret's value never reaches the terminal: only its length is asked for.
  grep -q "aws secretsmanager get-secret-value --region us-east-1 --secret-id arn:aws:secretsmanager:us-east-1:111122223333:secret:wandb-AbCdEf --query length(SecretString)" "$STUB_CALLS"
}

@test "slurmctld down, a missing node and a drained node fail, exit 1" {
  STUB_SLURMCTLD_DOWN=1 STUB_PARTITION_NODES=1 STUB_STATE_2='drained' selfcheck --quick
  [ "$status" -eq 1 ]
  [[ "$(row slurmctld)" == *"FAIL  scontrol ping does not report slurmctld UP" ]]
  [[ "$(row partition)" == *"FAIL  gpu: 1 nodes, the stack asked for 2 (sinfo -p gpu)" ]]
  [[ "$(row slurmd)" == *"FAIL  not healthy: node-2(drained) (sinfo -R says why)" ]]
  [[ "$output" == *"cluster-selfcheck: 3 check(s) FAILED" ]]
}

@test "a node that does not respond (state with *) fails slurmd" {
  STUB_STATE_1='idle*' selfcheck --quick
  [ "$status" -eq 1 ]
  [[ "$(row slurmd)" == *"FAIL  not healthy: node-1(idle*)"* ]]
}

@test "a container that does not run fails; containers off skips" {
  STUB_CONTAINER_EXIT=1 selfcheck --quick
  [ "$status" -eq 1 ]
  [[ "$(row containers)" == *"FAIL  gpu: srun --container-image=dockerd://"*"failed (enroot/pyxis, or the image)" ]]
  python3 - "$SETTINGS" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); s["features"]["containers"] = False; json.dump(s, open(sys.argv[1], "w"))
PY
  selfcheck --quick
  [[ "$(row containers)" == *"SKIP  features.containers is off" ]]
}

@test "an image given on the command line is the one run" {
  selfcheck --quick --container-image docker://ubuntu:22.04
  [[ "$(row containers)" == *"PASS  gpu: srun --container-image=docker://ubuntu:22.04 ran" ]]
}

@test "FSx missing on a node, or not writable, fails naming the node" {
  STUB_NOFSX=node-2 selfcheck --quick
  [ "$status" -eq 1 ]
  [[ "$(row fsx)" == *"FAIL  $FSX not mounted on: node-2 " ]]
  chmod 0555 "$FSX/users"
  selfcheck --quick
  chmod 0755 "$FSX/users"
  if [ "$(id -u)" -ne 0 ]; then
    [[ "$(row fsx-write)" == *"FAIL  $FSX/users not writable by $(id -un) on: head node-1 node-2 " ]]
  fi
}

@test "an exporter that does not answer, or a collector that fails to write, fails" {
  STUB_DOWN="node-1:9400 head:9100" selfcheck --quick
  [ "$status" -eq 1 ]
  [[ "$(row exporters)" == *"FAIL  not answering: head:9100 node-1:9400 " ]]
  STUB_FAILED=50 selfcheck --quick
  [[ "$(row remote-write)" == *"FAIL  head(sent 1000, failed 50) node-1(sent 1000, failed 50) node-2(sent 1000, failed 50) " ]]
  STUB_DOWN="node-2:8888" selfcheck --quick
  [[ "$(row remote-write)" == *"FAIL  node-2(collector down) " ]]
  STUB_SENT=0 selfcheck --quick
  [[ "$(row remote-write)" == *"FAIL  head(sent 0, failed 0)"* ]]
}

@test "a node with a failed optional lifecycle step fails the lifecycle check" {
  printf 'hyperpod_lifecycle_step_failed{step="70-observability"} 1\nhyperpod_lifecycle_step_failed{step="80-job-notifications"} 0\n' \
    >"$BATS_TEST_TMPDIR/lifecycle.prom"
  SELFCHECK_LIFECYCLE_PROM="$BATS_TEST_TMPDIR/lifecycle.prom" selfcheck --quick
  [ "$status" -eq 1 ]
  [[ "$(row lifecycle)" == *"FAIL  optional steps failed: head: 70-observability node-1: 70-observability node-2: 70-observability (see /var/log/provision on those nodes)" ]]
}

@test "a checkpoint that never reaches S3 fails after the timeout; a missing dataset directory fails" {
  rm -r "$FSX/datasets"
  STUB_ARCHIVED_AFTER=never SELFCHECK_POLL_SECONDS=1 selfcheck --export-timeout 2
  [ "$status" -eq 1 ]
  [[ "$(row export)" == *"FAIL  $FSX/checkpoints/.selfcheck-head-"*" not archived to s3://ckpt/checkpoints/ after 2s: "*"exists, archive_id:1" ]]
  [[ "$(row datasets)" == *"FAIL  $FSX/datasets is not visible (data repository s3://data/datasets/)" ]]
  [ -z "$(find "$FSX" -name '.selfcheck*')" ]
}

@test "--quick skips the DCGM, NCCL and export checks with the reason" {
  selfcheck --quick
  [ "$status" -eq 0 ]
  [[ "$(row dcgm)" == *"SKIP  --quick" ]]
  [[ "$(row nccl)" == *"SKIP  --quick" ]]
  [[ "$(row export)" == *"SKIP  --quick: not waiting for $FSX/checkpoints to reach s3://ckpt/checkpoints/" ]]
  [ -z "$(grep -E '^(sbatch|lfs) ' "$STUB_CALLS")" ]
}

@test "a GPU node failing DCGM diag, or NCCL below its floor or without a verdict, fails" {
  STUB_DCGM_FAIL=node-2 STUB_NCCL=FAIL selfcheck
  [ "$status" -eq 1 ]
  [[ "$(row dcgm)" == *"FAIL  gpu: 1 of 2 nodes passed: FAIL: node-2: dcgmi diag -r 1: Memory failed. " ]]
  [[ "$(row nccl)" == *"FAIL  gpu (2 nodes): 2 nodes: busbw 12.1 GB/s < floor 240 GB/s (log: $FSX/users/selfcheck-nccl-$(id -un)-gpu-"*".out)" ]]
  STUB_NCCL=none selfcheck
  [[ "$(row nccl)" == *"FAIL  gpu: the NCCL check ended without a verdict"* ]]
  grep -q "^sbatch --wait --quiet --job-name=selfcheck-nccl -p gpu -N 2 " "$STUB_CALLS"
}

@test "the NCCL job's log goes to the shared user directory, which the job's nodes and this node both see" {
  selfcheck
  [[ "$(row nccl)" == *"PASS  gpu (2 nodes): "* ]]
  grep -q "^sbatch .* -o $FSX/users/selfcheck-nccl-$(id -un)-gpu-[0-9]*\.out " "$STUB_CALLS"
  # $HOME is not shared with the compute nodes: nothing may depend on it.
  [ -z "$(ls -A "$HOME")" ]
  # Kept when the check fails, for a look.
  STUB_NCCL=FAIL selfcheck
  [ -n "$(find "$FSX/users" -name 'selfcheck-nccl-*.out')" ]
  python3 - "$SETTINGS" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); s["fsx"]["userDirectories"] = []; json.dump(s, open(sys.argv[1], "w"))
PY
  selfcheck
  [[ "$(row nccl)" == *"SKIP  no shared directory for the job's log (fsx.mountPath, fsx.userDirectories)" ]]
}

@test "every Slurm step gives up when its nodes are not free within --step-timeout" {
  selfcheck
  [ "$status" -eq 0 ]
  # The probe, container, DCGM and tracking steps.
  [ "$(grep -c '^srun ' "$STUB_CALLS")" -eq 4 ]
  [ -z "$(grep '^srun ' "$STUB_CALLS" | grep -v '^srun --immediate=120 ')" ]
  # Slurm removes the NCCL job when it cannot start in time, and stops it when it runs too long.
  grep -q '^sbatch .* --time=10 --deadline=now+720 ' "$STUB_CALLS"
  : >"$STUB_CALLS"
  selfcheck --step-timeout 30
  [ "$(grep -c '^srun --immediate=30 ' "$STUB_CALLS")" -eq 4 ]
  # 150 s of run time is 3 minutes to Slurm: the deadline leaves the 30 s to start on top of those.
  grep -q '^sbatch .* --time=3 --deadline=now+210 ' "$STUB_CALLS"
  STUB_BUSY=1 selfcheck
  [ "$status" -eq 1 ]
  [[ "$output" != *"would wait for resources for ever"* ]]
  [[ "$(row containers)" == *"FAIL  gpu: "*"failed (enroot/pyxis, or the image): srun: error: Unable to allocate resources: Requested nodes are busy" ]]
  [[ "$(row dcgm)" == *"FAIL  gpu: 0 of 2 nodes passed: srun: error: Unable to allocate resources: Requested nodes are busy" ]]
  [[ "$(row tracking)" == *"FAIL  a gpu node cannot read "* ]]
  selfcheck --step-timeout 0
  [ "$status" -eq 2 ]
  [[ "$output" == *"--step-timeout takes seconds, got '0'"* ]]
}

@test "a step that hangs on a node is stopped after --step-timeout" {
  local started=$SECONDS
  STUB_HANG=node-2 selfcheck --quick --step-timeout 1
  ((SECONDS - started < 15))
  [ "$status" -eq 1 ]
  [[ "$(row fsx)" == *"FAIL  only 2 of 3 nodes answered the probe (this node + gpu: 2)" ]]
}

@test "a node that never answers fails fsx/exporters/remote-write/lifecycle, naming how many answered" {
  local silent="only 2 of 3 nodes answered the probe (this node + gpu: 2)" check
  STUB_SILENT_NODES=node-2 selfcheck --quick
  [ "$status" -eq 1 ]
  for check in fsx fsx-write exporters remote-write lifecycle; do
    [[ "$(row "$check")" == "$check "*"FAIL  $silent" ]]
  done
  # With what failed on the nodes that did answer.
  STUB_SILENT_NODES=node-2 STUB_NOFSX=node-1 selfcheck --quick
  [[ "$(row fsx)" == *"FAIL  $FSX not mounted on: node-1; $silent" ]]
  # No node of the partition: srun could not start.
  STUB_BUSY=1 selfcheck --quick
  [[ "$(row fsx)" == *"FAIL  only 1 of 3 nodes answered the probe (this node + gpu: 2)" ]]
}

@test "an unreadable secret and an unpublishable topic fail; unconfigured ones skip" {
  STUB_SECRET_LENGTH="" STUB_SNS_FAIL=1 selfcheck --quick
  [ "$status" -eq 1 ]
  [[ "$(row tracking)" == *"FAIL  a gpu node cannot read arn:aws:secretsmanager:us-east-1:111122223333:secret:wandb-AbCdEf" ]]
  [[ "$(row alerts)" == *"FAIL  cannot publish to arn:aws:sns:us-east-1:111122223333:alerts (run this on the controller node, whose role may): An error occurred (AuthorizationError)"* ]]
  python3 - "$SETTINGS" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); s["experimentTracking"] = None; s.pop("jobNotifications"); s.pop("observability")
json.dump(s, open(sys.argv[1], "w"))
PY
  selfcheck --quick
  [ "$status" -eq 0 ]
  [[ "$(row tracking)" == *"SKIP  experimentTracking is not configured" ]]
  [[ "$(row alerts)" == *"SKIP  no alert topic in the settings" ]]
  [[ "$(row exporters)" == *"SKIP  observability is not configured" ]]
  [[ "$(row containers)" == *"SKIP  no image every node holds (no observability): pass --container-image" ]]
}

@test "without settings or Slurm it cannot run: exit 2" {
  run bash "$SELFCHECK" --settings "$BATS_TEST_TMPDIR/none.json"
  [ "$status" -eq 2 ]
  [[ "$output" == *"settings not found: $BATS_TEST_TMPDIR/none.json"* ]]
  run bash "$SELFCHECK" --bogus
  [ "$status" -eq 2 ]
}
