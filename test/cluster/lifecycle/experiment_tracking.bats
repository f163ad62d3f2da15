#!/usr/bin/env bats
# steps/60-experiment-tracking.sh and bin/experiment-tracking-env: the key reaches jobs, never disk or logs.

load test_helper

ARN=arn:aws:secretsmanager:us-east-1:111122223333:secret:wandb-AbCdEf
KEY=0123456789abcdef0123456789abcdef01234567

setup() {
  setup_node
  CONF="$PROVISION_ROOT/etc/hyperpod/experiment-tracking.conf"
  export EXPERIMENT_TRACKING_CONF="$CONF"
}

helper() {
  run bash "$PROVISION_ROOT/usr/local/bin/experiment-tracking-env"
}

@test "installs the helper and a world-readable config that holds only where the key is" {
  run_step 60-experiment-tracking
  [ "$status" -eq 0 ]
  [ "$(stat -c %a "$PROVISION_ROOT/usr/local/bin/experiment-tracking-env")" = 755 ]
  [ "$(cat "$CONF")" = "$(printf '%s\n' "SECRET_ARN=$ARN" ENV_VAR=WANDB_API_KEY REGION=us-east-1)" ]
  [ "$(stat -c %a "$CONF")" = 644 ]
}

@test "checks the instance role's access at boot without printing or storing the key" {
  run_step 60-experiment-tracking
  [ "$status" -eq 0 ]
  [ "$(calls aws)" = "aws secretsmanager get-secret-value --secret-id $ARN --region us-east-1 --query ARN --output text" ]
  [[ "$output" == *"the instance role can read $ARN"* ]]
  [[ "$output" != *"$KEY"* ]]
  [ -z "$(grep -rlF "$KEY" "$PROVISION_ROOT" "$SANDBOX/calls.log")" ]
}

@test "warns but does not fail the node when the role cannot read the secret yet" {
  STUB_AWS_FAIL=1 run_step 60-experiment-tracking
  [ "$status" -eq 0 ]
  [[ "$output" == *"[WARN]"*"cannot read $ARN yet (An error occurred (AccessDeniedException)"* ]]
}

@test "the helper prints an export line for eval, fetched at call time" {
  run_step 60-experiment-tracking
  : >"$STUB_CALLS"
  helper
  [ "$status" -eq 0 ]
  [ "$output" = "export WANDB_API_KEY=$KEY" ]
  [ "$(calls aws)" = "aws secretsmanager get-secret-value --secret-id $ARN --region us-east-1 --query SecretString --output text" ]
  eval "$output"
  [ "$WANDB_API_KEY" = "$KEY" ]
}

@test "the helper extracts the variable from a JSON secret and quotes it for eval" {
  run_step 60-experiment-tracking
  STUB_SECRET='{"WANDB_API_KEY": "k$y with space", "other": "x"}' helper
  [ "$status" -eq 0 ]
  eval "$output"
  [ "$WANDB_API_KEY" = 'k$y with space' ]
}

@test "as a Slurm TaskProlog the helper prints the raw value Slurm expects" {
  run_step 60-experiment-tracking
  # slurmstepd starts the TaskProlog with stdin and stderr closed.
  STUB_SECRET='{"WANDB_API_KEY": "k$y"}' SLURM_SCRIPT_CONTEXT=prolog_task \
    run bash -c 'exec 0<&- 2>&-; bash "$1"' _ "$PROVISION_ROOT/usr/local/bin/experiment-tracking-env"
  [ "$status" -eq 0 ]
  [ "$output" = 'export WANDB_API_KEY=k$y' ]
}

@test "the helper fails loudly for eval but never kills a task as TaskProlog" {
  run_step 60-experiment-tracking
  STUB_AWS_FAIL=1 helper
  [ "$status" -eq 1 ]
  [[ "$output" == *"experiment-tracking-env: could not read WANDB_API_KEY from $ARN"* ]]
  STUB_AWS_FAIL=1 SLURM_SCRIPT_CONTEXT=prolog_task helper
  [ "$status" -eq 0 ]
  [[ "$output" == *"print experiment-tracking-env: could not read WANDB_API_KEY"* ]]
  [[ "$output" != *"export "* ]]
}

@test "the helper says so when tracking is not configured on the node" {
  run_step 60-experiment-tracking
  rm "$CONF"
  helper
  [ "$status" -eq 1 ]
  [[ "$output" == *"no experiment tracking is configured on this node ($CONF is missing)"* ]]
}

@test "without experimentTracking nothing is configured, and an earlier config is removed" {
  run_step 60-experiment-tracking
  set_setting experimentTracking null
  run_step 60-experiment-tracking
  [ "$status" -eq 0 ]
  [ ! -e "$CONF" ]
  [[ "$output" == *"removed $CONF"* ]]
  set_setting experimentTracking DELETE
  run_step 60-experiment-tracking
  [ "$status" -eq 0 ]
  [[ "$output" == *"experimentTracking is not configured"* ]]
}

@test "rejects an ARN that is not a Secrets Manager secret and a bad variable name" {
  set_setting experimentTracking.secretArn '"arn:aws:ssm:us-east-1:111122223333:parameter/wandb"'
  run_step 60-experiment-tracking
  [ "$status" -eq 1 ]
  [[ "$output" == *"experimentTracking.secretArn is not a Secrets Manager secret ARN"* ]]
  cp "$FIXTURES/cluster-settings.json" "$SETTINGS_FILE"
  set_setting experimentTracking.envVar '"WANDB-KEY"'
  run_step 60-experiment-tracking
  [ "$status" -eq 1 ]
  [[ "$output" == *"'WANDB-KEY' is not an environment variable name"* ]]
}

@test "running twice changes nothing" {
  run_step 60-experiment-tracking
  local before
  before=$(snapshot "$PROVISION_ROOT")
  run_step 60-experiment-tracking
  [ "$status" -eq 0 ]
  [ "$(snapshot "$PROVISION_ROOT")" = "$before" ]
}
