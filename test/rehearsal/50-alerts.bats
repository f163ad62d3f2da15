#!/usr/bin/env bats
# The project's rules in a running Prometheus, its route tree in a running Alertmanager (webhook receivers with the
# names of the SNS ones: no SNS here), fed by node_exporter's textfile collector (scenario.bash). The rules are
# rendered with the shortest durations their typed props allow (render.ts), so the scenario takes about 2.5 minutes;
# it started with the cluster, and these tests run last.

setup() {
  load harness
}

# received: every notification Alertmanager sent, one "receiver status alertname Hostname" line per alert, in order.
received() {
  python3 - "$REHEARSAL_ROOT/webhook/received.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    record = json.loads(line)
    for alert in record["payload"]["alerts"]:
        labels = alert["labels"]
        print(record["path"].strip("/"), alert["status"], labels["alertname"], labels.get("Hostname", "-"))
PY
}

stall_notified() { received | grep -q '^critical firing TrainingStalled -$'; }

@test "Prometheus loaded every rule of the rendered file, and every rule evaluates without error" {
  curl -sf "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/rules" | python3 -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
names = [g["name"] for g in groups]
assert sorted(names) == ["training-efa", "training-gpu-health", "training-node", "training-progress", "training-recording"], names
bad = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] == "err"]
assert not bad, bad
print(sum(len(g["rules"]) for g in groups), "rules")'
}

@test "node_exporter's series carry the labels the rules group by: Hostname and cluster on every node" {
  local name
  for name in $(compute_nodes | cut -d' ' -f2); do
    wait_for 20 eval "prom_query 'up{job=\"node\",Hostname=\"$name\",cluster=\"hyperpod-smoke\"} == 1' | grep -q ."
    prom_query "node_filesystem_avail_bytes{mountpoint=\"/\",Hostname=\"$name\"}" | grep -q .
  done
}

@test "textfile metrics reach Prometheus with the rules' labels: DCGM's Hostname, gpu, UUID; efa-metrics' series" {
  wait_for 20 eval 'prom_query "DCGM_FI_DEV_GPU_UTIL" | grep -c "\"UUID\": \"GPU-rehearsal-" | grep -qx 3'
  prom_query 'node:gpu_util:avg' | grep -q '"Hostname": "ip-10-1-'
  # efa-metrics' counters for the EFA rules: one series per device, summed by Hostname.
  prom_query 'sum by (Hostname) (node_amazonefa_rdma_read_wr_err)' | grep -q "\"Hostname\": \"$(compute_nodes | head -n 1 | cut -d' ' -f2)\""
  prom_query 'node_amazonefa_unresponsive_remote_events' | grep -q '"device"'
}

@test "Alertmanager receives exactly: the straggler (warning), its resolution, then the stalled training (critical)" {
  local slow
  slow=$(compute_nodes | tail -n 1 | cut -d' ' -f2)
  wait_for 240 stall_notified
  received
  # Each distinct notification, in the order it first arrived.
  [ "$(received | awk '!seen[$0]++')" = "warning firing GpuStraggler $slow
warning resolved GpuStraggler $slow
critical firing TrainingStalled -" ]
}
