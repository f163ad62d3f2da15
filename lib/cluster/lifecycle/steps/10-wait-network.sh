#!/usr/bin/env bash
# Wait until the node has a default route and resolves the names later steps need (the FSx file
# system's DNS name). HyperPod may still be restarting systemd-resolved when OnInitComplete starts.
# node-types: Controller Login Compute
# class: essential
set -euo pipefail

# shellcheck source-path=SCRIPTDIR/.. source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

has_default_route() { [[ -n "$(ip route show default 2>/dev/null)" ]]; }

ADDRESSES=""

resolves() { ADDRESSES=$(getent hosts "$1" | awk '{ printf "%s%s", sep, $1; sep = " " }'); }

main() {
  local attempts=${PROVISION_NETWORK_ATTEMPTS:-20} delay=${PROVISION_NETWORK_DELAY:-2} region name
  region=$(settings_get region)
  # Without FSx, any regional AWS endpoint proves that the VPC resolver answers.
  name=$(settings_get fsx.dnsName "sts.$region.amazonaws.com")
  retry "$attempts" "$delay" has_default_route ||
    die "no default route after $attempts attempts; the node has no usable network interface"
  log INFO "default route: $(ip route show default)"
  retry "$attempts" "$delay" resolves "$name" ||
    die "DNS name $name does not resolve after $attempts attempts; check the VPC's DNS support and DHCP options"
  log INFO "$name resolves: $ADDRESSES"
}

main "$@"
