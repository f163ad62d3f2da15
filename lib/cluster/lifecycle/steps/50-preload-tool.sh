#!/usr/bin/env bash
# Install /usr/local/bin/preload, which warms FSx for Lustre files from their S3 data repository
# before a job reads them, with the cluster's default parallelism (settings.preload.parallelism).
# node-types: Login Compute
# class: optional
set -euo pipefail

# shellcheck source-path=SCRIPTDIR/.. source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

main() {
  local parallelism
  parallelism=$(settings_get preload.parallelism 8)
  if ! [[ "$parallelism" =~ ^[0-9]+$ ]] || ((parallelism < 1 || parallelism > 512)); then
    die "preload.parallelism must be an integer from 1 to 512, got '$parallelism'"
  fi
  install_file "$LIFECYCLE_DIR/bin/preload" "$BIN_DIR/preload" 0755
  install_content "$ETC_DIR/hyperpod/preload.conf" 0644 <<CONF
# Defaults for $BIN_DIR/preload, from cluster-settings.json. Generated; do not edit.
PRELOAD_PARALLELISM=$parallelism
CONF
  command -v lfs >/dev/null || log WARN "lfs (the Lustre client) is not on PATH; preload needs it"
  log INFO "preload installed at $BIN_DIR/preload, default parallelism $parallelism"
}

main "$@"
