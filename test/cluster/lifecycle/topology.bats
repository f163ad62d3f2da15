#!/usr/bin/env bats
# steps/45-topology.sh and bin/slurm-topology: slurmctld gets the cluster's network topology (topology/tree) from the
# labels HyperPod writes into resource_config.json, or keeps HyperPod's own, and lets --switches waits last as long
# as the shipped jobs ask; bin/slurm-topology-refresh keeps a generated topology in step with the nodes.
# topology-stubs/ stand for slurmctld: what it runs is what systemctl last (re)started it on.

load test_helper

setup() {
  setup_node
  PATH="$BATS_TEST_DIRNAME/topology-stubs:$PATH"
  SLURM_DIR="$PROVISION_ROOT/opt/slurm"
  ETC="$SLURM_DIR/etc"
  RESOURCE_CONFIG="$PROVISION_ROOT/opt/ml/config/resource_config.json"
  # The scripts as HyperPod downloads them, with a launch in jobs/ as the reference app ships one.
  LIFECYCLE="$SANDBOX/lifecycle"
  cp -r "$LIFECYCLE_SRC" "$LIFECYCLE"
  job pretrain '#SBATCH --switches=1@60'
  # The two compute nodes of the fixtures under one spine (layer 1) and one layer-2 node, on two leaves.
  label 10.1.38.128 nn-spine nn-agg nn-leaf-a
  label 10.1.29.16 nn-spine nn-agg nn-leaf-b
  systemctl restart slurmctld.service
  : >"$STUB_CALLS"
  export PROVISION_SLURM_ATTEMPTS=2 PROVISION_SLURM_DELAY=1
}

# job NAME LINE...: a shipped job script jobs/NAME.sbatch with these header lines.
job() {
  local name=$1
  shift
  printf '#!/bin/bash\n#SBATCH --nodes=2\n' >"$LIFECYCLE/jobs/$name.sbatch"
  printf '%s\n' "$@" >>"$LIFECYCLE/jobs/$name.sbatch"
}

# label ADDRESS [NODE...]: the instance at ADDRESS has these network nodes (top-down) as HyperPod labels them in
# resource_config.json (InstanceLabel.network-node-layer-N); none: InstanceLabel null.
label() {
  python3 - "$RESOURCE_CONFIG" "$@" <<'PY'
import json, sys
path, address, nodes = sys.argv[1], sys.argv[2], sys.argv[3:]
config = json.load(open(path))
for group in config["InstanceGroups"]:
    for instance in group["Instances"]:
        if instance["CustomerIpAddress"] == address:
            instance["InstanceLabel"] = {"network-node-layer-%d" % (i + 1): n for i, n in enumerate(nodes)} or None
json.dump(config, open(path, "w"), indent=2)
PY
}

step() { run bash "$LIFECYCLE/steps/45-topology.sh"; }

# block: the placement block the step appended to slurm.conf, without its marker lines.
block() { sed -n '/^# BEGIN cdk-hyperpod-training placement/,/^# END/p' "$ETC/slurm.conf" | sed '1d;$d'; }

live() { scontrol show config | awk -v key="$1" '$1 == key { sub(/^[^=]*= */, ""); print }'; }

restarts() { calls systemctl | grep -c '^systemctl restart slurmctld.service$' || true; }

@test "generates the tree from HyperPod's labels, enables topology/tree and the launch's wait, live after a restart" {
  step
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(grep -v '^#' "$ETC/topology.conf")" = "$(printf '%s\n' \
    'SwitchName=nn-leaf-a Nodes=ip-10-1-38-128' \
    'SwitchName=nn-leaf-b Nodes=ip-10-1-29-16' \
    'SwitchName=nn-agg Switches=nn-leaf-a,nn-leaf-b' \
    'SwitchName=nn-spine Switches=nn-agg')" ]
  [ "$(block)" = "$(printf '%s\n' TopologyPlugin=topology/tree SchedulerParameters=max_switch_wait=3600)" ]
  [ "$(restarts)" -eq 1 ]
  [ "$(live TopologyPlugin)" = topology/tree ]
  [ "$(live SchedulerParameters)" = max_switch_wait=3600 ]
  [ "$(scontrol show topology | wc -l)" -eq 4 ]
  [[ "$output" == *"placement: topology/tree with 4 switches; the shipped jobs wait up to 3600 s for one switch"* ]]
  [ -x "$PROVISION_ROOT/usr/local/bin/slurm-topology" ]
  # Everything else in slurm.conf is as HyperPod wrote it.
  [ "$(slurm_conf_before_block)" = "$(cat "$FIXTURES/slurm.conf")" ]
}

slurm_conf_before_block() { sed '/^$/,$d' "$ETC/slurm.conf"; }

@test "a second run changes nothing and restarts nothing" {
  step
  [ "$status" -eq 0 ]
  local before
  before=$(snapshot "$PROVISION_ROOT")
  : >"$STUB_CALLS"
  step
  [ "$status" -eq 0 ]
  [ "$(snapshot "$PROVISION_ROOT")" = "$before" ]
  [ "$(restarts)" -eq 0 ]
}

@test "SchedulerParameters keeps HyperPod's other options; the replaced line comes back when the wait is no longer set" {
  echo "SchedulerParameters=bf_interval=30,max_switch_wait=120" >>"$ETC/slurm.conf"
  step
  [ "$status" -eq 0 ]
  [[ "$(block)" == *$'\nSchedulerParameters=bf_interval=30,max_switch_wait=3600' ]]
  grep -qx '# SchedulerParameters=bf_interval=30,max_switch_wait=120  # replaced by the cdk-hyperpod-training placement block below' "$ETC/slurm.conf"
  [ "$(live SchedulerParameters)" = bf_interval=30,max_switch_wait=3600 ]
  # The launch no longer asks for a long wait: HyperPod's line is back, the block only enables the topology.
  job pretrain '#SBATCH --switches=1@5'
  step
  [ "$status" -eq 0 ]
  [ "$(block)" = TopologyPlugin=topology/tree ]
  grep -qx 'SchedulerParameters=bf_interval=30,max_switch_wait=120' "$ETC/slurm.conf"
}

@test "a longer max_switch_wait already set is kept" {
  echo "SchedulerParameters=max_switch_wait=7200" >>"$ETC/slurm.conf"
  step
  [ "$status" -eq 0 ]
  [ "$(block)" = TopologyPlugin=topology/tree ]
  [ "$(live SchedulerParameters)" = max_switch_wait=7200 ]
}

@test "the wait is the longest --switches wait of the shipped jobs, in each of sbatch's time formats" {
  local wait expected
  for wait in 90:30=5430 2:00:00=7200 1-0=86400 1-2:30=95400 1-0:0:1=86401; do
    expected=${wait#*=}
    job pretrain "#SBATCH --switches=1@${wait%=*}"
    job other '#SBATCH --switches=1@61' '#SBATCH --switches=2'
    step
    [ "$status" -eq 0 ]
    [ "$(live SchedulerParameters)" = "max_switch_wait=$expected" ]
  done
}

@test "jobs that wait no longer than Slurm's default 300 s leave SchedulerParameters alone" {
  job pretrain '#SBATCH --switches=1@5'
  step
  [ "$status" -eq 0 ]
  [ "$(block)" = TopologyPlugin=topology/tree ]
  [ "$(live SchedulerParameters)" = "(null)" ]
}

@test "without network-node labels (instance types without EC2 topology) nothing is placed, and the step passes" {
  label 10.1.38.128
  label 10.1.29.16
  step
  [ "$status" -eq 0 ]
  [[ "$output" == *"no Slurm node has network-node labels in $RESOURCE_CONFIG"*"nothing to place"* ]]
  [ ! -e "$ETC/topology.conf" ]
  cmp "$ETC/slurm.conf" "$FIXTURES/slurm.conf"
  [ "$(restarts)" -eq 0 ]
}

@test "HyperPod's own tree is kept as it maintains it; only the wait is added" {
  echo "TopologyPlugin=topology/tree" >>"$ETC/slurm.conf"
  printf '%s\n' 'SwitchName=hp-leaf Nodes=ip-10-1-38-128,ip-10-1-29-16' >"$ETC/topology.conf"
  cp "$ETC/topology.conf" "$SANDBOX/hyperpod-topology.conf"
  systemctl restart slurmctld.service
  : >"$STUB_CALLS"
  step
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"slurmctld runs HyperPod's topology (topology/tree, 1 switches or blocks): kept"* ]]
  cmp "$ETC/topology.conf" "$SANDBOX/hyperpod-topology.conf"
  [ "$(block)" = SchedulerParameters=max_switch_wait=3600 ]
  grep -qx 'TopologyPlugin=topology/tree' "$ETC/slurm.conf"
  [ "$(live SchedulerParameters)" = max_switch_wait=3600 ]
  [ "$(restarts)" -eq 1 ]
  [ ! -e "$PROVISION_ROOT/etc/systemd/system/hyperpod-topology-refresh.timer" ]
}

@test "HyperPod's block topology (UltraServers) is kept and nothing changes: --switches is for trees" {
  echo "TopologyPlugin=topology/block" >>"$ETC/slurm.conf"
  echo "BlockName=us-1 Nodes=ip-10-1-38-128,ip-10-1-29-16" >"$ETC/topology.conf"
  systemctl restart slurmctld.service
  cp "$ETC/slurm.conf" "$SANDBOX/slurm.conf.before"
  : >"$STUB_CALLS"
  step
  [ "$status" -eq 0 ]
  [[ "$output" == *"HyperPod's topology (topology/block"* ]]
  cmp "$ETC/slurm.conf" "$SANDBOX/slurm.conf.before"
  [ "$(restarts)" -eq 0 ]
}

# Reported on fresh HyperPod clusters (aws-samples/sample-physical-ai-scaffolding-kit PR #14): topology/tree
# enabled without a topology.conf, and sbatch fails "Requested topology configuration is not available".
@test "topology/tree without a topology is repaired with the generated one" {
  echo "TopologyPlugin=topology/tree" >>"$ETC/slurm.conf"
  systemctl restart slurmctld.service
  step
  [ "$status" -eq 0 ]
  grep -qx '# TopologyPlugin=topology/tree  # replaced by the cdk-hyperpod-training placement block below' "$ETC/slurm.conf"
  [ "$(live TopologyPlugin)" = topology/tree ]
  [ "$(scontrol show topology | wc -l)" -eq 4 ]
}

@test "a topology.yaml without a topology slurmctld shows fails the step: Slurm would ignore a topology.conf" {
  echo "[]" >"$ETC/topology.yaml"
  step
  [ "$status" -eq 1 ]
  [[ "$output" == *"topology.yaml exists, but slurmctld shows no topology"*"placement stays off"* ]]
  [ ! -e "$ETC/topology.conf" ]
  cmp "$ETC/slurm.conf" "$FIXTURES/slurm.conf"
}

@test "a topology slurmctld refuses is rolled back: the old files, slurmctld restarted on them, the step fails" {
  STUB_SLURMCTLD_REFUSES=nn-leaf-a step
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"slurmctld did not come back with the topology"* ]]
  [[ "$output" == *"rolled back $ETC/slurm.conf and topology.conf; slurmctld runs as before, without placement"* ]]
  cmp "$ETC/slurm.conf" "$FIXTURES/slurm.conf"
  [ ! -e "$ETC/topology.conf" ]
  [ "$(restarts)" -eq 2 ]
  [ "$(live TopologyPlugin)" = topology/none ]
}

@test "an unreadable resource config fails the step and changes nothing" {
  echo "{" >"$RESOURCE_CONFIG"
  step
  [ "$status" -eq 1 ]
  [[ "$output" == *"slurm-topology: cannot read the HyperPod resource config $RESOURCE_CONFIG"* ]]
  [[ "$output" == *"cannot build the topology from $RESOURCE_CONFIG; placement stays off"* ]]
  [ ! -e "$ETC/topology.conf" ]
  cmp "$ETC/slurm.conf" "$FIXTURES/slurm.conf"
  [ "$(restarts)" -eq 0 ]
}

@test "labels that contradict each other fail the step: one network node at two layers" {
  label 10.1.29.16 nn-spine nn-leaf-a nn-leaf-b
  step
  [ "$status" -eq 1 ]
  [[ "$output" == *"network node nn-leaf-a is at layer 2 under nn-spine for ip-10-1-29-16, at layer 3 under nn-agg for another node"* ]]
  [ ! -e "$ETC/topology.conf" ]
}

@test "layers with a gap fail the step" {
  python3 - "$RESOURCE_CONFIG" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["InstanceGroups"][2]["Instances"][0]["InstanceLabel"] = {"network-node-layer-1": "nn-a", "network-node-layer-3": "nn-c"}
json.dump(config, open(sys.argv[1], "w"))
PY
  step
  [ "$status" -eq 1 ]
  [[ "$output" == *"instance i-0cbbe3075137ffa1d (10.1.38.128) has network-node layers [1, 3]; expected 1 to N"* ]]
}

@test "a Slurm that cannot list its nodes fails the step" {
  STUB_SHOW_NODES_FAIL=1 step
  [ "$status" -eq 1 ]
  [[ "$output" == *"scontrol show nodes failed"* ]]
  [ ! -e "$ETC/topology.conf" ]
}

@test "an unreadable --switches wait in a shipped job fails the step" {
  job pretrain '#SBATCH --switches=1@1-2-3'
  step
  [ "$status" -eq 1 ]
  [[ "$output" == *"pretrain.sbatch: cannot read the --switches wait in '#SBATCH --switches=1@1-2-3'"* ]]
}

@test "without slurm.conf the step fails, naming the file" {
  rm "$ETC/slurm.conf"
  step
  [ "$status" -eq 1 ]
  [[ "$output" == *"$ETC/slurm.conf not found"* ]]
}

@test "through the entry point a refused topology leaves a created controller, reported as degraded" {
  mv "$SETTINGS_FILE" "$LIFECYCLE/cluster-settings.json"
  unset SETTINGS_FILE
  STUB_HOST_IPS=10.1.0.10 STUB_SLURMCTLD_REFUSES=nn-leaf-a run bash "$LIFECYCLE/on_init_complete.sh"
  [ "$status" -eq 0 ]
  [[ "$output" == *"step 45-topology: FAILED (optional)"* ]]
  grep -qx 'hyperpod_lifecycle_step_failed{step="45-topology"} 1' \
    "$PROVISION_ROOT/var/lib/node_exporter/textfile/hyperpod_lifecycle.prom"
  [ "$(live TopologyPlugin)" = topology/none ]
}

@test "a generated topology is kept in step by hyperpod-topology-refresh.timer, every minute" {
  step
  [ "$status" -eq 0 ]
  local unit=$PROVISION_ROOT/etc/systemd/system/hyperpod-topology-refresh
  grep -qx "ExecStart=$PROVISION_ROOT/usr/local/bin/slurm-topology-refresh" "$unit.service"
  grep -qx "Environment=SLURM_ROOT=$SLURM_DIR SAGEMAKER_RESOURCE_CONFIG_PATH=$RESOURCE_CONFIG" "$unit.service"
  grep -qx 'OnUnitActiveSec=60s' "$unit.timer"
  calls systemctl | grep -qx 'systemctl enable hyperpod-topology-refresh.timer'
  calls systemctl | grep -qx 'systemctl restart hyperpod-topology-refresh.timer'
  [ -x "$PROVISION_ROOT/usr/local/bin/slurm-topology-refresh" ]
}

# add_node ADDRESS NODE...: HyperPod adds an instance (its labels in resource_config.json, its NodeName in
# slurm.conf) and restarts slurmctld, as when it scales up or replaces a node.
add_node() {
  local address=$1
  shift
  python3 - "$RESOURCE_CONFIG" "$address" "$@" <<'PY'
import json, sys
path, address, nodes = sys.argv[1], sys.argv[2], sys.argv[3:]
config = json.load(open(path))
config["InstanceGroups"][2]["Instances"].append({"CustomerIpAddress": address, "InstanceId": "i-0new",
    "InstanceLabel": {"network-node-layer-%d" % (i + 1): n for i, n in enumerate(nodes)}})
json.dump(config, open(path, "w"))
PY
  echo "NodeName=ip-${address//./-} NodeAddr=$address CPUs=192 RealMemory=2000000 Gres=gpu:8 State=CLOUD" >>"$ETC/slurm.conf"
  systemctl restart slurmctld.service
  : >"$STUB_CALLS"
}

refresh() {
  run env SLURM_ROOT="$SLURM_DIR" SAGEMAKER_RESOURCE_CONFIG_PATH="$RESOURCE_CONFIG" TOPOLOGY_REFRESH_WAIT=0 \
    "$PROVISION_ROOT/usr/local/bin/slurm-topology-refresh"
}

@test "slurm-topology-refresh: a node HyperPod adds later joins the topology, live after scontrol reconfigure" {
  step
  add_node 10.1.40.7 nn-spine nn-agg nn-leaf-c
  refresh
  echo "$output"
  [ "$status" -eq 0 ]
  grep -qx 'SwitchName=nn-leaf-c Nodes=ip-10-1-40-7' "$ETC/topology.conf"
  grep -qx 'SwitchName=nn-agg Switches=nn-leaf-a,nn-leaf-b,nn-leaf-c' "$ETC/topology.conf"
  calls scontrol | grep -qx 'scontrol reconfigure'
  scontrol show topology | grep -q '^SwitchName=nn-leaf-c '
  [[ "$output" == *"topology.conf updated for 3 Slurm nodes: # 3 Slurm nodes under 3 leaf switches."* ]]
  # Nothing new: nothing written, no reconfigure.
  : >"$STUB_CALLS"
  refresh
  [ "$status" -eq 0 ]
  [ -z "$(calls scontrol | grep reconfigure)" ]
}

@test "slurm-topology-refresh: HyperPod's own topology is left alone" {
  echo 'SwitchName=hp-leaf Nodes=ip-10-1-38-128' >"$ETC/topology.conf"
  mkdir -p "$PROVISION_ROOT/usr/local/bin"
  cp "$LIFECYCLE_SRC/bin/slurm-topology" "$LIFECYCLE_SRC/bin/slurm-topology-refresh" "$PROVISION_ROOT/usr/local/bin/"
  refresh
  [ "$status" -eq 0 ]
  [ "$(cat "$ETC/topology.conf")" = 'SwitchName=hp-leaf Nodes=ip-10-1-38-128' ]
  [ -z "$(calls scontrol)" ]
}

@test "slurm-topology-refresh: a topology slurmctld dies on is replaced by the previous one, and slurmctld restarted" {
  step
  cp "$ETC/topology.conf" "$SANDBOX/topology.before"
  add_node 10.1.40.7 nn-spine nn-agg nn-leaf-c
  STUB_SLURMCTLD_REFUSES=nn-leaf-c refresh
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"slurmctld did not take the new topology; the previous one is back and slurmctld restarted"* ]]
  cmp "$ETC/topology.conf" "$SANDBOX/topology.before"
  [ "$(restarts)" -eq 1 ]
  scontrol ping
}

# bin/slurm-topology on its own, as slurm-topology-refresh runs it.

topology() { run bash -c "printf '%s\n' \"\$@\" | '$LIFECYCLE_SRC/bin/slurm-topology' '$RESOURCE_CONFIG'" topology "$@"; }

@test "slurm-topology: several top-layer nodes and unlabelled nodes go under one root, so no node is cut off" {
  label 10.1.29.16 nn-spine-2 nn-agg-2 nn-leaf-b
  topology 'NodeName=ip-10-1-38-128 Arch=x86_64 NodeAddr=10.1.38.128 OS=Linux 6.1 #1 SMP' \
    'NodeName=ip-10-1-29-16 NodeAddr=10.1.29.16' 'NodeName=Login-1 NodeAddr=10.1.0.20'
  [ "$status" -eq 0 ]
  [ "$(grep -v '^#' <<<"$output")" = "$(printf '%s\n' \
    'SwitchName=nn-leaf-a Nodes=ip-10-1-38-128' \
    'SwitchName=nn-leaf-b Nodes=ip-10-1-29-16' \
    'SwitchName=hyperpod-unplaced Nodes=Login-1' \
    'SwitchName=nn-agg Switches=nn-leaf-a' \
    'SwitchName=nn-agg-2 Switches=nn-leaf-b' \
    'SwitchName=nn-spine Switches=nn-agg' \
    'SwitchName=nn-spine-2 Switches=nn-agg-2' \
    'SwitchName=hyperpod-root Switches=nn-spine,nn-spine-2,hyperpod-unplaced')" ]
  [[ "$output" == *"# 3 Slurm nodes under 2 leaf switches, 1 without network-node labels."* ]]
}

@test "slurm-topology: 4 layers, names from NodeName when NodeAddr is a host name, node lists as hostlists" {
  python3 - "$RESOURCE_CONFIG" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
layers = lambda leaf: {"topology.k8s.aws/network-node-layer-%d" % (i + 1): n for i, n in enumerate(["nn-1", "nn-2", "nn-3", leaf])}
config["InstanceGroups"][2]["Instances"] = [
    {"CustomerIpAddress": "10.1.38.%d" % n, "InstanceId": "i-%d" % n, "InstanceLabel": layers("nn-4")} for n in (128, 129, 130, 132)
] + [{"CustomerIpAddress": "10.1.39.7", "InstanceId": "i-7", "InstanceLabel": layers("nn-4b")}]
json.dump(config, open(sys.argv[1], "w"))
PY
  topology 'NodeName=ip-10-1-38-128 NodeAddr=ip-10-1-38-128' 'NodeName=ip-10-1-38-129 NodeAddr=10.1.38.129' \
    'NodeName=ip-10-1-38-130 NodeAddr=10.1.38.130' 'NodeName=ip-10-1-38-132 NodeAddr=10.1.38.132' \
    'NodeName=ip-10-1-39-7 NodeAddr=10.1.39.7'
  [ "$status" -eq 0 ]
  [ "$(grep -v '^#' <<<"$output")" = "$(printf '%s\n' \
    'SwitchName=nn-4 Nodes=ip-10-1-38-[128-130,132]' \
    'SwitchName=nn-4b Nodes=ip-10-1-39-7' \
    'SwitchName=nn-3 Switches=nn-4,nn-4b' \
    'SwitchName=nn-2 Switches=nn-3' \
    'SwitchName=nn-1 Switches=nn-2')" ]
}

@test "slurm-topology: a network node Slurm cannot name, and a node that is both leaf and parent, are errors" {
  label 10.1.38.128 nn-spine 'nn agg' nn-leaf-a
  topology 'NodeName=ip-10-1-38-128 NodeAddr=10.1.38.128'
  [ "$status" -eq 1 ]
  [[ "$output" == *"has a network node Slurm cannot name: 'nn agg'"* ]]
  label 10.1.38.128 nn-spine nn-agg
  topology 'NodeName=ip-10-1-38-128 NodeAddr=10.1.38.128' 'NodeName=ip-10-1-29-16 NodeAddr=10.1.29.16'
  [ "$status" -eq 1 ]
  [[ "$output" == *"network nodes nn-agg connect both instances and other network nodes"* ]]
}

@test "slurm-topology: labelled instances that Slurm does not know yet place nothing; no Slurm nodes at all is an error" {
  topology 'NodeName=ip-10-1-0-20 NodeAddr=10.1.0.20'
  [ "$status" -eq 2 ]
  topology ''
  [ "$status" -eq 1 ]
  [[ "$output" == *"slurmctld lists no nodes"* ]]
}
