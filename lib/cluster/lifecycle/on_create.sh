#!/usr/bin/env bash
# HyperPod OnCreate entry point. Finds this node's type from resource_config.json and
# cluster-settings.json, then runs the numbered steps in steps/ that apply to it, in order.
# Each step declares the node types it runs on in a "# node-types:" header line.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROVISION_STEP=on_create

step_node_types() {
  local types
  types=$(sed -n 's/^# node-types:[[:space:]]*//p' "$1" | head -n 1)
  [[ -n "$types" ]] || die "$1 has no '# node-types:' header"
  printf '%s\n' "$types"
}

# run_step FILE NODE_TYPE: run one step, its output also appended to <step>.log; stop on failure.
run_step() {
  local file=$1 type=$2 name types rc=0 started=$SECONDS
  name=${file##*/}
  name=${name%.sh}
  types=$(step_node_types "$file")
  if [[ " $types " != *" $type "* ]]; then
    log INFO "step $name: skipped (runs on $types)"
    return 0
  fi
  log INFO "step $name: start"
  PROVISION_STEP=$name bash "$file" 2>&1 | tee -a "$PROVISION_LOG_DIR/$name.log" || rc=$?
  if ((rc != 0)); then
    log ERROR "step $name: FAILED with exit code $rc after $((SECONDS - started))s; see $PROVISION_LOG_DIR/$name.log"
    exit "$rc"
  fi
  log INFO "step $name: done in $((SECONDS - started))s"
}

main() {
  local group type file
  log INFO "start: scripts in $LIFECYCLE_DIR, settings $SETTINGS_FILE"
  require_settings
  group=$(node_group)
  type=$(node_type "$group")
  log INFO "this node is in instance group '$group' (node type $type)"
  for file in "$LIFECYCLE_DIR"/steps/[0-9][0-9]-*.sh; do
    run_step "$file" "$type"
  done
  log INFO "done: all steps completed on this $type node in ${SECONDS}s"
}

# One pipeline so that everything, steps included, reaches both the console (HyperPod sends it to
# CloudWatch) and provision.log, and the script still exits with main's status.
mkdir -p "$PROVISION_LOG_DIR"
main "$@" 2>&1 | tee -a "$PROVISION_LOG_DIR/provision.log"
