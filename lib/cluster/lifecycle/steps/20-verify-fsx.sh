#!/usr/bin/env bash
# Verify that FSx for Lustre is mounted at the settings' mountPath. HyperPod mounts it itself from the
# instance group's FsxLustreConfig, possibly after OnInitComplete has started: wait for that mount, never
# add a second one.
# node-types: Controller Login Compute
# class: essential
set -euo pipefail

# shellcheck source-path=SCRIPTDIR/.. source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

FSX_SOURCE=""

# lustre_mounted PATH MOUNT_NAME: PATH is a Lustre mount of the file system with MOUNT_NAME.
lustre_mounted() {
  local path=$1 mount_name=$2
  # Listing the directory triggers an x-systemd.automount mount; the timeout guards against a hung client.
  timeout "${PROVISION_FSX_ACCESS_TIMEOUT:-60}" ls -d "$path/." >/dev/null 2>&1 || return 1
  FSX_SOURCE=$(findmnt -n -t lustre -o SOURCE --mountpoint "$path" 2>/dev/null | head -n 1) || return 1
  # The kernel records the MGS address (10.1.2.3@tcp:/mountname), not the DNS name: match the mount name.
  [[ "$FSX_SOURCE" == *":/$mount_name" ]]
}

main() {
  local attempts=${PROVISION_FSX_ATTEMPTS:-20} delay=${PROVISION_FSX_DELAY:-5} mount_path dns_name mount_name
  mount_path=$(settings_get fsx.mountPath "")
  if [[ -z "$mount_path" ]]; then
    log INFO "no FSx file system in $SETTINGS_FILE; nothing to verify"
    return 0
  fi
  dns_name=$(settings_get fsx.dnsName)
  mount_name=$(settings_get fsx.mountName)
  if ! retry "$attempts" "$delay" lustre_mounted "$(host_path "$mount_path")" "$mount_name"; then
    die "FSx for Lustre $dns_name@tcp:/$mount_name is not mounted at $mount_path after $attempts attempts${FSX_SOURCE:+ (found $FSX_SOURCE there)}." \
      "HyperPod mounts it from the instance group's FsxLustreConfig: check that it names $dns_name, that the" \
      "file system's security group allows TCP 988 and 1018-1023 from the nodes, and /var/log/aws/clusters/."
  fi
  log INFO "FSx for Lustre $FSX_SOURCE ($dns_name) is mounted at $mount_path"
}

main "$@"
