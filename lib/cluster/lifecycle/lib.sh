#!/usr/bin/env bash
# Helpers shared by on_init_complete.sh and every step: paths, logging, settings, retry, file installation.
# Sourced, never executed. Every path is overridable so the bats tests can run in a sandbox.
set -euo pipefail
# Command substitutions must stop on errors too.
shopt -s inherit_errexit

LIFECYCLE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly LIFECYCLE_DIR

# PROVISION_ROOT prefixes every system path (empty on a real node).
: "${PROVISION_ROOT:=}"
: "${SETTINGS_FILE:=$LIFECYCLE_DIR/cluster-settings.json}"
# HyperPod exports SAGEMAKER_RESOURCE_CONFIG_PATH for lifecycle scripts; fall back to its default location.
: "${SAGEMAKER_RESOURCE_CONFIG_PATH:=$PROVISION_ROOT/opt/ml/config/resource_config.json}"
: "${PROVISION_LOG_DIR:=$PROVISION_ROOT/var/log/provision}"
: "${ETC_DIR:=$PROVISION_ROOT/etc}"
: "${BIN_DIR:=$PROVISION_ROOT/usr/local/bin}"
: "${SLURM_ROOT:=$PROVISION_ROOT/opt/slurm}"
: "${DLAMI_NVME_PATH:=$PROVISION_ROOT/opt/dlami/nvme}"
: "${SAGEMAKER_EBS_PATH:=$PROVISION_ROOT/opt/sagemaker}"
# node_exporter's textfile directory on the node (host_path adds PROVISION_ROOT).
: "${NODE_TEXTFILE_DIR:=/var/lib/node_exporter/textfile}"
# Upper bound for one backoff delay, seconds.
: "${PROVISION_RETRY_MAX_DELAY:=30}"
export PROVISION_ROOT SETTINGS_FILE SAGEMAKER_RESOURCE_CONFIG_PATH PROVISION_LOG_DIR ETC_DIR BIN_DIR \
  SLURM_ROOT DLAMI_NVME_PATH SAGEMAKER_EBS_PATH NODE_TEXTFILE_DIR PROVISION_RETRY_MAX_DELAY

# py: python3 with the standard library only (-S, which also starts faster) and no PYTHON* variables
# from the caller's environment (-I): these scripts run as root.
py() { python3 -I -S "$@"; }

# log LEVEL MESSAGE...: a timestamped line on stderr, which on_init_complete.sh copies to the console,
# provision.log and the step's own log.
log() {
  local level=$1 now step=${PROVISION_STEP:-${0##*/}}
  shift
  TZ=UTC0 printf -v now '%(%Y-%m-%dT%H:%M:%SZ)T' -1
  printf '%s [%s] [%s] %s\n' "$now" "$level" "${step%.sh}" "$*" >&2
}

die() {
  log ERROR "$*"
  exit 1
}

# host_path PATH: a path from the settings, as seen on this (possibly sandboxed) machine.
host_path() { printf '%s%s' "$PROVISION_ROOT" "$1"; }

# settings_get KEY.PATH [DEFAULT]: one value from cluster-settings.json. Absent or null keys yield
# DEFAULT, or fail when no default is given. Booleans print as true/false, objects and lists as JSON.
settings_get() {
  py - "$SETTINGS_FILE" "$@" <<'PY'
import json, sys
path, key = sys.argv[1], sys.argv[2]
value = json.load(open(path))
for part in key.split("."):
    value = value.get(part) if isinstance(value, dict) else None
if value is None:
    if len(sys.argv) > 3:
        print(sys.argv[3])
        sys.exit(0)
    sys.exit("%s: required key '%s' is missing" % (path, key))
if isinstance(value, bool):
    print("true" if value else "false")
elif isinstance(value, (dict, list)):
    print(json.dumps(value))
else:
    print(value)
PY
}

# require_settings: the settings file exists, is JSON, and has the schema version these scripts read.
require_settings() {
  [[ -f "$SETTINGS_FILE" ]] || die "settings file not found: $SETTINGS_FILE (the construct writes it next to on_init_complete.sh)"
  py - "$SETTINGS_FILE" <<'PY' || die "settings file $SETTINGS_FILE is not usable"
import json, sys
try:
    settings = json.load(open(sys.argv[1]))
except ValueError as err:
    sys.exit("%s: invalid JSON: %s" % (sys.argv[1], err))
if not isinstance(settings, dict) or settings.get("schemaVersion") != 1:
    version = settings.get("schemaVersion") if isinstance(settings, dict) else None
    sys.exit("%s: schemaVersion must be 1, got %r" % (sys.argv[1], version))
PY
}

# local_addresses: this host's IPv4 addresses, then the one encoded in an ip-a-b-c-d hostname.
local_addresses() {
  local name
  hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' || true
  name=$(hostname 2>/dev/null || true)
  if [[ "${name%%.*}" =~ ^ip-([0-9]+)-([0-9]+)-([0-9]+)-([0-9]+)$ ]]; then
    printf '%s.%s.%s.%s\n' "${BASH_REMATCH[@]:1:4}"
  fi
}

# node_group: the instance group whose instances include this host's address (CustomerIpAddress in
# resource_config.json). Addresses are tried in local_addresses' order, interfaces first.
node_group() {
  local addresses
  [[ -f "$SAGEMAKER_RESOURCE_CONFIG_PATH" ]] ||
    die "HyperPod resource config not found: $SAGEMAKER_RESOURCE_CONFIG_PATH"
  addresses=$(local_addresses | tr '\n' ' ')
  py - "$SAGEMAKER_RESOURCE_CONFIG_PATH" "$addresses" <<'PY' || die "cannot determine this node's instance group"
import json, sys
path, addresses = sys.argv[1], sys.argv[2].split()
groups = {}
for group in json.load(open(path)).get("InstanceGroups", []):
    for instance in group.get("Instances", []):
        groups.setdefault(instance.get("CustomerIpAddress"), group["Name"])
for address in addresses:
    if address in groups:
        print(groups[address])
        sys.exit(0)
sys.exit("%s lists no instance with this host's addresses (%s)" % (path, " ".join(addresses) or "none found"))
PY
}

# node_type GROUP: Controller, Login or Compute, from the settings' instanceGroups map.
node_type() {
  local group=$1 type
  type=$(settings_get "instanceGroups.$group" "") || exit 1
  if [[ -z "$type" ]]; then
    die "instance group '$group' is not in $SETTINGS_FILE instanceGroups ($(settings_get instanceGroups))"
  fi
  case "$type" in
    Controller | Login | Compute) printf '%s\n' "$type" ;;
    *) die "instance group '$group' has node type '$type'; expected Controller, Login or Compute" ;;
  esac
}

# retry ATTEMPTS DELAY COMMAND...: run COMMAND until it succeeds, doubling DELAY between attempts
# (capped at PROVISION_RETRY_MAX_DELAY). Fails after ATTEMPTS tries.
retry() {
  local attempts=$1 delay=$2 attempt=1
  shift 2
  until "$@"; do
    if ((attempt >= attempts)); then
      log WARN "'$*' failed $attempts times; giving up"
      return 1
    fi
    log INFO "'$*' failed (attempt $attempt/$attempts); retrying in ${delay}s"
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2 > PROVISION_RETRY_MAX_DELAY ? PROVISION_RETRY_MAX_DELAY : delay * 2))
  done
}

# install_content DEST MODE < CONTENT: write DEST only when content or mode differ, atomically, so a
# re-run changes nothing. Sets INSTALL_CHANGED=true|false for callers that must restart something.
INSTALL_CHANGED=false
# shellcheck disable=SC2034 # INSTALL_CHANGED is read by the steps that source this file
install_content() {
  local dest=$1 mode=$2 tmp
  mkdir -p "${dest%/*}"
  tmp=$(mktemp "$dest.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [[ -f "$dest" ]] && cmp -s "$tmp" "$dest" && [[ "$(stat -c %a "$dest")" == "${mode#0}" ]]; then
    rm -f "$tmp"
    INSTALL_CHANGED=false
    log INFO "$dest is up to date"
  else
    mv -f "$tmp" "$dest"
    INSTALL_CHANGED=true
    log INFO "wrote $dest (mode $mode)"
  fi
}

# install_file SOURCE DEST MODE: install_content for a file shipped with these scripts.
install_file() {
  install_content "$2" "$3" <"$1"
}

# local_scratch: the instance-local volume for container data: the DLAMI's NVMe RAID when present,
# else the EBS volume HyperPod mounts at /opt/sagemaker; empty when neither is mounted.
local_scratch() {
  if [[ "$(systemctl show -p LoadState --value dlami-nvme.service 2>/dev/null)" == loaded ]]; then
    # dlami-nvme.service assembles and mounts the NVMe drives; it may still be running at OnInitComplete.
    retry "${PROVISION_NVME_ATTEMPTS:-12}" "${PROVISION_NVME_DELAY:-5}" systemctl is-active --quiet dlami-nvme.service ||
      log WARN "dlami-nvme.service is not active; local NVMe may be unavailable"
  fi
  if mountpoint -q "$DLAMI_NVME_PATH"; then
    printf '%s\n' "$DLAMI_NVME_PATH"
  elif mountpoint -q "$SAGEMAKER_EBS_PATH"; then
    printf '%s\n' "$SAGEMAKER_EBS_PATH"
  fi
}

# periodic_service NAME SECONDS DESCRIPTION COMMAND [ENVIRONMENT]: run COMMAND every SECONDS through NAME.service
# (oneshot, with ENVIRONMENT as its Environment= line) and NAME.timer. The units are reloaded and the timer restarted
# only when they changed (so a new interval takes effect); a stopped timer is started again. AccuracySec=1s: systemd
# would otherwise coalesce the runs to once a minute.
periodic_service() {
  local name=$1 seconds=$2 description=$3 command=$4 environment=${5:+Environment=$5} changed=false
  local unit_dir="$ETC_DIR/systemd/system"
  install_content "$unit_dir/$name.service" 0644 <<UNIT
# Generated by the cdk-hyperpod-training lifecycle scripts; do not edit.
[Unit]
Description=$description

[Service]
Type=oneshot
$environment
ExecStart=$command
UNIT
  if $INSTALL_CHANGED; then changed=true; fi
  install_content "$unit_dir/$name.timer" 0644 <<UNIT
# Generated by the cdk-hyperpod-training lifecycle scripts; do not edit.
[Unit]
Description=Run $name every ${seconds}s

[Timer]
OnActiveSec=1s
OnUnitActiveSec=${seconds}s
AccuracySec=1s

[Install]
WantedBy=timers.target
UNIT
  if $INSTALL_CHANGED; then changed=true; fi
  if $changed; then
    systemctl daemon-reload
    systemctl enable "$name.timer"
    systemctl restart "$name.timer"
  elif ! systemctl is-active --quiet "$name.timer"; then
    systemctl enable --now "$name.timer"
  fi
}

# slurm_conf_with_block FILE NAME [KEY=VALUE...]: FILE's content with a marked block NAME at its end that sets each
# KEY=VALUE, in place of the block an earlier run wrote. Other lines setting one of these keys are commented out with
# a mark (and restored once a later run no longer sets the key), so that the block alone decides and a re-run
# changes nothing. Without KEY=VALUE: FILE as it was before any run.
slurm_conf_with_block() {
  py - "$@" <<'PY'
import re, sys
path, name, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
begin, end = "# BEGIN cdk-hyperpod-training %s" % name, "# END cdk-hyperpod-training %s" % name
mark = "  # replaced by the cdk-hyperpod-training %s block below" % name
keys = {pair.split("=", 1)[0].lower() for pair in pairs}
out, in_block = [], False
for line in open(path).read().splitlines():
    in_block = in_block or line.startswith(begin)
    if in_block:
        in_block = not line.startswith(end)
        continue
    if line.startswith("# ") and line.endswith(mark):
        line = line[2:-len(mark)]
    setting = re.match(r"\s*([A-Za-z]+)\s*=", line)
    if setting and setting.group(1).lower() in keys:
        line = "# " + line + mark
    out.append(line)
while out and not out[-1].strip():
    out.pop()
if pairs:
    out += ["", begin + " (do not edit)"] + pairs + [end]
print("\n".join(out))
PY
}
