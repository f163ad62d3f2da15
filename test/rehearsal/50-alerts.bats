#!/usr/bin/env bats
# The project's rules in a running Prometheus, its route tree in a running Alertmanager (webhook receivers with the
# names of the SNS ones: no SNS here), fed by node_exporter's textfile collector (scenario.bash). The rules are
# rendered with the shortest durations their typed props allow (render.ts), so the scenario takes about 3.5 minutes;
# it started with the cluster, and these tests run last.

setup() {
  load harness
  load scenario
  CLUSTER=$(jq_settings clusterName)
}

# received: every notification Alertmanager sent, in order, one line per alert: "receiver status alertname" and
# the labels that say where (cluster, Hostname, hpc_job, kind; "-" when absent).
received() {
  python3 - "$REHEARSAL_ROOT/webhook/received.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    record = json.loads(line)
    for alert in record["payload"]["alerts"]:
        labels = alert["labels"]
        print(record["path"].strip("/"), alert["status"], labels["alertname"],
              *("%s=%s" % (k, labels.get(k, "-")) for k in ("cluster", "Hostname", "hpc_job", "kind")))
PY
}

stall_resolved() { received | grep -q '^critical resolved TrainingStalled '; }

@test "Prometheus loaded every rule of the rendered file, and every rule evaluates without error" {
  curl -sf "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/rules" | python3 -c '
import json, re, sys
# The rendered file: groups at "  - name:", their rules at "      - alert:" or "      - record:".
rendered = {}
for line in open(sys.argv[1]):
    group = re.match(r"  - name: (\S+)$", line)
    rule = re.match(r"      - (?:alert|record): (\S+)$", line)
    if group:
        rendered[group.group(1)] = []
    elif rule:
        rendered[list(rendered)[-1]].append(rule.group(1))
assert rendered and all(rendered.values()), rendered
groups = json.load(sys.stdin)["data"]["groups"]
loaded = {g["name"]: [r["name"] for r in g["rules"]] for g in groups}
assert loaded == rendered, (sorted(loaded), sorted(rendered))
bad = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] == "err"]
assert not bad, bad
print(len(loaded), "groups,", sum(map(len, loaded.values())), "rules")' "$REHEARSAL_ROOT/prometheus/rules.yaml"
}

@test "node_exporter's series carry the labels the rules group by: Hostname and the cluster's name on every node" {
  local name
  [ "$CLUSTER" = hyperpod-smoke-Cluster ]
  for name in $(compute_nodes | cut -d' ' -f2); do
    wait_for 20 eval "prom_query 'up{job=\"node\",Hostname=\"$name\",cluster=\"$CLUSTER\"} == 1' | grep -q ."
    prom_query "node_filesystem_avail_bytes{mountpoint=\"/\",Hostname=\"$name\",cluster=\"$CLUSTER\"}" | grep -q .
  done
}

# The rehearsal's Prometheus scrapes the exporters itself; on a node the collector 70-observability configures adds
# these labels on remote write. Both must be the same labels with the same values.
@test "Prometheus labels each node's series as that node's collector does: its external labels, no other" {
  local name port
  while read -r name port; do
    python3 - "$(compute_root "$name")/etc/hyperpod/observability/collector.yaml" "$REHEARSAL_ROOT/prometheus/prometheus.yml" \
      "$name" "$port" "$CLUSTER" <<'PY'
import re, sys
collector, prometheus, name, port, cluster = sys.argv[1:6]
lines = open(collector).read().splitlines()
at = [i for i, l in enumerate(lines) if l.strip() == "external_labels:"]
assert len(at) == 1, at
indent = len(lines[at[0]]) - len(lines[at[0]].lstrip())
labels = {}
for line in lines[at[0] + 1:]:
    if len(line) - len(line.lstrip()) <= indent:
        break
    key, value = re.fullmatch(r'\s*(\w+): "(.*)"', line).groups()
    labels[key] = value
assert labels == {"Hostname": name, "cluster": cluster}, labels
target = re.search(r'- targets: \["127\.0\.0\.1:%s"\]\n\s*labels: \{(.*)\}' % port, open(prometheus).read()).group(1)
scraped = dict(re.fullmatch(r'(\w+): "(.*)"', kv.strip()).groups() for kv in target.split(","))
assert scraped == labels, (scraped, labels)
PY
  done <"$REHEARSAL_ROOT/exporters/ports"
}

# What on_init_complete.sh writes for NodeDegraded, through each node's real node_exporter.
@test "each compute node's lifecycle result reaches Prometheus: every optional step reported, none failed" {
  local name
  for name in $(compute_nodes | cut -d' ' -f2); do
    wait_for 20 eval "prom_query 'hyperpod_lifecycle_step_failed{Hostname=\"$name\",cluster=\"$CLUSTER\"}' | grep -q ."
    [ "$(prom_query "hyperpod_lifecycle_step_failed{Hostname=\"$name\"}" | python3 -c '
import json, sys
rows = [line.rsplit(" ", 1) for line in sys.stdin.read().splitlines()]
print(" ".join(sorted("%s=%s" % (json.loads(labels)["step"], value) for labels, value in rows)))')" = \
      "50-preload-tool=0 60-experiment-tracking=0 70-observability=0" ]
  done
}

@test "textfile metrics reach Prometheus with the rules' labels: DCGM's Hostname, gpu, UUID, hpc_job; efa-metrics' series" {
  wait_for 20 eval 'prom_query "DCGM_FI_DEV_GPU_UTIL" | grep -c "\"UUID\": \"GPU-rehearsal-" | grep -qx 3'
  prom_query 'node:gpu_util:avg' | grep -q "\"Hostname\": \"ip-10-1-.*\"cluster\": \"$CLUSTER\""
  # The job's recording rules, per node of the job and per job.
  wait_for 20 eval "prom_query 'node_job:gpus:count{hpc_job=\"$SCENARIO_JOB\"}' | wc -l | grep -qx 3"
  prom_query "job:gpu_util:best_quartile{hpc_job=\"$SCENARIO_JOB\",cluster=\"$CLUSTER\"}" | grep -q .
  # efa-metrics' counters for the EFA rules: one series per device, summed by Hostname.
  prom_query 'sum by (Hostname) (node_amazonefa_rdma_read_wr_err)' | grep -q "\"Hostname\": \"$(compute_nodes | head -n 1 | cut -d' ' -f2)\""
  prom_query 'node_amazonefa_unresponsive_remote_events' | grep -q '"device"'
}

# StragglerIntermittent is left to the next test, so that each fails on its own.
@test "Alertmanager receives, in order: the job's host-bound straggler, its resolution, the job's stall, its end" {
  local slow
  slow=$(compute_nodes | tail -n 1 | cut -d' ' -f2)
  wait_for 240 stall_resolved
  received
  # Each distinct notification of the alert receivers, in the order it first arrived.
  [ "$(received | grep -v -e '^heartbeat ' -e ' StragglerIntermittent ' | awk '!seen[$0]++')" = "warning firing StragglerHostBound cluster=$CLUSTER Hostname=$slow hpc_job=$SCENARIO_JOB kind=host-bound
warning resolved StragglerHostBound cluster=$CLUSTER Hostname=$slow hpc_job=$SCENARIO_JOB kind=host-bound
critical firing TrainingStalled cluster=$CLUSTER Hostname=- hpc_job=$SCENARIO_JOB kind=-
critical resolved TrainingStalled cluster=$CLUSTER Hostname=- hpc_job=$SCENARIO_JOB kind=-" ]
}

# Found StragglerIntermittent reporting a steady straggler before its own alert and after its job ended; the rule
# now needs twice stragglerFor of checked history and the node still in the job.
@test "a steady straggler is never reported as an intermittent one: not before its steady alert, nor once its job stalled or ended" {
  wait_for 240 stall_resolved
  received | grep ' StragglerIntermittent ' || true
  [ "$(received | grep -c ' StragglerIntermittent ')" -eq 0 ]
}

@test "the Watchdog heartbeat reaches its own receiver, and only it" {
  received | grep -q "^heartbeat firing Watchdog cluster=- Hostname=- hpc_job=- kind=-$"
  [ -z "$(received | grep -v '^heartbeat ' | grep ' Watchdog ')" ]
  [ -z "$(received | grep '^heartbeat ' | grep -v ' Watchdog ')" ]
}
