#!/usr/bin/env bats
# steps/70-observability.sh and bin/efa-metrics: exporters and collector as containers, the collector's
# configuration, GPU and EFA detection, EFA counters in Prometheus text format, the textfile timers of each node
# type (bin/megatron-metrics and bin/slurm-metrics have their own tests) and the devices the instance type has.

load test_helper

URL=https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-123/api/v1/remote_write
NODE_IMAGE=quay.io/prometheus/node-exporter:v1.8.2
DCGM_IMAGE=nvcr.io/nvidia/k8s/dcgm-exporter:3.3.9-3.6.1-ubuntu22.04
COLLECTOR_IMAGE=public.ecr.aws/aws-observability/aws-otel-collector:v0.43.1

setup() {
  setup_node
  cp "$FIXTURES/cluster-settings-monitoring.json" "$SETTINGS_FILE"
  CONF_DIR="$PROVISION_ROOT/etc/hyperpod/observability"
  UNITS="$PROVISION_ROOT/etc/systemd/system"
}

# gpu_efa_node: a P5-like node: 8 GPUs (nvidia-smi lists them) and two EFA devices.
gpu_efa_node() {
  export STUB_GPUS=8
  mkdir -p "$PROVISION_ROOT/sys/class"
  cp -r "$FIXTURES/sys/class/infiniband" "$PROVISION_ROOT/sys/class/"
}

# controller_node, login_node: the sandbox node is the controller (10.1.0.10) or the login node (10.1.0.20) of
# resource_config.json, instead of a compute node.
controller_node() {
  export STUB_HOST_IPS=10.1.0.10 STUB_HOSTNAME=ip-10-1-0-10
}
login_node() {
  export STUB_HOST_IPS=10.1.0.20 STUB_HOSTNAME=ip-10-1-0-20
}

# set_instance_type GROUP TYPE: GROUP's instance type in the sandbox's resource_config.json.
set_instance_type() {
  python3 - "$PROVISION_ROOT/opt/ml/config/resource_config.json" "$1" "$2" <<'PY'
import json, sys
path, name, instance_type = sys.argv[1:]
config = json.load(open(path))
for group in config["InstanceGroups"]:
    if group["Name"] == name:
        group["InstanceType"] = instance_type
json.dump(config, open(path, "w"), indent=2)
PY
}

# docker_run NAME: the recorded `docker run` of container NAME.
docker_run() {
  calls docker | grep "^docker run .*--name $1 " || true
}

@test "does nothing when observability is not configured" {
  set_setting observability null
  run_step 70-observability
  [ "$status" -eq 0 ]
  [[ "$output" == *"observability is not configured"* ]]
  set_setting observability DELETE
  run_step 70-observability
  [ "$status" -eq 0 ]
  [[ "$output" == *"observability is not configured"* ]]
  [ ! -s "$STUB_CALLS" ]
  [ ! -e "$CONF_DIR" ]
}

@test "renders the collector configuration from the settings, with the node's labels" {
  gpu_efa_node
  run_step 70-observability
  [ "$status" -eq 0 ]
  diff "$FIXTURES/collector-gpu.yaml" "$CONF_DIR/collector.yaml"
  [ "$(stat -c %a "$CONF_DIR/collector.yaml")" = 644 ]
  [[ "$output" == *"scraped every 15s and written to $URL as Hostname=ip-10-1-38-128 cluster=swallow-70b"* ]]
}

# telemetry_block FILE: the collector configuration's service.telemetry section.
telemetry_block() {
  sed -n '/^service:$/,$p' "$1" | sed -n '/^  telemetry:$/,/^  [a-z]/p' | sed '$d'
}

@test "the collector serves its own metrics on 127.0.0.1:8888, where cluster-selfcheck reads them" {
  run_step 70-observability
  [ "$status" -eq 0 ]
  local expected='  telemetry:
    metrics:
      level: basic
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: 8888'
  [ "$(telemetry_block "$CONF_DIR/collector.yaml")" = "$expected" ]
  [ "$(telemetry_block "$FIXTURES/collector-gpu.yaml")" = "$expected" ]
  # metrics.address is rejected by collectors from v0.128 on: the collector would not start.
  [ -z "$(grep -E '^ +address:' "$CONF_DIR/collector.yaml")" ]
  grep -qF 'curl -sf -m 5 http://127.0.0.1:8888/metrics' "$LIFECYCLE_SRC/bin/cluster-selfcheck"
}

@test "runs node_exporter, the DCGM exporter and the collector as restarting host-network containers" {
  gpu_efa_node
  run_step 70-observability
  [ "$status" -eq 0 ]
  [ "$(calls docker | grep -c '^docker pull')" -eq 3 ]
  local common="--restart unless-stopped --network host"
  [[ "$(docker_run hyperpod-node-exporter)" == *"$common --pid host --volume $PROVISION_ROOT/:/host:ro,rslave $NODE_IMAGE --path.rootfs=/host --web.listen-address=127.0.0.1:9100 --collector.textfile.directory=/host/var/lib/node_exporter/textfile" ]]
  [[ "$(docker_run hyperpod-dcgm-exporter)" == *"$common --gpus all --cap-add SYS_ADMIN --env NODE_NAME=ip-10-1-38-128 --volume $CONF_DIR:/etc/hyperpod/observability:ro --volume /run/slurm/dcgm-job-mapping:/run/slurm/dcgm-job-mapping:ro $DCGM_IMAGE -f /etc/hyperpod/observability/dcgm-metrics.csv -a 127.0.0.1:9400 -c 15000 --hpc-job-mapping-dir /run/slurm/dcgm-job-mapping" ]]
  # The HyperPod AMI's prolog writes the GPU-to-job map there: GPU series carry hpc_job.
  [ -d "$PROVISION_ROOT/run/slurm/dcgm-job-mapping" ]
  [[ "$(docker_run hyperpod-otel-collector)" == *"$common --volume $CONF_DIR:/etc/hyperpod/observability:ro $COLLECTOR_IMAGE --config=/etc/hyperpod/observability/collector.yaml" ]]
  # Exporters first, so the collector's first scrape finds them.
  [ "$(calls docker | grep '^docker run' | sed 's/.*--name \([^ ]*\) .*/\1/' | tr '\n' ' ')" = "hyperpod-node-exporter hyperpod-dcgm-exporter hyperpod-otel-collector " ]
  cmp -s "$LIFECYCLE_SRC/observability/dcgm-metrics.csv" "$CONF_DIR/dcgm-metrics.csv"
  [ "$(stat -c %a "$PROVISION_ROOT/var/lib/node_exporter/textfile")" = 755 ]
}

@test "ships the DCGM fields the alert rules and dashboards read" {
  local csv="$LIFECYCLE_SRC/observability/dcgm-metrics.csv" field
  for field in $(grep -ohE 'DCGM_FI_[A-Z0-9_]+' "$LIFECYCLE_SRC/../../observability/rules/training-alerts.yaml" \
    "$LIFECYCLE_SRC"/../../observability/dashboards/*.json | sort -u); do
    grep -qE "^$field," "$csv" || {
      echo "missing $field"
      return 1
    }
  done
  grep -qE '^DCGM_FI_DEV_THERMAL_VIOLATION, +counter,' "$csv"
}

@test "on an EFA node, installs efa-metrics and a systemd timer at the scrape interval" {
  gpu_efa_node
  run_step 70-observability
  [ "$status" -eq 0 ]
  [ -x "$PROVISION_ROOT/usr/local/bin/efa-metrics" ]
  grep -qxF "ExecStart=$PROVISION_ROOT/usr/local/bin/efa-metrics -s $PROVISION_ROOT/sys/class/infiniband -o $PROVISION_ROOT/var/lib/node_exporter/textfile/efa.prom" \
    "$UNITS/efa-metrics.service"
  grep -qx 'OnUnitActiveSec=15s' "$UNITS/efa-metrics.timer"
  grep -qx 'AccuracySec=1s' "$UNITS/efa-metrics.timer"
  [ "$(calls systemctl | grep -v 'is-active --quiet docker' | grep -B1 'efa-metrics' | tr '\n' ';')" = "systemctl daemon-reload;systemctl enable efa-metrics.timer;systemctl restart efa-metrics.timer;" ]
  [[ "$output" == *"DCGM exporter (8 GPUs), EFA counters (2 ports), textfile timers: efa-metrics megatron-metrics, scraped every 15s"* ]]
}

@test "compute nodes run megatron-metrics, the controller slurm-metrics, login nodes neither" {
  local textfile="$PROVISION_ROOT/var/lib/node_exporter/textfile" bin="$PROVISION_ROOT/usr/local/bin"
  run_step 70-observability
  [ "$status" -eq 0 ]
  [ -x "$bin/megatron-metrics" ]
  grep -qxF "ExecStart=$bin/megatron-metrics -d $textfile -s $PROVISION_ROOT/run/megatron-metrics" "$UNITS/megatron-metrics.service"
  grep -qx 'OnUnitActiveSec=15s' "$UNITS/megatron-metrics.timer"
  [ "$(calls systemctl | grep -c 'restart megatron-metrics.timer')" -eq 1 ]
  [ ! -e "$UNITS/slurm-metrics.timer" ]
  [[ "$output" == *"slurm-metrics runs on Controller nodes only"* ]]

  rm -rf "$UNITS" "$bin"
  controller_node
  run_step 70-observability
  [ "$status" -eq 0 ]
  [ -x "$bin/slurm-metrics" ]
  grep -qxF "ExecStart=$bin/slurm-metrics -o $textfile/slurm.prom" "$UNITS/slurm-metrics.service"
  grep -qx 'AccuracySec=1s' "$UNITS/slurm-metrics.timer"
  [ ! -e "$UNITS/megatron-metrics.timer" ]
  [[ "$output" == *"textfile timers: slurm-metrics, scraped every"* ]]

  rm -rf "$UNITS" "$bin"
  login_node
  run_step 70-observability
  [ "$status" -eq 0 ]
  [ -z "$(ls "$UNITS" 2>/dev/null)" ]
  [[ "$output" == *"textfile timers: none, scraped every"* ]]
}

@test "a stopped textfile timer is started again, its units left as they are" {
  run_step 70-observability
  : >"$STUB_CALLS"
  STUB_ACTIVE_UNITS="docker.service" run_step 70-observability
  [ "$status" -eq 0 ]
  [ "$(calls systemctl | grep megatron-metrics | tr '\n' ';')" = "systemctl is-active --quiet megatron-metrics.timer;systemctl enable --now megatron-metrics.timer;" ]
  [ -z "$(calls systemctl | grep daemon-reload)" ]
}

@test "writes the GPUs and EFA devices the node's instance type has, once" {
  local prom="$PROVISION_ROOT/var/lib/node_exporter/textfile/hyperpod_node.prom"
  run_step 70-observability
  [ "$status" -eq 0 ]
  [ "$(grep -v '^#' "$prom")" = 'hyperpod_node_expected_gpus{instance_type="ml.p5.48xlarge"} 8
hyperpod_node_expected_efa_devices{instance_type="ml.p5.48xlarge"} 32' ]
  [ "$(stat -c %a "$prom")" = 644 ]
  if command -v promtool >/dev/null; then promtool check metrics <"$prom"; fi
  # A CPU controller expects none: the alerts stay silent there.
  controller_node
  run_step 70-observability
  [ "$(grep -v '^#' "$prom")" = 'hyperpod_node_expected_gpus{instance_type="ml.m5.xlarge"} 0
hyperpod_node_expected_efa_devices{instance_type="ml.m5.xlarge"} 0' ]
}

@test "an instance type the catalogue does not know gets no expected device counts" {
  set_instance_type Compute ml.p9.96xlarge
  run_step 70-observability
  [ "$status" -eq 0 ]
  [[ "$output" == *"instance type 'ml.p9.96xlarge' of group Compute is not in the catalogue"* ]]
  [ ! -e "$PROVISION_ROOT/var/lib/node_exporter/textfile/hyperpod_node.prom" ]
  set_instance_type Compute 'ml.p5.48xlarge"} 1'
  run_step 70-observability
  [ ! -e "$PROVISION_ROOT/var/lib/node_exporter/textfile/hyperpod_node.prom" ]
}

@test "the expected device counts are those of the project's instance catalogue" {
  local root="$LIFECYCLE_SRC/../../.." name gpus efa family size checked=0
  # shellcheck source=/dev/null
  source <(sed -n '/^expected_devices() {/,/^}/p' "$LIFECYCLE_SRC/steps/70-observability.sh")
  # The catalogue's GPU types (HYPERPOD_GPU_INSTANCES): instance('ml.p5.48xlarge', GpuType.H100_80GB, 8, 32, ...).
  while read -r name gpus efa; do
    [ "$(expected_devices "$name")" = "$gpus $efa" ] || {
      echo "$name: '$(expected_devices "$name")', the catalogue says '$gpus $efa'"
      return 1
    }
    checked=$((checked + 1))
  done < <(sed -nE "s/.*instance\('(ml\.[^']+)', GpuType\.[A-Z0-9_]+, ([0-9]+), ([0-9]+),.*/\1 \2 \3/p" "$root/lib/catalog/hyperpod-instance-types.ts")
  # The other accelerated types: accelerated('ml.trn1.32xlarge', 16, 8). Neuron devices are no GPUs to DCGM.
  while read -r name gpus efa; do
    if [[ "$name" == ml.trn* ]]; then gpus=0; fi
    [ "$(expected_devices "$name")" = "$gpus $efa" ] || {
      echo "$name: '$(expected_devices "$name")', the catalogue says '$gpus $efa'"
      return 1
    }
    checked=$((checked + 1))
  done < <(grep -oE "accelerated\('ml\.[^']+', [0-9]+, [0-9]+\)" "$root/lib/catalog/hyperpod-instance-types.ts" |
    sed -E "s/accelerated\('([^']+)', ([0-9]+), ([0-9]+)\)/\1 \2 \3/")
  # CPU types: cpu(`ml.m5.${size}`) for each of M5_SIZES, cpu('ml.t3.medium'), ...
  for family in M5 C5; do
    for size in $(sed -n "s/^const ${family}_SIZES = \[\(.*\)\];/\1/p" "$root/lib/catalog/hyperpod-instance-types.ts" | tr -d "',"); do
      [ "$(expected_devices "ml.${family,,}.$size")" = "0 0" ]
      checked=$((checked + 1))
    done
  done
  for name in $(grep -oE "cpu\('ml\.[^']+'\)" "$root/lib/catalog/hyperpod-instance-types.ts" | sed -E "s/cpu\('([^']+)'\)/\1/"); do
    [ "$(expected_devices "$name")" = "0 0" ]
    checked=$((checked + 1))
  done
  [ "$checked" -ge 40 ]
}

@test "a node without GPUs or EFA gets no DCGM exporter and no EFA counters" {
  run_step 70-observability
  [ "$status" -eq 0 ]
  [[ "$output" == *"no NVIDIA GPU on this node; no DCGM exporter"* ]]
  [[ "$output" == *"no EFA device on this node; no EFA counters"* ]]
  [ -n "$(docker_run hyperpod-node-exporter)" ]
  [ -n "$(docker_run hyperpod-otel-collector)" ]
  [ -z "$(docker_run hyperpod-dcgm-exporter)" ]
  [ -z "$(calls docker | grep "$DCGM_IMAGE")" ]
  [ -z "$(grep -F dcgm "$CONF_DIR/collector.yaml")" ]
  grep -qF 'targets: ["localhost:9100"]' "$CONF_DIR/collector.yaml"
  [ ! -e "$CONF_DIR/dcgm-metrics.csv" ]
  [ ! -e "$UNITS/efa-metrics.timer" ]
  [ -z "$(calls systemctl | grep efa-metrics)" ]
}

@test "finds GPUs from /dev/nvidia* when nvidia-smi lists none" {
  mkdir -p "$PROVISION_ROOT/dev"
  touch "$PROVISION_ROOT/dev/nvidia0" "$PROVISION_ROOT/dev/nvidia1" "$PROVISION_ROOT/dev/nvidiactl"
  run_step 70-observability
  [ "$status" -eq 0 ]
  [[ "$output" == *"DCGM exporter (2 GPUs)"* ]]
  grep -qF 'targets: ["localhost:9400"]' "$CONF_DIR/collector.yaml"
}

@test "running twice changes nothing and restarts nothing" {
  gpu_efa_node
  run_step 70-observability
  [ "$status" -eq 0 ]
  local before
  before=$(snapshot "$PROVISION_ROOT")
  : >"$STUB_CALLS"
  run_step 70-observability
  [ "$status" -eq 0 ]
  [ "$(snapshot "$PROVISION_ROOT")" = "$before" ]
  [ -z "$(calls docker | grep -E '^docker (run|rm|pull)')" ]
  [ -z "$(calls systemctl | grep -E 'restart|daemon-reload')" ]
  [ "$(grep -c 'is running and up to date' <<<"$output")" -eq 3 ]
}

@test "a new scrape interval recreates only what uses it" {
  gpu_efa_node
  run_step 70-observability
  set_setting observability.scrapeIntervalSeconds 5
  : >"$STUB_CALLS"
  run_step 70-observability
  [ "$status" -eq 0 ]
  # The collector's timeout may not exceed its interval.
  grep -qx '        scrape_interval: 5s' "$CONF_DIR/collector.yaml"
  grep -qx '        scrape_timeout: 5s' "$CONF_DIR/collector.yaml"
  [ "$(calls docker | grep -c '^docker rm -f')" -eq 2 ]
  [[ "$(docker_run hyperpod-dcgm-exporter)" == *" -c 5000 --hpc-job-mapping-dir /run/slurm/dcgm-job-mapping" ]]
  [ -n "$(docker_run hyperpod-otel-collector)" ]
  [ -z "$(calls docker | grep hyperpod-node-exporter | grep -E '^docker (rm|run)')" ]
  grep -qx 'OnUnitActiveSec=5s' "$UNITS/efa-metrics.timer"
  [ "$(calls systemctl | grep -c 'restart efa-metrics.timer')" -eq 1 ]
}

@test "logs in to a private ECR registry once before pulling its images" {
  local registry=111122223333.dkr.ecr.us-west-2.amazonaws.com
  set_setting observability.images.nodeExporter "\"$registry/node-exporter:v1.8.2\""
  set_setting observability.images.collector "\"$registry/aws-otel-collector:v0.43.1\""
  run_step 70-observability
  [ "$status" -eq 0 ]
  [ "$(calls aws)" = "aws ecr get-login-password --region us-west-2" ]
  [ "$(calls docker | grep '^docker login')" = "docker login --username AWS --password-stdin $registry" ]
  [ "$(calls docker | grep -c "^docker pull --quiet $registry/")" -eq 2 ]
}

@test "fails naming the image when it cannot be pulled" {
  STUB_DOCKER_PULL_FAIL='node-exporter*' run_step 70-observability
  [ "$status" -eq 1 ]
  [[ "$output" == *"cannot pull $NODE_IMAGE: the node needs a route to its registry"* ]]
  [ "$(calls docker | grep -c '^docker pull')" -eq 3 ]
  [ -z "$(calls docker | grep '^docker run')" ]
}

@test "rejects settings it cannot use" {
  set_setting observability.remoteWriteUrl '"http://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-123/api/v1/remote_write"'
  run_step 70-observability
  [ "$status" -ne 0 ]
  [[ "$output" == *"observability.remoteWriteUrl must be an https:// URL"* ]]
  cp "$FIXTURES/cluster-settings-monitoring.json" "$SETTINGS_FILE"
  set_setting observability.images.dcgmExporter null
  run_step 70-observability
  [ "$status" -ne 0 ]
  [[ "$output" == *"observability.images.dcgmExporter must be a container image reference, got None"* ]]
  cp "$FIXTURES/cluster-settings-monitoring.json" "$SETTINGS_FILE"
  set_setting observability.scrapeIntervalSeconds 0
  run_step 70-observability
  [ "$status" -ne 0 ]
  [[ "$output" == *"scrapeIntervalSeconds must be a whole number of seconds from 1 to 3600, got 0"* ]]
  [ -z "$(calls docker)" ]
}

@test "efa-metrics prints every counter of every device and port in Prometheus text format" {
  run bash "$LIFECYCLE_SRC/bin/efa-metrics" -s "$FIXTURES/sys/class/infiniband"
  [ "$status" -eq 0 ]
  [ "$output" = "$(cat "$FIXTURES/efa-metrics.prom")" ]
  # rdmap32s27 is an older device without the SRD counters: its other counters are still there.
  [[ "$output" == *'node_amazonefa_rx_drops{device="rdmap32s27",port="1"} 5'* ]]
  [[ "$output" != *"lifespan"* ]]
}

@test "efa-metrics output passes promtool check metrics, apart from the names the alert rules require" {
  run bash -c 'promtool check metrics <"$1" 2>&1' _ "$FIXTURES/efa-metrics.prom"
  # Exit 3: lint findings only (a parse error exits 1). The only findings are the missing _total suffixes.
  [ "$status" -eq 3 ]
  [ -z "$(grep -v 'counter metrics should have "_total" suffix' <<<"$output")" ]
}

@test "efa-metrics replaces its output file atomically, readable by node_exporter" {
  local out="$SANDBOX/textfile/efa.prom"
  mkdir -p "$SANDBOX/textfile"
  echo "stale" >"$out"
  run bash "$LIFECYCLE_SRC/bin/efa-metrics" -s "$FIXTURES/sys/class/infiniband" -o "$out"
  [ "$status" -eq 0 ]
  cmp -s "$FIXTURES/efa-metrics.prom" "$out"
  [ "$(stat -c %a "$out")" = 644 ]
  [ "$(ls "$SANDBOX/textfile")" = efa.prom ]
  run bash "$LIFECYCLE_SRC/bin/efa-metrics" -x
  [ "$status" -eq 2 ]
}
