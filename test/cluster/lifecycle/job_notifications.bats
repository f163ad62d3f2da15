#!/usr/bin/env bats
# steps/80-job-notifications.sh and bin/slurm-job-notify: slurmctld's job completion script publishes
# one SNS message per ended job, filtered by state and run time, and never fails.

load test_helper

TOPIC=arn:aws:sns:us-east-1:111122223333:training-alerts

# A job as slurmctld describes it to the job completion script: failed after 1 h 2 min 3 s.
FAILED_JOB=(JOBID=4242 ARRAYJOBID=0 ARRAYTASKID=4294967294 JOBNAME=train-70b USERNAME=alice UID=1001
  PARTITION=Compute "NODES=ip-10-1-29-16,ip-10-1-38-128" NODECNT=2 JOBSTATE=FAILED EXITCODE=1:0
  START=1714557600 END=1714561323 WORK_DIR=/fsx/alice/run STDOUT=/fsx/alice/run/slurm-4242.out)

setup() {
  setup_node
  cp "$FIXTURES/cluster-settings-monitoring.json" "$SETTINGS_FILE"
  SLURM_CONF="$PROVISION_ROOT/opt/slurm/etc/slurm.conf"
  cp "$FIXTURES/slurm.conf" "$SLURM_CONF"
  CONF="$PROVISION_ROOT/etc/hyperpod/job-notifications.conf"
  NOTIFY="$PROVISION_ROOT/usr/local/bin/slurm-job-notify"
}

# notify VAR=value...: run the installed notifier the way slurmctld does, with only the job's variables
# (and the stubs' settings) in its environment.
notify() {
  run env -i PATH="$PATH" STUB_STATE="$STUB_STATE" STUB_CALLS="$STUB_CALLS" JOB_NOTIFY_CONF="$CONF" \
    "$@" bash "$NOTIFY"
}

# published, not_published: whether the notifier called sns publish (`! published` would never fail a test).
published() { [ -n "$(calls aws | grep '^aws sns publish')" ]; }
not_published() { [ -z "$(calls aws | grep '^aws sns publish')" ]; }

@test "does nothing when jobNotifications is not configured" {
  set_setting jobNotifications null
  run_step 80-job-notifications
  [ "$status" -eq 0 ]
  [[ "$output" == *"jobNotifications is not configured"* ]]
  set_setting jobNotifications DELETE
  run_step 80-job-notifications
  [ "$status" -eq 0 ]
  [ ! -s "$STUB_CALLS" ]
  cmp -s "$FIXTURES/slurm.conf" "$SLURM_CONF"
  [ ! -e "$NOTIFY" ]
  [ ! -e "$CONF" ]
}

@test "makes slurm-job-notify slurmctld's job completion script and restarts slurmctld to load it" {
  STUB_ACTIVE_UNITS="slurmctld.service" run_step 80-job-notifications
  [ "$status" -eq 0 ]
  [ "$(stat -c %a "$NOTIFY")" = 755 ]
  [ "$(stat -c %a "$CONF")" = 644 ]
  [ "$(grep -v '^#' "$CONF")" = "$(printf '%s\n' "TOPIC_ARN=$TOPIC" REGION=us-east-1 \
    'STATES=FAILED TIMEOUT NODE_FAIL OUT_OF_MEMORY CANCELLED PREEMPTED BOOT_FAIL DEADLINE' \
    MINIMUM_ELAPSED_MINUTES=0 CLUSTER_NAME=swallow-70b)" ]
  [ "$(tail -n 4 "$SLURM_CONF")" = "$(printf '%s\n' \
    '# BEGIN cdk-hyperpod-training job notifications (do not edit)' \
    'JobCompType=jobcomp/script' "JobCompLoc=$NOTIFY" \
    '# END cdk-hyperpod-training job notifications')" ]
  # The only other change: HyperPod's jobcomp/none is commented out.
  [ "$(grep -ci '^ *jobcomptype' "$SLURM_CONF")" -eq 1 ]
  grep -qx '# JobCompType=jobcomp/none  # replaced by the cdk-hyperpod-training job notifications block below' "$SLURM_CONF"
  [ "$(diff "$FIXTURES/slurm.conf" "$SLURM_CONF" | grep -c '^[<>]')" -eq 7 ]
  [ "$(calls systemctl | grep -c 'restart slurmctld.service')" -eq 1 ]
  [ "$(calls scontrol)" = 'scontrol show config' ]
  [[ "$output" == *"jobs ending in FAILED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, CANCELLED, PREEMPTED, BOOT_FAIL, DEADLINE after at least 0 minutes are published to $TOPIC"* ]]
}

@test "a slurm.conf an earlier release edited (its block header and mark) ends up with one block" {
  sed 's/^JobCompType=jobcomp\/none$/# &  # replaced by the cdk-hyperpod-training block below/' "$FIXTURES/slurm.conf" >"$SLURM_CONF"
  printf '%s\n' '' '# BEGIN cdk-hyperpod-training job notifications (80-job-notifications; do not edit)' \
    'JobCompType=jobcomp/script' 'JobCompLoc=/usr/local/bin/slurm-job-notify' \
    '# END cdk-hyperpod-training job notifications' >>"$SLURM_CONF"
  grep -q '^# JobCompType=jobcomp/none  # replaced by the cdk-hyperpod-training block below$' "$SLURM_CONF"
  STUB_ACTIVE_UNITS="slurmctld.service" run_step 80-job-notifications
  [ "$status" -eq 0 ]
  [ "$(grep -c '^# BEGIN cdk-hyperpod-training job notifications' "$SLURM_CONF")" -eq 1 ]
  [ "$(grep -ci '^ *jobcomptype' "$SLURM_CONF")" -eq 1 ]
  grep -qx "JobCompLoc=$NOTIFY" "$SLURM_CONF"
}

@test "running twice edits slurm.conf once and restarts slurmctld once" {
  STUB_ACTIVE_UNITS="slurmctld.service" run_step 80-job-notifications
  [ "$status" -eq 0 ]
  local before
  before=$(snapshot "$PROVISION_ROOT")
  STUB_ACTIVE_UNITS="slurmctld.service" run_step 80-job-notifications
  [ "$status" -eq 0 ]
  [ "$(snapshot "$PROVISION_ROOT")" = "$before" ]
  [ "$(grep -c '^JobCompType=jobcomp/script$' "$SLURM_CONF")" -eq 1 ]
  [ "$(calls systemctl | grep -c 'restart slurmctld.service')" -eq 1 ]
}

@test "leaves a stopped slurmctld alone: it reads slurm.conf when it starts" {
  run_step 80-job-notifications
  [ "$status" -eq 0 ]
  [[ "$output" == *"slurmctld is not running yet; it loads jobcomp/script when it starts"* ]]
  [ -z "$(calls scontrol)" ]
  grep -qx 'JobCompType=jobcomp/script' "$SLURM_CONF"
}

@test "fails when the restarted slurmctld has not loaded jobcomp/script" {
  STUB_ACTIVE_UNITS="slurmctld.service" STUB_JOBCOMP_TYPE=jobcomp/none run_step 80-job-notifications
  [ "$status" -ne 0 ]
  [[ "$output" == *"slurmctld restarted without JobCompType=jobcomp/script"* ]]
}

@test "refuses to replace another job completion plugin" {
  sed -i 's|^JobCompType=jobcomp/none$|JobCompType=jobcomp/elasticsearch|' "$SLURM_CONF"
  cp "$SLURM_CONF" "$SANDBOX/slurm.conf.before"
  run_step 80-job-notifications
  [ "$status" -ne 0 ]
  [[ "$output" == *"sets JobCompType=jobcomp/elasticsearch; Slurm runs one job completion plugin"* ]]
  cmp -s "$SANDBOX/slurm.conf.before" "$SLURM_CONF"
  [ -z "$(calls scontrol)" ]
}

@test "rejects an unknown state and a Region other than the topic's" {
  set_setting jobNotifications.states '["FAILED", "CRASHED"]'
  run_step 80-job-notifications
  [ "$status" -ne 0 ]
  [[ "$output" == *"jobNotifications.states must be null (every end state) or a non-empty list of BOOT_FAIL,"*"got ['FAILED', 'CRASHED']"* ]]
  cp "$FIXTURES/cluster-settings-monitoring.json" "$SETTINGS_FILE"
  set_setting jobNotifications.region '"eu-west-1"'
  run_step 80-job-notifications
  [ "$status" -ne 0 ]
  [[ "$output" == *"jobNotifications.region (eu-west-1) must be the topic's Region (us-east-1)"* ]]
  cmp -s "$FIXTURES/slurm.conf" "$SLURM_CONF"
}

@test "publishes a failed job with its name, user, partition, nodes, state, exit code and run time" {
  run_step 80-job-notifications
  notify "${FAILED_JOB[@]}"
  [ "$status" -eq 0 ]
  [[ "$(calls aws)" == "aws sns publish --topic-arn $TOPIC --region us-east-1 --subject [swallow-70b] Slurm job 4242 FAILED: train-70b --message Slurm job 4242 on cluster swallow-70b ended: FAILED"* ]]
  [ "$(cat "$STUB_STATE/sns-subject")" = "[swallow-70b] Slurm job 4242 FAILED: train-70b" ]
  diff - "$STUB_STATE/sns-message" <<'MESSAGE'
Slurm job 4242 on cluster swallow-70b ended: FAILED

Job:        4242
Name:       train-70b
User:       alice
Partition:  Compute
Nodes:      2 (ip-10-1-29-16,ip-10-1-38-128)
State:      FAILED
Exit code:  1:0
Elapsed:    01:02:03
Started:    2024-05-01 10:00:00 UTC
Ended:      2024-05-01 11:02:03 UTC
Work dir:   /fsx/alice/run
Output:     /fsx/alice/run/slurm-4242.out
MESSAGE
  [[ "$(calls logger)" == *"published job 4242 (FAILED) to $TOPIC as message 0f1e2d3c-"* ]]
}

@test "a completed job is not published with the failures list, and is with every state" {
  run_step 80-job-notifications
  notify "${FAILED_JOB[@]}" JOBSTATE=COMPLETED EXITCODE=0:0
  [ "$status" -eq 0 ]
  not_published
  [[ "$(calls logger)" == *"job 4242 ended COMPLETED, which is not notified"* ]]
  set_setting jobNotifications.states null
  run_step 80-job-notifications
  grep -qx 'STATES=ALL' "$CONF"
  notify "${FAILED_JOB[@]}" JOBSTATE=COMPLETED EXITCODE=0:0 ARRAYJOBID=4200 ARRAYTASKID=42 USERNAME=
  [ "$status" -eq 0 ]
  published
  [ "$(cat "$STUB_STATE/sns-subject")" = "[swallow-70b] Slurm job 4200_42 (4242) COMPLETED: train-70b" ]
  # Older Slurm releases pass no USERNAME; the stubbed passwd database has no uid 1001.
  grep -qx 'User:       uid 1001' "$STUB_STATE/sns-message"
}

@test "jobs shorter than minimumElapsedMinutes are not published" {
  set_setting jobNotifications.minimumElapsedMinutes 90
  run_step 80-job-notifications
  notify "${FAILED_JOB[@]}"
  [ "$status" -eq 0 ]
  not_published
  [[ "$(calls logger)" == *"job 4242 ended FAILED after 01:02:03, under 90 minutes: not notified"* ]]
  notify "${FAILED_JOB[@]}" END=1714563000
  published
  grep -qx 'Elapsed:    01:30:00' "$STUB_STATE/sns-message"
}

@test "a failed publish is logged and still exits 0" {
  run_step 80-job-notifications
  notify "${FAILED_JOB[@]}" STUB_AWS_FAIL=1
  [ "$status" -eq 0 ]
  [[ "$(calls logger)" == *"-p user.err -- could not publish job 4242 (FAILED) to $TOPIC: An error occurred (AccessDeniedException) when calling the Publish operation"* ]]
}

@test "a hanging publish is stopped by the timeout, logged, and still exits 0" {
  run_step 80-job-notifications
  local started=$SECONDS
  notify "${FAILED_JOB[@]}" STUB_AWS_HANG=1 JOB_NOTIFY_TIMEOUT=1
  [ "$status" -eq 0 ]
  [ $((SECONDS - started)) -lt 10 ]
  [[ "$(calls logger)" == *"publishing job 4242 (FAILED) to $TOPIC timed out after 1s"* ]]
}

@test "without its configuration the notifier logs the problem and exits 0" {
  run_step 80-job-notifications
  rm "$CONF"
  notify "${FAILED_JOB[@]}"
  [ "$status" -eq 0 ]
  not_published
  [[ "$(calls logger)" == *"$CONF is missing or unreadable; no notification for job 4242"* ]]
}
