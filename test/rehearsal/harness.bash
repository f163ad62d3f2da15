#!/usr/bin/env bash
# The rehearsal cluster: munge, slurmctld and one slurmd per compute node, node_exporter per compute node with the
# textfile collector, Prometheus with the project's rules, Alertmanager with the project's route tree, and a webhook
# that records what Alertmanager sends. Sourced by inside.sh (which starts it) and by every rehearsal test (which
# use its helpers). Runs inside the namespaces run.sh creates: loopback, ports and mounts are private.
# Layout (REHEARSAL_ROOT, a mktemp -d directory):
#   node/          PROVISION_ROOT of the controller: node/opt/slurm/etc (slurm.conf, prolog.d, epilog.d),
#                  node/opt/ml/config/resource_config.json, node/fsx, node/etc, node/usr/local/bin
#   compute/<node>/  PROVISION_ROOT of each compute node: its own copy of slurm.conf, the AMI's pyxis, the same
#                  resource_config.json, fsx (node/fsx bind-mounted: one shared file system), and
#                  var/lib/node_exporter/textfile, the directory of its node_exporter
#   render/        what the constructs render (render.ts)
#   slurm/ munge/ prometheus/ alertmanager/ webhook/ exporters/   daemon state and logs
#   stubs/         the process-boundary stubs on PATH; calls/ what they were asked
set -euo pipefail

: "${REHEARSAL_ROOT:?REHEARSAL_ROOT is not set: run test/rehearsal/run.sh}"
REHEARSAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$REHEARSAL_DIR/../.." && pwd)
# The lifecycle entry point HyperPod runs on each node, relative to the scripts' directory; one variable so that it
# can move.
: "${LIFECYCLE_ENTRY_POINT:=on_init_complete.sh}"
# The node's copy of the lifecycle scripts, as HyperPod downloads the construct's S3 prefix: the package's
# lib/cluster/lifecycle, cluster-settings.json next to it and the launch script the reference app adds to jobs/.
LIFECYCLE_DIR=$REHEARSAL_ROOT/lifecycle

readonly CONTROLLER_NAME=ip-10-1-0-10 CONTROLLER_ADDR=10.1.0.10
# shellcheck disable=SC2034 # used by inside.sh
readonly FSX_ADDR=10.1.0.50
readonly SLURMCTLD_PORT=6817 SLURMD_BASE_PORT=6820 PROMETHEUS_PORT=9090 ALERTMANAGER_PORT=9093 WEBHOOK_PORT=9099
readonly EXPORTER_BASE_PORT=9110

NODE_ROOT=$REHEARSAL_ROOT/node
SLURM_ETC=$NODE_ROOT/opt/slurm/etc
export SLURM_CONF=$SLURM_ETC/slurm.conf
RENDER_DIR=$REHEARSAL_ROOT/render
CALLS_DIR=$REHEARSAL_ROOT/calls
STUBS_DIR=$REHEARSAL_ROOT/stubs
export PATH="$STUBS_DIR:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The path overrides of lib/cluster/lifecycle/lib.sh, as the bats tests use them.
export PROVISION_ROOT=$NODE_ROOT
SETTINGS_FILE=$LIFECYCLE_DIR/cluster-settings.json
export SAGEMAKER_RESOURCE_CONFIG_PATH=$NODE_ROOT/opt/ml/config/resource_config.json
export PROVISION_NETWORK_ATTEMPTS=2 PROVISION_NETWORK_DELAY=1 PROVISION_FSX_ATTEMPTS=2 PROVISION_FSX_DELAY=1

log() { printf 'rehearsal: %s\n' "$*" >&2; }
fail() {
  log "FAILED: $*"
  return 1
}

# wait_for SECONDS COMMAND...: run COMMAND every 0.2 s until it succeeds; fail after SECONDS.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "timed out waiting for: $*" || return 1
    sleep 0.2
  done
}

# compute_nodes: the compute node names (ip-a-b-c-d), one per line; compute_addr NAME: its address.
compute_nodes() { cat "$REHEARSAL_ROOT/compute-nodes"; }
compute_addr() { local n=${1#ip-}; echo "${n//-/.}"; }
# compute_root NAME: compute node NAME's PROVISION_ROOT; textfile_dir NAME: its node_exporter's textfile directory.
compute_root() { echo "$REHEARSAL_ROOT/compute/$1"; }
textfile_dir() { echo "$REHEARSAL_ROOT/compute/$1/var/lib/node_exporter/textfile"; }

# --- starting ---------------------------------------------------------------------------------------------------

# start_daemon NAME COMMAND...: COMMAND in the background, output in logs/NAME.log, pid in pids/NAME.
start_daemon() {
  local name=$1
  shift
  "$@" >>"$REHEARSAL_ROOT/logs/$name.log" 2>&1 &
  echo $! >"$REHEARSAL_ROOT/pids/$name"
}

stop_daemon() {
  local pid
  pid=$(cat "$REHEARSAL_ROOT/pids/$1" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$REHEARSAL_ROOT/pids/$1"
}

daemon_running() { kill -0 "$(cat "$REHEARSAL_ROOT/pids/$1" 2>/dev/null)" 2>/dev/null; }

# The node layout HyperPod gives the lifecycle scripts: resource_config.json with the groups and their addresses, and
# each compute instance's EC2 network nodes as HyperPod labels them (InstanceLabel.network-node-layer-N, see
# lib/cluster/lifecycle/bin/slurm-topology), as on an instance type with EC2 topology: the first two compute nodes
# under one leaf (layer 3), the others under a second one, all under one layer-2 node and one spine (layer 1).
write_resource_config() {
  python3 - "$RENDER_DIR/groups.json" "$SAGEMAKER_RESOURCE_CONFIG_PATH" "$CONTROLLER_ADDR" "$REHEARSAL_ROOT/compute-nodes" \
    "$(jq_settings clusterName)" <<'PY'
import json, sys
groups, out, controller, nodes_file, cluster = sys.argv[1:6]
config = {"ClusterConfig": {"ClusterArn": "arn:aws:sagemaker:us-east-1:111122223333:cluster/rehearsal", "ClusterName": cluster},
          "InstanceGroups": []}
names, n = [], 0
for group in json.load(open(groups)):
    instances = []
    for i in range(group["count"]):
        if group["nodeType"] == "Controller":
            address = controller
        else:
            n += 1
            address = "10.1.%d.%d" % (31 + n, 100 + n)
            if group["nodeType"] == "Compute":
                names.append((group["name"], "ip-" + address.replace(".", "-")))
        instance = {"CustomerIpAddress": address, "InstanceId": "i-%017x" % (len(names) + i),
                    "InstanceName": "%s-%d" % (group["name"], i + 1), "InstanceLabel": None}
        if group["nodeType"] == "Compute":
            leaf = "nn-rehearsal-leaf-a" if len(names) <= 2 else "nn-rehearsal-leaf-b"
            instance["InstanceLabel"] = {"network-node-layer-1": "nn-rehearsal-spine",
                                         "network-node-layer-2": "nn-rehearsal-agg", "network-node-layer-3": leaf}
        instances.append(instance)
    config["InstanceGroups"].append({"Name": group["name"], "InstanceType": "ml.g5.2xlarge", "Instances": instances})
json.dump(config, open(out, "w"), indent=2)
open(nodes_file, "w").write("".join("%s %s\n" % (g, name) for g, name in names))
PY
}

# jq_settings KEY.PATH: one value of the cluster settings.
jq_settings() {
  python3 - "$SETTINGS_FILE" "$1" <<'PY'
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."):
    value = value[key]
print(value)
PY
}

# HyperPod's slurm.conf, as far as it matters here: one partition per compute group, nodes named ip-a-b-c-d,
# prolog/epilog directories under /opt/slurm/etc. Nodes claim a g5.2xlarge's 8 CPUs (config_overrides: this machine
# may have fewer). cred_expire=5: a requeued job may start again after 5 s rather than 120 s.
write_slurm_conf() {
  local group name port=$SLURMD_BASE_PORT default=" Default=YES"
  mkdir -p "$SLURM_ETC/prolog.d" "$SLURM_ETC/epilog.d"
  {
    cat <<CONF
# Rehearsal slurm.conf in HyperPod's layout (written by test/rehearsal/harness.bash).
ClusterName=$(jq_settings clusterName)
SlurmctldHost=$CONTROLLER_NAME($CONTROLLER_ADDR)
SlurmctldPort=$SLURMCTLD_PORT
AuthType=auth/munge
AuthInfo=socket=$REHEARSAL_ROOT/munge/munge.socket,cred_expire=5
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
SlurmdParameters=config_overrides
StateSaveLocation=$REHEARSAL_ROOT/slurm/state
SlurmdSpoolDir=$REHEARSAL_ROOT/slurm/spool/%n
SlurmctldPidFile=$REHEARSAL_ROOT/slurm/slurmctld.pid
SlurmdPidFile=$REHEARSAL_ROOT/slurm/slurmd-%n.pid
SlurmctldLogFile=$REHEARSAL_ROOT/slurm/slurmctld.log
SlurmdLogFile=$REHEARSAL_ROOT/slurm/slurmd-%n.log
Prolog=$SLURM_ETC/prolog.d/*
Epilog=$SLURM_ETC/epilog.d/*
ProctrackType=proctrack/pgid
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MailProg=/bin/true
# Scheduling passes every second, so that a requeued job starts again at once.
SchedulerParameters=bf_interval=1
CONF
    while read -r group name; do
      echo "NodeName=$name NodeAddr=$(compute_addr "$name") Port=$port CPUs=8 RealMemory=30000 State=UNKNOWN"
      port=$((port + 1))
    done < <(compute_nodes)
    for group in $(compute_nodes | cut -d' ' -f1 | uniq); do
      echo "PartitionName=$group Nodes=$(compute_nodes | awk -v g="$group" '$1 == g { printf "%s%s", s, $2; s = "," }')$default MaxTime=INFINITE State=UP"
      default=""
    done
  } >"$SLURM_CONF"
  # HyperPod's AMI puts its scripts there (e.g. prolog.d/700_dcgm_job_map_register.sh); these record that they ran.
  # shellcheck disable=SC2016 # expanded when slurmd runs them
  printf '#!/bin/sh\necho "prolog $SLURM_JOB_ID $SLURMD_NODENAME" >>%s/slurm/prolog-epilog.log\n' "$REHEARSAL_ROOT" >"$SLURM_ETC/prolog.d/700_rehearsal.sh"
  # shellcheck disable=SC2016
  printf '#!/bin/sh\necho "epilog $SLURM_JOB_ID $SLURMD_NODENAME" >>%s/slurm/prolog-epilog.log\n' "$REHEARSAL_ROOT" >"$SLURM_ETC/epilog.d/700_rehearsal.sh"
  chmod 0755 "$SLURM_ETC"/prolog.d/*.sh "$SLURM_ETC"/epilog.d/*.sh
}

start_munge() {
  mkdir -p "$REHEARSAL_ROOT/munge"
  dd if=/dev/urandom of="$REHEARSAL_ROOT/munge/munge.key" bs=1024 count=1 status=none
  chmod 0600 "$REHEARSAL_ROOT/munge/munge.key"
  start_daemon munged munged --foreground --force --num-threads=2 --key-file="$REHEARSAL_ROOT/munge/munge.key" \
    --socket="$REHEARSAL_ROOT/munge/munge.socket" --pid-file="$REHEARSAL_ROOT/munge/munged.pid" \
    --seed-file="$REHEARSAL_ROOT/munge/munged.seed" --log-file="$REHEARSAL_ROOT/munge/munged.log"
  wait_for 10 test -S "$REHEARSAL_ROOT/munge/munge.socket"
}

start_slurmctld() {
  start_daemon slurmctld slurmctld -D -f "$SLURM_CONF"
  wait_for 20 scontrol ping
}

restart_slurmctld() {
  stop_daemon slurmctld
  start_slurmctld
}

# Each slurmd in a UTS namespace of its own with the node's host name, so that a job's `hostname` is its node's.
start_slurmds() {
  local group name
  while read -r group name; do
    mkdir -p "$REHEARSAL_ROOT/slurm/spool/$name"
    # shellcheck disable=SC2016 # expanded by the inner shell
    start_daemon "slurmd-$name" unshare --uts sh -c 'hostname "$1" && exec slurmd -D -N "$1" -f "$2"' slurmd "$name" "$SLURM_CONF"
  done < <(compute_nodes)
  wait_for 30 all_nodes_idle
}

all_nodes_idle() { [[ "$(sinfo -h -N -o '%t' | sort -u)" == idle ]]; }

start_exporters() {
  local group name port=$EXPORTER_BASE_PORT
  mkdir -p "$REHEARSAL_ROOT/exporters"
  while read -r group name; do
    mkdir -p "$(textfile_dir "$name")"
    # As 70-observability runs it: loopback only, the textfile collector on the node's directory.
    start_daemon "node-exporter-$name" prometheus-node-exporter --no-collector.systemd --web.listen-address="127.0.0.1:$port" \
      --collector.textfile.directory="$(textfile_dir "$name")"
    echo "$name $port" >>"$REHEARSAL_ROOT/exporters/ports"
    port=$((port + 1))
  done < <(compute_nodes)
}

# Prometheus scrapes each node's exporter as the node's collector does: the collector's external labels Hostname
# and cluster go on every series (a label the series has already wins: honor_labels).
write_prometheus_config() {
  local name port cluster
  cluster=$(jq_settings clusterName)
  mkdir -p "$REHEARSAL_ROOT/prometheus/data"
  cp "$RENDER_DIR/rules.yaml" "$REHEARSAL_ROOT/prometheus/rules.yaml"
  {
    cat <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ["$REHEARSAL_ROOT/prometheus/rules.yaml"]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:$ALERTMANAGER_PORT"]}]
scrape_configs:
  - job_name: node
    honor_labels: true
    static_configs:
YAML
    while read -r name port; do
      printf '      - targets: ["127.0.0.1:%s"]\n        labels: {Hostname: "%s", cluster: "%s"}\n' "$port" "$name" "$cluster"
    done <"$REHEARSAL_ROOT/exporters/ports"
  } >"$REHEARSAL_ROOT/prometheus/prometheus.yml"
}

start_prometheus() {
  write_prometheus_config
  start_daemon prometheus prometheus --config.file="$REHEARSAL_ROOT/prometheus/prometheus.yml" \
    --storage.tsdb.path="$REHEARSAL_ROOT/prometheus/data" --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    --rules.alert.resend-delay=1s
  wait_for 30 curl -sf "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
}

start_alertmanager() {
  mkdir -p "$REHEARSAL_ROOT/alertmanager/data"
  amtool check-config "$RENDER_DIR/alertmanager.yml" >/dev/null
  start_daemon alertmanager prometheus-alertmanager --config.file="$RENDER_DIR/alertmanager.yml" \
    --storage.path="$REHEARSAL_ROOT/alertmanager/data" --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" \
    --cluster.listen-address=
  wait_for 30 curl -sf "http://127.0.0.1:$ALERTMANAGER_PORT/-/ready"
}

start_webhook() {
  mkdir -p "$REHEARSAL_ROOT/webhook"
  start_daemon webhook python3 "$REHEARSAL_DIR/webhook-recorder.py" "$WEBHOOK_PORT" "$REHEARSAL_ROOT/webhook/received.jsonl"
  wait_for 10 curl -sf "http://127.0.0.1:$WEBHOOK_PORT/"
}

# install_stubs: the process-boundary stubs (stubs/*) with the rehearsal's paths, on PATH and, for the AWS CLI that
# slurmctld's job completion script finds through its own PATH, in /usr/local/bin (a private overlay).
install_stubs() {
  local stub
  mkdir -p "$STUBS_DIR" "$CALLS_DIR"
  for stub in "$REHEARSAL_DIR"/stubs/*; do
    sed "s|@REHEARSAL_ROOT@|$REHEARSAL_ROOT|g; s|@REHEARSAL_DIR@|$REHEARSAL_DIR|g" "$stub" >"$STUBS_DIR/${stub##*/}"
    chmod 0755 "$STUBS_DIR/${stub##*/}"
  done
  cp "$STUBS_DIR/aws" /usr/local/bin/aws
}

# prepare_layout: the directories, the node's lifecycle scripts, and the nodes from the rendered groups.
prepare_layout() {
  mkdir -p "$REHEARSAL_ROOT"/{logs,pids,slurm/state,slurm/spool} "$NODE_ROOT"/{opt/ml/config,fsx,etc,usr/local/bin,var/log}
  cp -r "$REPO_DIR/lib/cluster/lifecycle" "$LIFECYCLE_DIR"
  cp "$RENDER_DIR/cluster-settings.json" "$SETTINGS_FILE"
  cp "$RENDER_DIR/pretrain-swallow-70b.sbatch" "$LIFECYCLE_DIR/jobs/"
  write_resource_config
}

# prepare_compute_roots: what each compute node has before OnInitComplete: HyperPod's slurm.conf (a copy: this root
# is no real daemon's, so that the AMI's pyxis below is never loaded), resource_config.json, the FSx mount, and the
# DLAMI's pyxis registered in plugstack.conf (an empty file stands for spank_pyxis.so). The first node also has the
# EFA devices of the bats fixtures (the others none, as a node without EFA).
prepare_compute_roots() {
  local group name root first
  first=$(compute_nodes | head -n 1 | cut -d' ' -f2)
  while read -r group name; do
    root=$(compute_root "$name")
    mkdir -p "$root"/{opt/slurm/etc,opt/slurm/lib/slurm,opt/ml/config,fsx,etc,usr/local/bin,var/log}
    cp "$SLURM_CONF" "$root/opt/slurm/etc/slurm.conf"
    : >"$root/opt/slurm/lib/slurm/spank_pyxis.so"
    echo "required /opt/slurm/lib/slurm/spank_pyxis.so" >"$root/opt/slurm/etc/plugstack.conf"
    cp "$SAGEMAKER_RESOURCE_CONFIG_PATH" "$root/opt/ml/config/resource_config.json"
    mount --bind "$NODE_ROOT/fsx" "$root/fsx"
    if [[ "$name" == "$first" ]]; then
      mkdir -p "$root/sys/class"
      cp -r "$REPO_DIR/test/cluster/lifecycle/fixtures/sys/class/infiniband" "$root/sys/class/"
    fi
  done < <(compute_nodes)
}

rehearsal_up() {
  install_stubs
  write_slurm_conf
  prepare_compute_roots
  start_munge
  start_slurmctld
  start_slurmds
  start_webhook
  start_alertmanager
  start_exporters
  start_prometheus
}

# run_lifecycle: the entry point as HyperPod runs it on the controller once Slurm is up (root, the settings next to
# it). Its output goes to logs/lifecycle-controller.log, its exit status to logs/lifecycle-controller.status; the
# pid of the slurmctld that ran before it to logs/slurmctld.pid.before-lifecycle.
run_lifecycle() {
  local status=0
  cp "$REHEARSAL_ROOT/pids/slurmctld" "$REHEARSAL_ROOT/logs/slurmctld.pid.before-lifecycle"
  "$LIFECYCLE_DIR/$LIFECYCLE_ENTRY_POINT" >"$REHEARSAL_ROOT/logs/lifecycle-controller.log" 2>&1 || status=$?
  echo "$status" >"$REHEARSAL_ROOT/logs/lifecycle-controller.status"
}

# node_network ADDRESS NAME: this network namespace as a HyperPod node sees its own: loopback, a veth standing for
# the VPC interface with ADDRESS/16 and a default route (10-wait-network checks both), and NAME as host name.
node_network() {
  ip link set lo up
  ip link add eth0 type veth peer name vpc0
  ip link set vpc0 up
  ip addr add "$1/16" dev eth0
  ip link set eth0 up
  ip route add default via 10.1.0.1 dev eth0
  hostname "$2"
}

# as_compute_node NAME COMMAND...: COMMAND as on compute node NAME: network and UTS namespaces of its own (its
# address and a default route, its host name), its root as PROVISION_ROOT, its slurm.conf.
as_compute_node() {
  local name=$1 root
  shift
  root=$(compute_root "$name")
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare --net --uts bash -euc "$(declare -f node_network)"'
node_network "$1" "$2"
shift 2
exec "$@"' node "$(compute_addr "$name")" "$name" env PROVISION_ROOT="$root" \
    SAGEMAKER_RESOURCE_CONFIG_PATH="$root/opt/ml/config/resource_config.json" SLURM_CONF="$root/opt/slurm/etc/slurm.conf" "$@"
}

# run_compute_lifecycle: the entry point on every compute node, as HyperPod runs it there (root, the settings next to
# it, slurmd already up). Output and exit status in logs/lifecycle-NAME.log and .status.
run_compute_lifecycle() {
  local group name status
  while read -r group name; do
    status=0
    as_compute_node "$name" "$LIFECYCLE_DIR/$LIFECYCLE_ENTRY_POINT" >"$REHEARSAL_ROOT/logs/lifecycle-$name.log" 2>&1 || status=$?
    echo "$status" >"$REHEARSAL_ROOT/logs/lifecycle-$name.status"
  done < <(compute_nodes)
}

rehearsal_down() {
  local pid_file
  for pid_file in "$REHEARSAL_ROOT"/pids/*; do
    [[ -e "$pid_file" ]] || continue
    stop_daemon "${pid_file##*/}"
  done
}

# --- helpers for the tests --------------------------------------------------------------------------------------

# slurm_config KEY: KEY's value in the running slurmctld's configuration (values may hold '=' themselves).
slurm_config() { scontrol show config | awk -v key="$1" '$1 == key { sub(/^[^=]*= */, ""); print }'; }

# job_state ID: the job's state (squeue while it is known, else scontrol).
job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
job_done() { [[ "$(job_state "$1")" =~ ^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY)$ ]]; }

# prom_query PROMQL: the result vector as "labels value" lines, labels as JSON. Written at once, and a reader that
# stops early (grep -q) is no error: with PYTHONUNBUFFERED set each print would be a write of its own, and under
# pipefail a broken pipe fails the test.
prom_query() {
  curl -sf --data-urlencode "query=$1" "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query" | python3 -c '
import json, sys
rows = ["%s %s\n" % (json.dumps(r["metric"], sort_keys=True), r["value"][1]) for r in json.load(sys.stdin)["data"]["result"]]
try:
    sys.stdout.write("".join(rows))
    sys.stdout.flush()
except BrokenPipeError:
    sys.stdout = None'
}

# slurmctld_accepts DIR [SCONTROL ARGS...]: a throwaway slurmctld (its own port and state) starts on DIR/slurm.conf (and the files
# next to it, e.g. topology.conf) and answers scontrol ping (and scontrol ARGS, output in DIR/scontrol.out). Fails, printing the errors it logged, when slurmctld
# exits instead (a configuration it refuses), cannot load a plugin the file names, or does not answer within 15 s.
slurmctld_accepts() {
  local dir=$1 pid ok=1 deadline=$((SECONDS + 15))
  mkdir -p "$dir/state"
  sed -i -e "s|^SlurmctldPort=.*|SlurmctldPort=$((SLURMCTLD_PORT + 100))|" \
    -e "s|^StateSaveLocation=.*|StateSaveLocation=$dir/state|" -e "s|^SlurmctldPidFile=.*|SlurmctldPidFile=$dir/slurmctld.pid|" \
    -e "s|^SlurmctldLogFile=.*|SlurmctldLogFile=$dir/slurmctld.log|" "$dir/slurm.conf"
  slurmctld -D -f "$dir/slurm.conf" >"$dir/check.log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    if SLURM_CONF=$dir/slurm.conf scontrol ping >/dev/null 2>&1; then
      ok=0
      break
    fi
    sleep 0.2
  done
  # slurmctld keeps running without a plugin it cannot load (jobs then end without their job completion record):
  # that is a refusal too. The mpi/pmix plugins are the exception: Debian's build lacks the PMIx library.
  if ((ok == 0)) && grep -hE "Couldn't (find|load) (the )?specified plugin name for" "$dir/check.log" "$dir/slurmctld.log" 2>/dev/null |
    grep -v ' for mpi/' >&2; then
    ok=1
  fi
  if ((ok == 0)) && [[ -n "${2:-}" ]]; then
    SLURM_CONF=$dir/slurm.conf scontrol "${@:2}" >"$dir/scontrol.out" 2>&1 || ok=1
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if ((ok != 0)); then
    grep -ihE 'error|fatal' "$dir/check.log" "$dir/slurmctld.log" >&2 2>/dev/null || cat "$dir/check.log" >&2
  fi
  return "$ok"
}
