#!/usr/bin/env bash
# The rehearsal inside its namespaces (started by run.sh): network and mounts as on a HyperPod controller, the
# daemons up, the tests run once against them, everything stopped on the way out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=harness.bash
source "$here/harness.bash"
# shellcheck source-path=SCRIPTDIR source=scenario.bash
source "$here/scenario.bash"

# The controller's network: 10.1.0.10 with a default route (10-wait-network checks it), the compute nodes'
# addresses beside it, and a veth pair standing for the VPC interface. Names resolve through /etc/hosts.
setup_network() {
  local _group name
  node_network "$CONTROLLER_ADDR" "$CONTROLLER_NAME"
  {
    echo "127.0.0.1 localhost"
    echo "$CONTROLLER_ADDR $CONTROLLER_NAME"
    echo "$FSX_ADDR $(jq_settings fsx.dnsName)"
    while read -r _group name; do
      ip addr add "$(compute_addr "$name")/16" dev eth0
      echo "$(compute_addr "$name") $name"
    done < <(compute_nodes)
  } >"$REHEARSAL_ROOT/hosts"
}

# Two absolute paths that no override reaches, because slurmctld runs the job completion script with an environment
# of its own (PATH=/usr/bin:/bin:/usr/sbin:/sbin and the job's variables only): /etc/hyperpod, where
# slurm-job-notify reads its configuration, and /usr/local/bin, where it finds the AWS CLI. Private overlays make
# them point into the rehearsal; the machine's own files are not changed.
setup_mounts() {
  local dir
  for dir in etc usr-local-bin; do mkdir -p "$REHEARSAL_ROOT/overlay/$dir/upper" "$REHEARSAL_ROOT/overlay/$dir/work"; done
  mount -t overlay overlay -o "lowerdir=/etc,upperdir=$REHEARSAL_ROOT/overlay/etc/upper,workdir=$REHEARSAL_ROOT/overlay/etc/work" /etc
  mount -t overlay overlay -o "lowerdir=/usr/local/bin,upperdir=$REHEARSAL_ROOT/overlay/usr-local-bin/upper,workdir=$REHEARSAL_ROOT/overlay/usr-local-bin/work" /usr/local/bin
  mount --bind "$REHEARSAL_ROOT/hosts" /etc/hosts
  # No DNS server in the namespace: refuse at once rather than time out on the machine's.
  echo "nameserver 127.0.0.1" >"$REHEARSAL_ROOT/resolv.conf"
  mount --bind "$REHEARSAL_ROOT/resolv.conf" /etc/resolv.conf
  mkdir -p "$NODE_ROOT/etc/hyperpod"
  rm -rf /etc/hyperpod
  ln -s "$NODE_ROOT/etc/hyperpod" /etc/hyperpod
}

prepare_layout
setup_network
setup_mounts
trap 'rehearsal_down' EXIT
up_started=$SECONDS
rehearsal_up
log "cluster up in $((SECONDS - up_started)) s: $(sinfo -h -o '%P %D %t' | tr '\n' ' ')"
start_alert_scenario
run_lifecycle
run_compute_lifecycle
log "lifecycle entry point $LIFECYCLE_ENTRY_POINT exited $(<"$REHEARSAL_ROOT/logs/lifecycle-controller.status") on the controller," \
  "$(compute_nodes | while read -r _ name; do printf '%s on %s, ' "$(<"$REHEARSAL_ROOT/logs/lifecycle-$name.status")" "$name"; done)after $((SECONDS - up_started)) s"
# A restarted slurmctld (80-job-notifications) knows its nodes again once their slurmds register; HyperPod reports
# the cluster in service only then.
wait_for 30 all_nodes_idle || log "nodes not idle after the lifecycle: $(sinfo -h -N -o '%N %t' | tr '\n' ' ')"
if (($#)); then tests=("$@"); else tests=("$here"/[0-9]*.bats); fi
bats "${tests[@]}"
