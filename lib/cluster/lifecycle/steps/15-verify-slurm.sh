#!/usr/bin/env bash
# Verify the Slurm that HyperPod set up before OnInitComplete (SlurmConfig on the instance groups: "after
# the AMI-based initialization is complete", SageMaker API reference, ClusterLifeCycleConfig). Nothing here
# configures or starts Slurm; a node without it cannot run a job, so its creation fails here with the reason
# instead of the node joining the cluster as a silent DOWN.
#   every node:  slurm.conf where HyperPod writes it ($SLURM_ROOT/etc, /opt/slurm/etc on the node)
#   Controller:  slurmctld answers `scontrol ping`
#   Compute:     a slurmd process runs (its registration is the controller's business, checked by the
#                self-check: compute nodes may finish before the controller does)
# node-types: Controller Login Compute
# class: essential
set -euo pipefail

# shellcheck source-path=SCRIPTDIR/.. source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SLURM_CONF="$SLURM_ROOT/etc/slurm.conf"
PING_OUTPUT=""

# slurmctld_up: `scontrol ping` reports the primary controller UP (Slurm prints
# "Slurmctld(primary) at HOST is UP", and exits non-zero when no controller answers).
slurmctld_up() {
  PING_OUTPUT=$(scontrol ping 2>&1) || return 1
  [[ "$PING_OUTPUT" == *"(primary) at "*" is UP"* ]]
}

slurmd_running() { pgrep -x slurmd >/dev/null; }

main() {
  local attempts=${PROVISION_SLURM_ATTEMPTS:-10} delay=${PROVISION_SLURM_DELAY:-3} type
  type=$(node_type "$(node_group)")
  [[ -f "$SLURM_CONF" ]] ||
    die "$SLURM_CONF not found: HyperPod configures Slurm only for instance groups with SlurmConfig" \
      "(NodeType $type); check the cluster's instance groups and /var/log/aws/clusters/."
  case "$type" in
    Controller)
      retry "$attempts" "$delay" slurmctld_up ||
        die "slurmctld does not answer on this controller after $attempts attempts: ${PING_OUTPUT:-no output}." \
          "See /var/log/slurm/slurmctld.log and 'systemctl status slurmctld'."
      log INFO "slurmctld is up: $PING_OUTPUT"
      ;;
    Compute)
      retry "$attempts" "$delay" slurmd_running ||
        die "no slurmd process on this compute node after $attempts attempts; see /var/log/slurm/slurmd.log" \
          "and 'systemctl status slurmd'."
      log INFO "slurmd runs; $SLURM_CONF present"
      ;;
    *) log INFO "$SLURM_CONF present" ;;
  esac
}

main "$@"
