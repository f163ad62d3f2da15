#!/usr/bin/env bash
# Job-end notifications: slurmctld runs slurm-job-notify whenever a job ends, which publishes one SNS
# message (job, name, user, partition, nodes, state, exit code, elapsed time) to jobNotifications.topicArn
# for the configured states and minimum run time. Controller only: only its role may publish.
# Mechanism: JobCompType=jobcomp/script, not EpilogSlurmctld. The job completion plugin runs for every job
# that ends, including jobs cancelled before they started (which have no epilog), passes the final state
# (JOBSTATE), exit code, start and end times and user name, and runs in a slurmctld thread of its own
# after the job is over, so it can neither fail nor delay the job.
# node-types: Controller
# class: optional
set -euo pipefail

# shellcheck source-path=SCRIPTDIR/.. source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# notification_settings: the validated settings, one per line: topic ARN, region, notified states (space
# separated, or ALL), minimum elapsed minutes, cluster name. Nothing when not configured.
notification_settings() {
  py - "$SETTINGS_FILE" <<'PY'
import json, re, sys
path = sys.argv[1]
settings = json.load(open(path))
config = settings.get("jobNotifications")
if not isinstance(config, dict) or config.get("topicArn") is None:
    sys.exit(0)

def fail(message):
    sys.exit("%s: %s" % (path, message))

END_STATES = ["BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY",
              "PREEMPTED", "TIMEOUT"]
arn = config["topicArn"]
match = re.fullmatch(r"arn:aws[a-z-]*:sns:([a-z0-9-]+):[0-9]{12}:[A-Za-z0-9_-]{1,256}", str(arn))
if not match:
    fail("jobNotifications.topicArn must be the ARN of a standard SNS topic, got %r" % (arn,))
region = config.get("region") or match.group(1)
if region != match.group(1):
    fail("jobNotifications.region (%s) must be the topic's Region (%s): SNS publishes there only"
         % (region, match.group(1)))
states = config.get("states")
if states is None:
    states = ["ALL"]
elif not isinstance(states, list) or not states or any(state not in END_STATES for state in states):
    fail("jobNotifications.states must be null (every end state) or a non-empty list of %s, got %r"
         % (", ".join(END_STATES), states))
minimum = config.get("minimumElapsedMinutes")
minimum = 0 if minimum is None else minimum
if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 0:
    fail("jobNotifications.minimumElapsedMinutes must be a whole number of minutes, got %r" % (minimum,))
cluster = settings.get("clusterName")
if not isinstance(cluster, str) or not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", cluster):
    fail("clusterName must be a HyperPod cluster name, got %r" % (cluster,))
print("\n".join([arn, region, " ".join(states), str(minimum), cluster]))
PY
}

# slurm_conf_with_jobcomp FILE SCRIPT: FILE with a marked block (lib.sh's slurm_conf_with_block) that sets
# JobCompType=jobcomp/script and JobCompLoc=SCRIPT. JobCompType=jobcomp/none elsewhere is commented out; any other
# job completion plugin is an error, as Slurm runs only one.
slurm_conf_with_jobcomp() {
  py - "$1" <<'PY' || return 1
import re, sys
path = sys.argv[1]
begin, end = "# BEGIN cdk-hyperpod-training job notifications", "# END cdk-hyperpod-training job notifications"
in_block = False
for line in open(path).read().splitlines():
    in_block = in_block or line.startswith(begin)
    if in_block:
        in_block = not line.startswith(end)
        continue
    match = re.match(r"\s*JobCompType\s*=\s*(\S*)", line, re.IGNORECASE)
    if match and match.group(1).lower() not in ("jobcomp/none", "none"):
        sys.exit("%s sets JobCompType=%s; Slurm runs one job completion plugin, so job notifications "
                 "(jobcomp/script) cannot be added. Remove that setting or jobNotifications." % (path, match.group(1)))
PY
  slurm_conf_with_block "$1" "job notifications" "JobCompType=jobcomp/script" "JobCompLoc=$2"
}

jobcomp_is_script() {
  [[ "$(scontrol show config 2>/dev/null | awk -F ' *= *' '$1 == "JobCompType" { print $2 }')" == jobcomp/script ]]
}

# restart_slurmctld: make a running slurmctld load the job completion plugin. A new JobCompType needs a
# restart: against a real slurmctld (Slurm 22.05, test/rehearsal) `scontrol reconfigure` makes
# `scontrol show config` report jobcomp/script while the daemon keeps running its old plugin, so no job-end
# script runs. A restart here, before any job, costs seconds; the check afterwards is what the daemon loaded.
restart_slurmctld() {
  if ! systemctl is-active --quiet slurmctld.service; then
    log INFO "slurmctld is not running yet; it loads jobcomp/script when it starts"
    return 0
  fi
  systemctl restart slurmctld.service
  retry 5 2 jobcomp_is_script || die "slurmctld restarted without JobCompType=jobcomp/script; see $SLURM_ROOT/etc/slurm.conf"
  log INFO "slurmctld restarted with JobCompType=jobcomp/script"
}

main() {
  local values topic region states minimum cluster slurm_conf="$SLURM_ROOT/etc/slurm.conf" content
  values=$(notification_settings)
  if [[ -z "$values" ]]; then
    log INFO "jobNotifications is not configured"
    return 0
  fi
  {
    read -r topic
    read -r region
    read -r states
    read -r minimum
    read -r cluster
  } <<<"$values"
  [[ -f "$slurm_conf" ]] ||
    die "$slurm_conf not found: job notifications need HyperPod's Slurm configuration on the controller"
  # Slurm's commands are in /opt/slurm/bin, which need not be on the lifecycle scripts' PATH.
  PATH="$SLURM_ROOT/bin:$PATH"

  # The script and its configuration first: slurmctld checks JobCompLoc when it loads the plugin.
  install_file "$LIFECYCLE_DIR/bin/slurm-job-notify" "$BIN_DIR/slurm-job-notify" 0755
  install_content "$ETC_DIR/hyperpod/job-notifications.conf" 0644 <<CONF
# Job-end notifications for $BIN_DIR/slurm-job-notify (slurmctld's JobCompLoc), from
# cluster-settings.json. Generated by 80-job-notifications; do not edit.
TOPIC_ARN=$topic
REGION=$region
STATES=$states
MINIMUM_ELAPSED_MINUTES=$minimum
CLUSTER_NAME=$cluster
CONF
  content=$(slurm_conf_with_jobcomp "$slurm_conf" "$BIN_DIR/slurm-job-notify")
  install_content "$slurm_conf" "$(stat -c %a "$slurm_conf")" <<<"$content"
  if $INSTALL_CHANGED; then
    restart_slurmctld
  fi
  [[ "$states" != ALL ]] || states="any state"
  log INFO "jobs ending in ${states// /, } after at least $minimum minutes are published to $topic"
}

main "$@"
