#!/usr/bin/env bats
# The lifecycle entry point on the controller and on every compute node as HyperPod runs it after its own
# initialisation: root, the settings file the construct generates, Slurm already up (inside.sh runs it once the
# cluster is up: run_lifecycle, run_compute_lifecycle). Assertions read the real slurmctld and slurmd.

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

@test "the essential Slurm check fails a controller whose slurmctld does not answer" {
  local dir
  dir=$(mktemp -d "$REHEARSAL_ROOT/check.XXXX")
  # HyperPod's Slurm directory with the same slurm.conf but a port no slurmctld listens on.
  mkdir -p "$dir/etc"
  sed "s/^SlurmctldPort=.*/SlurmctldPort=$((SLURMCTLD_PORT + 200))/" "$SLURM_CONF" >"$dir/etc/slurm.conf"
  SLURM_ROOT=$dir PROVISION_SLURM_ATTEMPTS=1 run bash "$LIFECYCLE_DIR/steps/15-verify-slurm.sh"
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"slurmctld does not answer on this controller after 1 attempts"* ]]
}

@test "the entry point succeeds on every compute node: its group, the compute steps, the real slurmd" {
  local group name
  while read -r group name; do
    run cat "$REHEARSAL_ROOT/logs/lifecycle-$name.log"
    [ "$(<"$REHEARSAL_ROOT/logs/lifecycle-$name.status")" -eq 0 ]
    [[ "$output" == *"this node is in instance group '$group' (node type Compute)"* ]]
    [[ "$output" == *"[15-verify-slurm] slurmd runs; "*"/compute/$name/opt/slurm/etc/slurm.conf present"* ]]
    [[ "$output" == *"[30-containers] pyxis "*" is registered in "* ]]
    [[ "$output" == *"step 40-nccl-env: done"* ]]
    [[ "$output" == *"as Hostname=$name cluster=$(jq_settings clusterName)"* ]]
    [[ "$output" == *"done: all steps completed on this Compute node"* ]]
    # Every node's NCCL environment is the cluster's (30-megatron's jobs read the first node's); comments name the file.
    [ "$(grep -v '^#' "$(compute_root "$name")/etc/hyperpod/nccl-env.sh")" = \
      "$(grep -v '^#' "$(compute_root "$(compute_nodes | head -n 1 | cut -d' ' -f2)")/etc/hyperpod/nccl-env.sh")" ]
    grep -q "^export NCCL_SOCKET_IFNAME='$(jq_settings nccl.NCCL_SOCKET_IFNAME)'$" "$(compute_root "$name")/etc/hyperpod/nccl-env.sh"
  done < <(compute_nodes)
}

# The slurmd the compute check finds is a real one: in a PID namespace of its own, where no slurmd runs, it fails.
@test "the essential Slurm check fails a compute node without slurmd" {
  local name
  name=$(compute_nodes | head -n 1 | cut -d' ' -f2)
  as_compute_node "$name" bash "$LIFECYCLE_DIR/steps/15-verify-slurm.sh"
  run as_compute_node "$name" unshare --pid --fork --mount-proc env PROVISION_SLURM_ATTEMPTS=1 \
    bash "$LIFECYCLE_DIR/steps/15-verify-slurm.sh"
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"no slurmd process on this compute node after 1 attempts"* ]]
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

aws_calls() { { compgen -G "$CALLS_DIR/aws.*" || true; } | wc -l; }

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
