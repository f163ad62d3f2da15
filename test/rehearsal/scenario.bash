#!/usr/bin/env bash
# The alert scenario (sourced by inside.sh, which starts it as soon as Prometheus runs, so that its minutes overlap
# the other tests; 50-alerts.bats checks the outcome). Metrics reach Prometheus through each node's textfile
# collector, in the DCGM exporter's names and labels (no GPU here), with `hpc_job`, the Slurm job the AMI's prolog
# maps each GPU to: one training job, SCENARIO_JOB, on the three nodes.
#   phase 1, a slow node: two nodes at 95 % GPU utilisation, the last one at 40 %;
#   phase 2, a stall: once Alertmanager has notified the straggler, the job keeps its GPUs but all idle at 0 %;
#   phase 3, the job ends: once the stall is notified, the epilog unmaps the GPUs (no hpc_job), still at 0 %.
# Also on the first node (the one with EFA devices): efa-metrics, once, as the timer 70-observability installs runs it
# (the ExecStart line of its efa-metrics.service: no systemd here).
set -euo pipefail

# The Slurm job ID the scenario's GPUs are mapped to.
# shellcheck disable=SC2034 # used by 50-alerts.bats
readonly SCENARIO_JOB=7001

# write_gpu_util NODE VALUE [JOB]: the node's GPU utilisation, in job JOB (none: outside any job, as the exporter
# reports a GPU no job holds), replaced atomically as the textfile collector requires.
write_gpu_util() {
  local dir index
  dir=$(textfile_dir "$1")
  index=$(compute_nodes | awk -v n="$1" '$2 == n { print NR }')
  cat >"$dir/.dcgm.prom" <<PROM
# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-rehearsal-$index",device="nvidia0",modelName="NVIDIA A10G",Hostname="$1",hpc_job="${3:-}"} $2
PROM
  mv "$dir/.dcgm.prom" "$dir/dcgm.prom"
}

# notified ALERTNAME: Alertmanager has sent a firing notification for ALERTNAME.
notified() {
  python3 - "$REHEARSAL_ROOT/webhook/received.jsonl" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    p = json.loads(line)["payload"]
    if p["status"] == "firing" and p["groupLabels"].get("alertname") == sys.argv[2]:
        sys.exit(0)
sys.exit(1)
PY
}

# efa_metrics_once NODE: what NODE's efa-metrics.service runs, once its lifecycle has written it.
efa_metrics_once() {
  local unit command
  unit=$(compute_root "$1")/etc/systemd/system/efa-metrics.service
  wait_for 60 test -f "$unit" || return 1
  command=$(sed -n 's/^ExecStart=//p' "$unit")
  [[ -n "$command" ]] || fail "$unit has no ExecStart" || return 1
  echo "efa-metrics on $1: $command"
  # shellcheck disable=SC2086 # the unit's command line, split as systemd splits it (no quotes in it)
  $command
}

run_alert_scenario() {
  local name slow first
  first=$(compute_nodes | head -n 1 | cut -d' ' -f2)
  slow=$(compute_nodes | tail -n 1 | cut -d' ' -f2)
  for name in $(compute_nodes | cut -d' ' -f2); do
    if [[ "$name" == "$slow" ]]; then write_gpu_util "$name" 40 "$SCENARIO_JOB"; else write_gpu_util "$name" 95 "$SCENARIO_JOB"; fi
  done
  echo "phase 1 (job $SCENARIO_JOB, slow node $slow) at $(date +%s)"
  efa_metrics_once "$first" || return 1
  wait_for 150 notified StragglerHostBound || return 1
  for name in $(compute_nodes | cut -d' ' -f2); do write_gpu_util "$name" 0 "$SCENARIO_JOB"; done
  echo "phase 2 (job $SCENARIO_JOB stalled) at $(date +%s)"
  wait_for 150 notified TrainingStalled || return 1
  for name in $(compute_nodes | cut -d' ' -f2); do write_gpu_util "$name" 0; done
  echo "phase 3 (job $SCENARIO_JOB ended) at $(date +%s)"
}

start_alert_scenario() {
  run_alert_scenario >>"$REHEARSAL_ROOT/logs/scenario.log" 2>&1 &
  echo $! >"$REHEARSAL_ROOT/pids/scenario"
}
