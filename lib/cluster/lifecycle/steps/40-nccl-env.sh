#!/usr/bin/env bash
# NCCL/EFA environment for training jobs, in one place: settings.nccl (decided by the construct) is
# written to /etc/hyperpod/nccl-env.sh, which login shells source through /etc/profile.d (sbatch and
# srun pass the submitting shell's environment on to jobs), job scripts can source directly, and
# enroot containers receive through environ.d.
# node-types: Login Compute
# class: essential
set -euo pipefail

# shellcheck source-path=SCRIPTDIR/.. source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# render FORMAT: settings.nccl as "export NAME='value'" lines (shell) or NAME=value lines (enroot).
render() {
  py - "$SETTINGS_FILE" "$1" <<'PY'
import json, re, shlex, sys
path, fmt = sys.argv[1], sys.argv[2]
nccl = json.load(open(path)).get("nccl") or {}
if not isinstance(nccl, dict):
    sys.exit("%s: nccl must be an object of environment variables" % path)
for name, value in nccl.items():
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        sys.exit("%s: nccl key %r is not an environment variable name" % (path, name))
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        sys.exit("%s: nccl.%s must be a string or a number, got %r" % (path, name, value))
    value = str(value)
    if "\n" in value:
        sys.exit("%s: nccl.%s contains a newline" % (path, name))
    print("export %s=%s" % (name, shlex.quote(value)) if fmt == "shell" else "%s=%s" % (name, value))
PY
}

main() {
  local env_file="$ETC_DIR/hyperpod/nccl-env.sh" shell_lines enroot_lines
  shell_lines=$(render shell)
  enroot_lines=$(render enroot)
  [[ -n "$shell_lines" ]] || log WARN "settings.nccl is empty; jobs get no NCCL/EFA variables from this node"
  install_content "$env_file" 0644 <<ENV
# NCCL/EFA environment for training jobs, from cluster-settings.json. Generated; do not edit.
# In a job script: . $env_file
$shell_lines
ENV
  install_content "$ETC_DIR/profile.d/hyperpod-nccl.sh" 0644 <<PROFILE
# Login shells get the NCCL/EFA job environment; sbatch and srun pass it on to jobs.
if [ -r "$env_file" ]; then
  . "$env_file"
fi
PROFILE
  if [[ -d "$ETC_DIR/enroot" ]]; then
    install_content "$ETC_DIR/enroot/environ.d/50-hyperpod-nccl.env" 0644 <<<"$enroot_lines"
  else
    log INFO "enroot is not installed; no container environment file written"
  fi
  log INFO "NCCL/EFA environment: $(grep -c '^export ' "$env_file" || true) variables in $env_file"
}

main "$@"
