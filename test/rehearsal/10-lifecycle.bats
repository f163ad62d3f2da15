#!/usr/bin/env bats
# The lifecycle entry point on the controller as HyperPod runs it after its own initialisation: root, the settings
# file the construct generates, Slurm already up (inside.sh runs it once the cluster is up: run_lifecycle).
# Assertions read the real slurmctld.

setup() {
  load harness
}

@test "the entry point succeeds on the controller: it finds its group and runs the controller's steps" {
  run cat "$REHEARSAL_ROOT/logs/lifecycle-controller.log"
  [ "$(<"$REHEARSAL_ROOT/logs/lifecycle-controller.status")" -eq 0 ]
  [[ "$output" == *"this node is in instance group 'controller' (node type Controller)"* ]]
  [[ "$output" == *"step 80-job-notifications: done"* ]]
  [[ "$output" == *"done: all steps completed on this Controller node"* ]]
}

@test "the essential Slurm check passed against the real daemons: slurmctld answered scontrol ping" {
  run cat "$REHEARSAL_ROOT/logs/lifecycle-controller.log"
  [[ "$output" == *"[15-verify-slurm] slurmctld is up: Slurmctld(primary) at $CONTROLLER_NAME is UP"* ]]
  [[ "$output" == *"step 15-verify-slurm: done"* ]]
}

# On Slurm 22.05 `scontrol reconfigure` reports a new JobCompType that the running slurmctld has not loaded, so
# 80-job-notifications restarts it through systemd; the systemctl stub restarts the harness's slurmctld.
@test "80-job-notifications restarted the real slurmctld, which runs jobcomp/script with no reconfigure" {
  grep -qx 'restart slurmctld.service' "$CALLS_DIR/systemctl"
  [ "$(<"$REHEARSAL_ROOT/pids/slurmctld")" != "$(<"$REHEARSAL_ROOT/logs/slurmctld.pid.before-lifecycle")" ]
  daemon_running slurmctld
  [ "$(slurm_config JobCompType)" = jobcomp/script ]
  [ "$(slurm_config JobCompLoc)" = "$NODE_ROOT/usr/local/bin/slurm-job-notify" ]
}

@test "slurmctld accepts the slurm.conf the scripts wrote, and the change is live" {
  grep -q '^JobCompType=jobcomp/script$' "$SLURM_CONF"
  scontrol reconfigure
  [ "$(slurm_config JobCompType)" = jobcomp/script ]
  [ "$(slurm_config JobCompLoc)" = "$NODE_ROOT/usr/local/bin/slurm-job-notify" ]
}

aws_calls() { compgen -G "$CALLS_DIR/aws.*" | wc -l; }

# published_call ID: the file of the aws stub call that published job ID's end.
published_call() { grep -lz "Slurm job $1 " "$CALLS_DIR"/aws.* 2>/dev/null; }

# Only the restarted slurmctld runs the job completion script: a job end is published with no further help.
@test "after the lifecycle scripts ran, a failed job's end reaches SNS" {
  local id
  id=$(sbatch --parsable -J rehearsal-fails -p gpu -N 1 -o /dev/null --wrap 'exit 3')
  wait_for 30 job_done "$id"
  [ "$(job_state "$id")" = FAILED ]
  wait_for 10 published_call "$id"
}

@test "a failed job's end reaches SNS through slurmctld's real job completion plugin, with Slurm's variables" {
  local id calls file
  id=$(sbatch --parsable -J rehearsal-fails -p gpu -N 1 -o /dev/null --wrap 'exit 3')
  wait_for 30 job_done "$id"
  [ "$(job_state "$id")" = FAILED ]
  wait_for 10 published_call "$id"
  file=$(published_call "$id")
  mapfile -d '' calls <"$file"
  [ "${calls[0]} ${calls[1]}" = "sns publish" ]
  [[ " ${calls[*]} " == *" --topic-arn arn:aws:sns:us-east-1:111122223333:rehearsal-alerts "* ]]
  [[ " ${calls[*]} " == *"[$(jq_settings clusterName)] Slurm job $id FAILED: rehearsal-fails"* ]]
  # The values slurmctld passed: partition, node list, exit code.
  [[ " ${calls[*]} " == *"Partition:  gpu"* ]]
  [[ " ${calls[*]} " == *"Exit code:  3:0"* ]]
  [[ " ${calls[*]} " == *"Nodes:      1 (ip-10-1-"* ]]
}

@test "a completed job is not notified: the generated states leave COMPLETED out" {
  local id before
  before=$(aws_calls)
  id=$(sbatch --parsable -J rehearsal-ok -p gpu -N 1 -o /dev/null --wrap 'true')
  wait_for 30 job_done "$id"
  [ "$(job_state "$id")" = COMPLETED ]
  sleep 1
  [ "$(aws_calls)" = "$before" ]
}
