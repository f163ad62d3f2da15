#!/usr/bin/env bash
# HyperPod OnInitComplete entry point (LifeCycleConfig.OnInitComplete). HyperPod runs it on every new node
# "after the AMI-based initialization is complete" (SageMaker API reference, ClusterLifeCycleConfig): with
# SlurmConfig on the instance groups, Slurm, Docker, the Slurm prolog/epilog and the FSx mount are already
# set up, so these steps only verify and extend them; nothing here starts Slurm or mounts FSx.
#
# It finds this node's type from resource_config.json and cluster-settings.json, then runs the numbered
# steps in steps/ that apply to it, in order. Each step declares two header lines:
#   # node-types: Controller Login Compute   the node types it runs on
#   # class: essential | optional           what its failure means
# An essential step (Slurm, FSx, user directories) that fails stops the run with a non-zero exit, which
# fails the node's creation. An optional step (exporters, notifications, tracking) that fails is logged and
# reported as hyperpod_lifecycle_step_failed{step="..."} 1 in node_exporter's textfile directory, so an alert
# fires on a degraded node instead of a 32-node create being aborted.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROVISION_STEP=on_init_complete
# Gauge values of this run's optional steps, as "step value" lines, written out after every step.
STEP_RESULTS=()

# step_header FILE NAME: the value of FILE's "# NAME:" header line, or nothing.
step_header() {
  sed -n "s/^# $2:[[:space:]]*//p" "$1" | head -n 1 | sed 's/[[:space:]]*$//'
}

step_node_types() {
  local types
  types=$(step_header "$1" node-types)
  [[ -n "$types" ]] || die "$1 has no '# node-types:' header"
  printf '%s\n' "$types"
}

step_class() {
  local class
  class=$(step_header "$1" class)
  case "$class" in
    essential | optional) printf '%s\n' "$class" ;;
    '') die "$1 has no '# class:' header (essential or optional)" ;;
    *) die "$1 has class '$class'; expected essential or optional" ;;
  esac
}

# write_step_metrics: the optional steps' results as a node_exporter textfile, replaced atomically so the
# collector never reads half a file.
write_step_metrics() {
  local dir file tmp entry
  dir=$(host_path "$NODE_TEXTFILE_DIR")
  file="$dir/hyperpod_lifecycle.prom"
  mkdir -p "$dir"
  tmp=$(mktemp "$file.XXXXXX")
  {
    echo "# HELP hyperpod_lifecycle_step_failed 1 when an optional lifecycle step failed on this node at creation."
    echo "# TYPE hyperpod_lifecycle_step_failed gauge"
    for entry in "${STEP_RESULTS[@]}"; do
      printf 'hyperpod_lifecycle_step_failed{step="%s"} %s\n' "${entry% *}" "${entry##* }"
    done
  } >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$file"
}

# run_step FILE NODE_TYPE: run one step, its output also appended to <step>.log.
run_step() {
  local file=$1 type=$2 name types class rc=0 started=$SECONDS
  name=${file##*/}
  name=${name%.sh}
  types=$(step_node_types "$file")
  class=$(step_class "$file")
  if [[ " $types " != *" $type "* ]]; then
    log INFO "step $name: skipped (runs on $types)"
    return 0
  fi
  log INFO "step $name: start ($class)"
  PROVISION_STEP=$name bash "$file" 2>&1 | tee -a "$PROVISION_LOG_DIR/$name.log" || rc=$?
  if ((rc == 0)); then
    log INFO "step $name: done in $((SECONDS - started))s"
    if [[ "$class" == optional ]]; then STEP_RESULTS+=("$name 0"); fi
  elif [[ "$class" == essential ]]; then
    log ERROR "step $name: FAILED (essential) with exit code $rc after $((SECONDS - started))s;" \
      "node creation fails. See $PROVISION_LOG_DIR/$name.log"
    exit "$rc"
  else
    log ERROR "step $name: FAILED (optional) with exit code $rc after $((SECONDS - started))s; continuing" \
      "with a degraded node (hyperpod_lifecycle_step_failed{step=\"$name\"} 1). See $PROVISION_LOG_DIR/$name.log"
    STEP_RESULTS+=("$name 1")
  fi
  write_step_metrics
}

main() {
  local group type file failed=()
  log INFO "start: scripts in $LIFECYCLE_DIR, settings $SETTINGS_FILE"
  require_settings
  group=$(node_group)
  type=$(node_type "$group")
  log INFO "this node is in instance group '$group' (node type $type)"
  # Every header is checked before anything runs: a broken step file fails the node at once.
  for file in "$LIFECYCLE_DIR"/steps/[0-9][0-9]-*.sh; do
    step_node_types "$file" >/dev/null
    step_class "$file" >/dev/null
  done
  for file in "$LIFECYCLE_DIR"/steps/[0-9][0-9]-*.sh; do
    run_step "$file" "$type"
  done
  for file in "${STEP_RESULTS[@]}"; do
    if [[ "${file##* }" == 1 ]]; then failed+=("${file% *}"); fi
  done
  if ((${#failed[@]} > 0)); then
    log WARN "done with a degraded $type node in ${SECONDS}s: optional steps failed: ${failed[*]}"
  else
    log INFO "done: all steps completed on this $type node in ${SECONDS}s"
  fi
}

# One pipeline so that everything, steps included, reaches both the console (HyperPod sends it to
# CloudWatch) and provision.log, and the script still exits with main's status.
mkdir -p "$PROVISION_LOG_DIR"
main "$@" 2>&1 | tee -a "$PROVISION_LOG_DIR/provision.log"
