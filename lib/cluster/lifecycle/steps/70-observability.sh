#!/usr/bin/env bash
# Node metrics for Amazon Managed Service for Prometheus: node_exporter on every node, the DCGM exporter on
# GPU nodes, and an ADOT collector that scrapes them on localhost and remote-writes with SigV4 (the instance
# role). Switched by observability.remoteWriteUrl. Through node_exporter's textfile collector, from systemd timers:
# EFA hardware counters on EFA nodes (bin/efa-metrics), the Megatron-LM metrics of running jobs on compute nodes
# (bin/megatron-metrics) and Slurm's node states on the controller (bin/slurm-metrics); written once, the GPUs and
# EFA devices the node's instance type has (hyperpod_node.prom).
# Exporters and collector are containers (images from the settings) with docker's restart policy: docker
# supervises the container itself and starts it again after a reboot, where a systemd unit around
# `docker run` would only supervise the docker client. They use the host network: the collector reaches
# the exporters on 127.0.0.1, which is also the only address the exporters listen on, and the instance
# metadata service (for the role's credentials) is one hop away.
# node-types: Controller Login Compute
# class: optional
set -euo pipefail

# shellcheck source-path=SCRIPTDIR/.. source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

readonly TEXTFILE_DIR=$NODE_TEXTFILE_DIR
# The HyperPod AMI's Slurm prolog/epilog (prolog.d/700_dcgm_job_map_register.sh) write the job ID of each GPU
# here; the DCGM exporter reads it with --hpc-job-mapping-dir and labels GPU series hpc_job=<job ID>
# (NVIDIA/dcgm-exporter README, "Enabling HPC Job Mapping"; awslabs/awsome-distributed-ai observability README).
readonly DCGM_JOB_MAPPING_DIR=/run/slurm/dcgm-job-mapping
# Where the rendered configuration is mounted in the DCGM exporter and collector containers.
readonly CONTAINER_CONF_DIR=/etc/hyperpod/observability
readonly SPEC_LABEL=cdk-hyperpod-training.spec
# The collector's own metrics; bin/cluster-selfcheck queries this port.
readonly COLLECTOR_METRICS_PORT=8888

# observability_settings: the validated settings, one per line: remote-write URL, region, scrape interval,
# cluster name and the collector, node_exporter and DCGM exporter images. Nothing when not configured.
observability_settings() {
  py - "$SETTINGS_FILE" <<'PY'
import json, re, sys
path = sys.argv[1]
settings = json.load(open(path))
obs = settings.get("observability")
if not isinstance(obs, dict) or obs.get("remoteWriteUrl") is None:
    sys.exit(0)

def fail(message):
    sys.exit("%s: %s" % (path, message))

# Values end up in YAML and in docker arguments: allow only the characters they need.
url = obs["remoteWriteUrl"]
if not isinstance(url, str) or not re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~%/-]*)?", url):
    fail("observability.remoteWriteUrl must be an https:// URL (the workspace's .../api/v1/remote_write), got %r" % (url,))
region = obs.get("region")
if not isinstance(region, str) or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]+", region):
    fail("observability.region must be an AWS Region such as us-east-1, got %r" % (region,))
interval = obs.get("scrapeIntervalSeconds")
interval = 15 if interval is None else interval
if isinstance(interval, bool) or not isinstance(interval, int) or not 1 <= interval <= 3600:
    fail("observability.scrapeIntervalSeconds must be a whole number of seconds from 1 to 3600, got %r" % (interval,))
cluster = settings.get("clusterName")
if not isinstance(cluster, str) or not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", cluster):
    fail("clusterName must be a HyperPod cluster name, got %r" % (cluster,))
images = obs.get("images") if isinstance(obs.get("images"), dict) else {}
refs = []
for key in ("collector", "nodeExporter", "dcgmExporter"):
    ref = images.get(key)
    if not isinstance(ref, str) or not re.fullmatch(r"[a-z0-9][A-Za-z0-9._/:@-]*", ref):
        fail("observability.images.%s must be a container image reference, got %r" % (key, ref))
    refs.append(ref)
print("\n".join([url, region, str(interval), cluster] + refs))
PY
}

# gpu_count: NVIDIA GPUs on this node, from nvidia-smi (the DLAMI ships it on every instance type; without
# a GPU it fails), else from the device nodes.
gpu_count() {
  local count=0
  if command -v nvidia-smi >/dev/null; then
    count=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
  fi
  if ((count == 0)); then
    count=$(compgen -G "$(host_path /dev)/nvidia[0-9]*" | wc -l || true)
  fi
  echo "$count"
}

efa_port_count() {
  compgen -G "$(host_path /sys/class/infiniband)/*/ports/*/hw_counters" | wc -l || true
}

# ecr_login REGISTRY REGION: private ECR needs a token even to pull; the public registries do not.
ecr_login() {
  aws ecr get-login-password --region "$2" | docker login --username AWS --password-stdin "$1" >/dev/null
}

declare -A LOGGED_IN=()

# ensure_image IMAGE: pull IMAGE unless docker has it (re-runs and reboots need no registry).
ensure_image() {
  local image=$1 registry
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  if [[ "$image" =~ ^([0-9]{12}\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?)/ ]]; then
    registry=${BASH_REMATCH[1]}
    if [[ -z "${LOGGED_IN[$registry]:-}" ]]; then
      retry 3 5 ecr_login "$registry" "${BASH_REMATCH[3]}" ||
        die "cannot log in to $registry: the instance role needs ecr:GetAuthorizationToken"
      LOGGED_IN[$registry]=1
    fi
  fi
  retry 3 5 docker pull --quiet "$image" >/dev/null ||
    die "cannot pull $image: the node needs a route to its registry (for ECR, the ecr.api and ecr.dkr VPC" \
      "endpoints or a NAT gateway) and, for ECR, pull permission on the repository"
  log INFO "pulled $image"
}

# run_container NAME CONFIG ARGS...: `docker run ARGS` as NAME, restarted by docker from then on. NAME is
# recreated only when ARGS or the content of CONFIG (a mounted file, or "" for none) changed, or when it
# is not running: a hash of both is kept as a container label.
run_container() {
  local name=$1 config=$2 spec current
  shift 2
  spec=$({ printf '%s\0' "$@" && if [[ -n "$config" ]]; then cat "$config"; fi; } | sha256sum | cut -c1-16)
  current=$(docker inspect --format "{{index .Config.Labels \"$SPEC_LABEL\"}} {{.State.Running}}" "$name" 2>/dev/null || true)
  if [[ "$current" == "$spec true" ]]; then
    log INFO "container $name is running and up to date"
    return 0
  fi
  if [[ -n "$current" ]]; then
    log INFO "replacing container $name: its image, arguments or configuration changed, or it was stopped"
    docker rm -f "$name" >/dev/null
  fi
  docker run --detach --name "$name" --label "$SPEC_LABEL=$spec" --restart unless-stopped --network host \
    "$@" >/dev/null
  log INFO "started container $name"
}

# collector_config HOSTNAME CLUSTER URL REGION INTERVAL GPUS: the ADOT collector's configuration. The
# labels go in as the exporter's external labels: they reach every series (up included) and never overwrite
# a label a series already has, so the DCGM exporter's own Hostname stays. Metric names pass through
# unchanged (add_metric_suffixes: false): the alert rules query the exporters' names.
# service.telemetry: the collector's own metrics (otelcol_exporter_sent_metric_points...) on 127.0.0.1:8888, where
# cluster-selfcheck reads them. Set, not left to the default, in the `readers` form: `metrics.address` is deprecated
# since collector v0.111 (open-telemetry/opentelemetry-collector#11205), ignored from v0.123 and rejected from
# v0.128 (GoogleCloudPlatform/opentelemetry-operations-collector#341); ADOT v0.43.1 is collector v0.117
# (aws-otel-collector docs/releases/v0.43.0.md) and HyperPod's otel_collector image is newer: both read `readers`.
collector_config() {
  local host=$1 cluster=$2 url=$3 region=$4 interval=$5 gpus=$6 job jobs=(node:9100)
  if ((gpus > 0)); then jobs+=(dcgm:9400); fi
  cat <<YAML
# ADOT collector for this node, from cluster-settings.json. Generated by 70-observability; do not edit.
extensions:
  sigv4auth:
    region: "$region"
    service: aps
receivers:
  prometheus:
    config:
      global:
        scrape_interval: ${interval}s
        scrape_timeout: $((interval < 10 ? interval : 10))s
      scrape_configs:
$(for job in "${jobs[@]}"; do
    printf '        - job_name: %s\n          static_configs:\n            - targets: ["localhost:%s"]\n' "${job%:*}" "${job#*:}"
  done)
processors:
  batch: {}
exporters:
  prometheusremotewrite:
    endpoint: "$url"
    auth:
      authenticator: sigv4auth
    add_metric_suffixes: false
    target_info:
      enabled: false
    external_labels:
      Hostname: "$host"
      cluster: "$cluster"
service:
  telemetry:
    metrics:
      level: basic
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: $COLLECTOR_METRICS_PORT
  extensions: [sigv4auth]
  pipelines:
    metrics:
      receivers: [prometheus]
      processors: [batch]
      exporters: [prometheusremotewrite]
YAML
}

# textfile_timer NAME NODE_TYPES DESCRIPTION ARGS...: on a node whose type is one of NODE_TYPES, install bin/NAME and
# run `NAME ARGS...` every SCRAPE_INTERVAL seconds (lib.sh's periodic_service), for node_exporter's textfile collector.
textfile_timer() {
  local name=$1 types=$2 description=$3
  shift 3
  if [[ " $types " != *" $NODE_TYPE "* ]]; then
    log INFO "$name runs on $types nodes only"
    return 0
  fi
  install_file "$LIFECYCLE_DIR/bin/$name" "$BIN_DIR/$name" 0755
  periodic_service "$name" "$SCRAPE_INTERVAL" "$description" "$BIN_DIR/$name $*"
  TEXTFILE_TIMERS+=("$name")
}

# instance_type GROUP: the instance type of GROUP, from HyperPod's resource_config.json; empty when not listed.
instance_type() {
  py - "$SAGEMAKER_RESOURCE_CONFIG_PATH" "$1" <<'PY'
import json, sys
for group in json.load(open(sys.argv[1])).get("InstanceGroups", []):
    if group.get("Name") == sys.argv[2]:
        print(group.get("InstanceType") or "")
        break
PY
}

# expected_devices INSTANCE_TYPE: "GPUS EFA_DEVICES" of the type: the NVIDIA GPUs the DCGM exporter should list and
# the EFA devices efa-metrics should count. From the project's catalogue, lib/catalog/hyperpod-instance-types.ts
# (observability.bats checks that they agree). Trainium's Neuron devices are no
# GPUs to DCGM: 0. Nothing for a type the catalogue does not know.
expected_devices() {
  case "$1" in
    ml.p4d.24xlarge | ml.p4de.24xlarge | ml.g6e.48xlarge) echo "8 4" ;;
    ml.p5.48xlarge | ml.p5e.48xlarge) echo "8 32" ;;
    ml.p5en.48xlarge) echo "8 16" ;;
    ml.p6-b200.48xlarge) echo "8 8" ;;
    ml.g5.48xlarge) echo "8 1" ;;
    ml.g5.12xlarge | ml.g5.24xlarge | ml.g6e.12xlarge) echo "4 1" ;;
    ml.g6e.24xlarge) echo "4 2" ;;
    ml.g5.8xlarge | ml.g5.16xlarge) echo "1 1" ;;
    ml.g5.xlarge | ml.g5.2xlarge | ml.g5.4xlarge) echo "1 0" ;;
    ml.trn1.32xlarge) echo "0 8" ;;
    ml.trn1n.32xlarge | ml.trn2.48xlarge) echo "0 16" ;;
    ml.m5.* | ml.c5.* | ml.t3.*) echo "0 0" ;;
  esac
}

# expected_devices_metrics GROUP: hyperpod_node_expected_gpus and hyperpod_node_expected_efa_devices for this
# node's instance type, written once (hyperpod_node.prom): the GpusMissing and EfaDevicesMissing alerts compare
# what the exporters report with them. The type, not what the node has at boot: a GPU already missing then counts.
expected_devices_metrics() {
  local type devices=""
  type=$(instance_type "$1")
  # The type becomes a label value: only a well-formed name is looked up.
  if [[ "$type" =~ ^ml\.[a-z0-9-]+\.[a-z0-9]+$ ]]; then devices=$(expected_devices "$type"); fi
  if [[ -z "$devices" ]]; then
    log WARN "instance type '$type' of group $1 is not in the catalogue: no expected GPU and EFA device counts"
    return 0
  fi
  install_content "$(host_path "$TEXTFILE_DIR")/hyperpod_node.prom" 0644 <<PROM
# HELP hyperpod_node_expected_gpus NVIDIA GPUs this node's instance type has.
# TYPE hyperpod_node_expected_gpus gauge
hyperpod_node_expected_gpus{instance_type="$type"} ${devices% *}
# HELP hyperpod_node_expected_efa_devices EFA devices this node's instance type has.
# TYPE hyperpod_node_expected_efa_devices gauge
hyperpod_node_expected_efa_devices{instance_type="$type"} ${devices#* }
PROM
}

# This node's type (Controller, Login, Compute), the scrape interval and the timers installed: set by main.
NODE_TYPE=""
SCRAPE_INTERVAL=""
TEXTFILE_TIMERS=()

main() {
  local values url region interval cluster collector_image node_image dcgm_image host gpus efa_ports group
  local conf_dir="$ETC_DIR/hyperpod/observability" textfile_dir summary
  values=$(observability_settings)
  if [[ -z "$values" ]]; then
    log INFO "observability is not configured"
    return 0
  fi
  {
    read -r url
    read -r region
    read -r interval
    read -r cluster
    read -r collector_image
    read -r node_image
    read -r dcgm_image
  } <<<"$values"
  command -v docker >/dev/null ||
    die "docker is not installed; observability runs its exporters and collector as containers." \
      "Use the HyperPod DLAMI or remove observability from the settings."
  systemctl is-active --quiet docker.service || systemctl start docker.service
  host=$(hostname -s)
  group=$(node_group)
  NODE_TYPE=$(node_type "$group")
  SCRAPE_INTERVAL=$interval
  gpus=$(gpu_count)
  efa_ports=$(efa_port_count)
  textfile_dir=$(host_path "$TEXTFILE_DIR")
  mkdir -p "$textfile_dir"
  chmod 0755 "$textfile_dir"
  expected_devices_metrics "$group"

  ensure_image "$node_image"
  run_container hyperpod-node-exporter "" --pid host --volume "$(host_path /):/host:ro,rslave" "$node_image" \
    --path.rootfs=/host --web.listen-address=127.0.0.1:9100 --collector.textfile.directory="/host$TEXTFILE_DIR"
  summary="node_exporter"

  if ((gpus > 0)); then
    install_file "$LIFECYCLE_DIR/observability/dcgm-metrics.csv" "$conf_dir/dcgm-metrics.csv" 0644
    ensure_image "$dcgm_image"
    # SYS_ADMIN: the profiling fields (SM and tensor activity). NODE_NAME: the exporter's Hostname label,
    # the same value the collector adds to every other series. -c: sample as often as the collector scrapes.
    # /run is a tmpfs: the mapping directory is created again now and, by docker, when the container restarts.
    mkdir -p "$(host_path "$DCGM_JOB_MAPPING_DIR")"
    run_container hyperpod-dcgm-exporter "$conf_dir/dcgm-metrics.csv" --gpus all --cap-add SYS_ADMIN \
      --env "NODE_NAME=$host" --volume "$conf_dir:$CONTAINER_CONF_DIR:ro" \
      --volume "$DCGM_JOB_MAPPING_DIR:$DCGM_JOB_MAPPING_DIR:ro" "$dcgm_image" \
      -f "$CONTAINER_CONF_DIR/dcgm-metrics.csv" -a 127.0.0.1:9400 -c "$((interval * 1000))" \
      --hpc-job-mapping-dir "$DCGM_JOB_MAPPING_DIR"
    summary+=", DCGM exporter ($gpus GPUs)"
  else
    log INFO "no NVIDIA GPU on this node; no DCGM exporter"
  fi

  if ((efa_ports > 0)); then
    textfile_timer efa-metrics "Controller Login Compute" \
      "Write EFA hardware counters for node_exporter's textfile collector" \
      -s "$(host_path /sys/class/infiniband)" -o "$textfile_dir/efa.prom"
    summary+=", EFA counters ($efa_ports ports)"
  else
    log INFO "no EFA device on this node; no EFA counters"
  fi
  # Each job is reported by its batch host (see bin/megatron-metrics), so every compute node runs the timer.
  textfile_timer megatron-metrics Compute "Write the Megatron-LM metrics of the jobs whose batch host this is" \
    -d "$textfile_dir" -s "$(host_path /run/megatron-metrics)"
  textfile_timer slurm-metrics Controller "Write Slurm's node states and slurmctld's health" \
    -o "$textfile_dir/slurm.prom"
  summary+=", textfile timers: ${TEXTFILE_TIMERS[*]:-none}"

  install_content "$conf_dir/collector.yaml" 0644 <<<"$(collector_config "$host" "$cluster" "$url" "$region" "$interval" "$gpus")"
  ensure_image "$collector_image"
  run_container hyperpod-otel-collector "$conf_dir/collector.yaml" \
    --volume "$conf_dir:$CONTAINER_CONF_DIR:ro" "$collector_image" --config="$CONTAINER_CONF_DIR/collector.yaml"
  log INFO "observability: $summary, scraped every ${interval}s and written to $url as Hostname=$host cluster=$cluster"
}

main "$@"
