#!/usr/bin/env bash
# Directories on the shared file system that every user writes to (settings fsx.userDirectories, relative to
# fsx.mountPath; e.g. the checkpoints directory that exports to S3, and users/): created when missing and
# made writable by all like /tmp (mode 1777: anyone creates, only the owner removes). Then checked as an
# unprivileged user, because a job that cannot write its checkpoint loses hours. Controller only: the file
# system is shared, and it lives on FSx, so it survives reboots and node replacements.
# node-types: Controller
# class: essential
set -euo pipefail

# shellcheck source-path=SCRIPTDIR/.. source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# user_directories: the validated relative paths, one per line.
user_directories() {
  py - "$SETTINGS_FILE" <<'PY'
import json, re, sys
path = sys.argv[1]
dirs = (json.load(open(path)).get("fsx") or {}).get("userDirectories") or []
if not isinstance(dirs, list):
    sys.exit("%s: fsx.userDirectories must be a list of relative paths, got %r" % (path, dirs))
for d in dirs:
    if not isinstance(d, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*", d) or ".." in d.split("/"):
        sys.exit("%s: fsx.userDirectories entries must be relative paths such as 'checkpoints', got %r" % (path, d))
    print(d)
PY
}

# writable_by_nobody DIR: an unprivileged user can create and remove a file in DIR.
writable_by_nobody() {
  local probe="$1/.hyperpod-write-test.$$"
  runuser -u nobody -- touch "$probe" && runuser -u nobody -- rm -f "$probe"
}

main() {
  local mount_path dirs dir full
  mount_path=$(settings_get fsx.mountPath "")
  if [[ -z "$mount_path" ]]; then
    log INFO "no FSx file system in $SETTINGS_FILE; no shared directories"
    return 0
  fi
  dirs=$(user_directories) || die "invalid fsx.userDirectories"
  while IFS= read -r dir; do
    [[ -n "$dir" ]] || continue
    full="$(host_path "$mount_path")/$dir"
    mkdir -p "$full"
    chmod 1777 "$full"
    writable_by_nobody "$full" || die "$mount_path/$dir is not writable by an unprivileged user after chmod 1777"
    log INFO "$mount_path/$dir is writable by every user (1777)"
  done <<<"$dirs"
}

main "$@"
