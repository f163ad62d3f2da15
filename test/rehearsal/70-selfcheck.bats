#!/usr/bin/env bats
# The cluster self-check (installed in /fsx/jobs by 90-job-templates) against the rehearsal cluster, once: PASS for
# what is real here (slurmctld, the partition layout, every slurmd, a writable shared directory, the lifecycle
# results, a publish through the AWS CLI), FAIL or SKIP with the reason for what this machine cannot have: no Lustre
# (fsx, export), no pyxis (containers), no GPU and no EFA (dcgm, nccl), no collector (remote-write).
# Run as on the controller, with two rehearsal paths: the settings' fsx.mountPath is where the rehearsal's shared
# file system is (node/fsx, the same directory on every node), and the lifecycle result read on each node is the
# controller's (all nodes share one disk here). PATH has the real findmnt, lfs-less, and the AWS CLI stub only.

setup_file() {
  load harness
  local dir=$REHEARSAL_ROOT/selfcheck
  mkdir -p "$dir/path"
  ln -sf "$STUBS_DIR/aws" "$dir/path/aws"
  python3 - "$NODE_ROOT/fsx/jobs/cluster-settings.json" "$dir/settings.json" "$NODE_ROOT/fsx" <<'PY'
import json, sys
settings = json.load(open(sys.argv[1]))
settings["fsx"]["mountPath"] = sys.argv[3]
json.dump(settings, open(sys.argv[2], "w"))
PY
  # --step-timeout 45, not a whole minute: the NCCL job's run time is rounded up to whole minutes before --time and
  # --deadline are set (Slurm rounds a 3:45 limit up to 4 minutes, and the deadline cancelled the job at once).
  set +e
  env PATH="$dir/path:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    SELFCHECK_LIFECYCLE_PROM="$NODE_ROOT/var/lib/node_exporter/textfile/hyperpod_lifecycle.prom" \
    "$NODE_ROOT/fsx/jobs/cluster-selfcheck" --settings "$dir/settings.json" --step-timeout 45 --export-timeout 3 \
    >"$dir/report.txt" 2>&1
  echo "$?" >"$dir/status"
}

setup() {
  load harness
  REPORT=$REHEARSAL_ROOT/selfcheck/report.txt
}

# row CHECK: the report's line(s) for CHECK, "RESULT  detail".
row() { awk -v c="$1" '$1 == c { $1 = ""; sub(/^ +/, ""); print }' "$REPORT"; }

@test "the self-check ran to its end and fails, as a cluster without GPUs, EFA and Lustre must" {
  cat "$REPORT"
  [ "$(<"$REHEARSAL_ROOT/selfcheck/status")" -eq 1 ]
  grep -q '^cluster-selfcheck: [0-9]* check(s) FAILED$' "$REPORT"
}

@test "PASS for the real Slurm: slurmctld answers, the partition has the stack's node count, every slurmd responds" {
  [ "$(row slurmctld)" = "PASS Slurmctld(primary) at $CONTROLLER_NAME is UP" ]
  [ "$(row partition)" = "PASS gpu: 3 nodes, as the stack asked" ]
  [ "$(row slurmd)" = "PASS every node responds (3 nodes)" ]
}

@test "PASS for the shared directory every node writes and for the lifecycle results the lifecycle run wrote" {
  [ "$(row fsx-write)" = "PASS root writes $NODE_ROOT/fsx/users on 4 nodes" ]
  grep -q '^hyperpod_lifecycle_step_failed{step="45-topology"} 0$' "$NODE_ROOT/var/lib/node_exporter/textfile/hyperpod_lifecycle.prom"
  [ "$(row lifecycle)" = "PASS no failed lifecycle step on 4 nodes" ]
}

@test "FAIL for no Lustre: the directory is not a Lustre mount, no data repository, no HSM export" {
  [[ "$(row fsx)" == "FAIL $NODE_ROOT/fsx not mounted on: "*"$CONTROLLER_NAME"* ]]
  # Both repositories export (the reference stack exports tokenized data and checkpoints): one export row each.
  [ "$(row export | wc -l)" -eq 2 ]
  [[ "$(row export | grep /datasets/)" == "FAIL $NODE_ROOT/fsx/datasets/.selfcheck-"*" not archived to s3://rehearsal-datasets/datasets/ after 3s: no hsm_state" ]]
  [[ "$(row export | grep /checkpoints/)" == "FAIL $NODE_ROOT/fsx/checkpoints/.selfcheck-"*" not archived to s3://rehearsal-checkpoints/checkpoints/ after 3s: no hsm_state" ]]
}

@test "FAIL for no pyxis: plain Slurm's srun has no --container-image" {
  [[ "$(row containers)" == "FAIL gpu: srun --container-image=dockerd://"*"node_exporter:rehearsal failed (enroot/pyxis, or the image)"* ]]
}

@test "FAIL for no GPU and no EFA: no dcgmi for DCGM diagnostics, no GPU for NCCL's all_reduce_perf" {
  row dcgm
  row nccl
  [[ "$(row dcgm)" == "FAIL gpu: 0 of 3 nodes passed: dcgm-diag: dcgmi not found on ip-10-1-"*": it comes with NVIDIA DCGM"* ]]
  [[ "$(row nccl)" == "FAIL gpu: the NCCL check ended without a verdict: nccl-allreduce-check: no GPUs on ip-10-1-"*" (nvidia-smi -L lists none)"* ]]
}

@test "FAIL for the exporters and the collector: none on the nodes' ports, no collector (it would write to AWS)" {
  # The rehearsal's node_exporters share one loopback on ports 9110 and up; the nodes' own port 9100 is free.
  [[ "$(row exporters)" == "FAIL not answering: "*":9100 "* ]]
  [[ "$(row remote-write)" == "FAIL "*"(collector down)"* ]]
}

@test "SKIP what the stack did not configure; the alert publish reaches the AWS CLI stub, and nothing else" {
  [ "$(row tracking)" = "SKIP experimentTracking is not configured" ]
  [[ "$(row alerts)" == "PASS test message rehearsal-message-"*" published to arn:aws:sns:us-east-1:111122223333:rehearsal-alerts: check that it arrived" ]]
  grep -lz 'cluster-selfcheck: test message' "$CALLS_DIR"/aws.* >/dev/null
}
