#!/usr/bin/env bats
# bin/slurm-metrics: Slurm's node states (sinfo) and slurmctld's health (scontrol ping) in Prometheus text format,
# for the SlurmNodeUnavailable and SlurmControllerDown alerts. fixtures/sinfo-nodes.txt is `sinfo -a -N -h -o '%N %T'`
# output: a node once per partition it is in (as a real Slurm 22.05 prints it), long states with Slurm's flag
# suffixes (src/common/slurm_protocol_defs.c node_state_string).

load test_helper

setup() {
  setup_node
  METRICS="$LIFECYCLE_SRC/bin/slurm-metrics"
  RULES="$LIFECYCLE_SRC/../../observability/rules/training-alerts.yaml"
}

@test "writes one state per Slurm node, flags dropped and a node that does not respond as not_responding" {
  run bash "$METRICS"
  [ "$status" -eq 0 ]
  [ "$output" = "$(cat "$FIXTURES/slurm-metrics.prom")" ]
  # Once per node, although sinfo lists a node once per partition.
  [ "$(grep -c 'Hostname="ip-10-1-38-128"' <<<"$output")" -eq 1 ]
  [[ "$output" == *'slurm_node_state{Hostname="ip-10-1-40-3",state="not_responding"} 1'* ]]
  # idle~: powered down (a HyperPod node not registered yet); drained@: a reboot is pending.
  [[ "$output" == *'slurm_node_state{Hostname="ip-10-1-40-5",state="idle"} 1'* ]]
  [[ "$output" == *'slurm_node_state{Hostname="ip-10-1-40-10",state="drained"} 1'* ]]
  [ "$(calls sinfo)" = "sinfo -a -N -h -o %N %T" ]
}

@test "the states the alert rule selects are the ones written for unavailable nodes" {
  local selector unavailable
  selector=$(grep -o 'slurm_node_state{state=~"[^"]*"}' "$RULES" | sed 's/.*state=~"\([^"]*\)".*/\1/')
  [ -n "$selector" ]
  run bash "$METRICS"
  unavailable=$(sed -n 's/^slurm_node_state{Hostname="\([^"]*\)",state="\([^"]*\)"} 1$/\1 \2/p' <<<"$output" |
    awk -v re="^($selector)\$" '$2 ~ re { print $1 }' | tr '\n' ' ')
  [ "$unavailable" = "ip-10-1-40-1 ip-10-1-40-10 ip-10-1-40-2 ip-10-1-40-3 ip-10-1-40-4 ip-10-1-40-7 ip-10-1-40-8 " ]
}

@test "slurm-metrics output passes promtool check metrics" {
  run bash -c 'promtool check metrics <"$1" 2>&1' _ "$FIXTURES/slurm-metrics.prom"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "when slurmctld does not answer: slurm_controller_up 0 and no node states" {
  STUB_SLURMCTLD=down run bash "$METRICS"
  [ "$status" -eq 0 ]
  [ "$(grep -v '^#' <<<"$output")" = "slurm_controller_up 0" ]
  [ -z "$(calls sinfo)" ]
}

@test "when sinfo fails although slurmctld answers, the file stays as it was and the run fails" {
  local out="$SANDBOX/textfile/slurm.prom"
  mkdir -p "$SANDBOX/textfile"
  echo "previous" >"$out"
  STUB_SINFO_FAIL=1 run bash "$METRICS" -o "$out"
  [ "$status" -ne 0 ]
  [[ "$output" == *"sinfo failed although slurmctld answers"* ]]
  [ "$(cat "$out")" = previous ]
  [ "$(ls "$SANDBOX/textfile")" = slurm.prom ]
}

@test "slurm-metrics replaces its output file atomically, readable by node_exporter" {
  local out="$SANDBOX/textfile/slurm.prom"
  mkdir -p "$SANDBOX/textfile"
  echo "stale" >"$out"
  run bash "$METRICS" -o "$out"
  [ "$status" -eq 0 ]
  cmp -s "$FIXTURES/slurm-metrics.prom" "$out"
  [ "$(stat -c %a "$out")" = 644 ]
  [ "$(ls "$SANDBOX/textfile")" = slurm.prom ]
  run bash "$METRICS" -x
  [ "$status" -eq 2 ]
}
