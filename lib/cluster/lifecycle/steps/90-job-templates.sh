#!/usr/bin/env bash
# Job templates on the shared file system: every file in jobs/ (the NCCL and DCGM checks, the image import, the
# checkpoint conversion, tokenization and export jobs with the library and converter plugin they load, the throughput
# probe and the launch scripts the construct generated for its plan) is copied to <fsx.mountPath>/jobs, with cluster-selfcheck
# and the settings it reads, readable by every user: scripts (a "#!" first line) 0755, other files 0644. Files are rewritten only when they change; files users
# put there are left alone. Controller only: the file system is shared, one copy serves all nodes.
# node-types: Controller
# class: essential
set -euo pipefail

# shellcheck source-path=SCRIPTDIR/.. source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

main() {
  local mount_path dest file mode count=0
  mount_path=$(settings_get fsx.mountPath "")
  if [[ -z "$mount_path" ]]; then
    log INFO "no FSx file system in $SETTINGS_FILE; job templates are not installed"
    return 0
  fi
  dest="$(host_path "$mount_path")/jobs"
  mkdir -p "$dest"
  [[ "$(stat -c %a "$dest")" == 755 ]] || chmod 0755 "$dest"
  for file in "$LIFECYCLE_DIR"/jobs/*; do
    [[ -f "$file" ]] || continue
    # S3 keeps no file modes, so the first line decides: scripts are executable.
    if [[ "$(head -c 2 "$file")" == '#!' ]]; then mode=0755; else mode=0644; fi
    install_file "$file" "$dest/${file##*/}" "$mode"
    count=$((count + 1))
  done
  # The self-check, with the settings it compares the cluster against (no secrets: ARNs and names).
  install_file "$LIFECYCLE_DIR/bin/cluster-selfcheck" "$dest/cluster-selfcheck" 0755
  install_file "$SETTINGS_FILE" "$dest/cluster-settings.json" 0644
  log INFO "$count job template(s), cluster-selfcheck and its settings in $mount_path/jobs"
}

main "$@"
