#!/usr/bin/env bash
# Container jobs: verify the Docker, enroot and pyxis that the HyperPod DLAMI ships, and move their data off
# the small root volume. Nothing is installed: current HyperPod DLAMIs ship enroot as a package and pyxis
# pre-registered in /opt/slurm/etc/plugstack.conf (awslabs/awsome-distributed-ai,
# LifecycleScripts/base-config/utils/install_enroot_pyxis.sh, which skips its own install on them), and
# building them here would need GitHub at boot. On an AMI without them this step fails and says so.
# Where the data goes, so that a reboot breaks nothing (lifecycle scripts do not re-run on reboot, and a
# reboot wipes /opt/dlami/nvme):
# - Docker's data-root goes to the EBS volume at /opt/sagemaker, which survives reboots: images and the
#   exporter containers (restart policy unless-stopped) are still there after one.
# - enroot's runtime, data, cache and temp paths go to the instance-local volume (NVMe on P5; it is scratch
#   space), and a systemd unit re-creates those directories at every boot, after dlami-nvme.service has
#   mounted the NVMe again and before slurmd takes jobs.
# Switched by features.containers.
# node-types: Login Compute
# class: essential
set -euo pipefail

# shellcheck source-path=SCRIPTDIR/.. source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

require_tools() {
  local tool
  for tool in docker enroot; do
    command -v "$tool" >/dev/null ||
      die "$tool is not installed; features.containers needs an AMI that ships Docker, enroot and pyxis" \
        "(these scripts download nothing at boot). Use the HyperPod DLAMI or set features.containers to false."
  done
}

check_enroot() {
  local version
  version=$(enroot version 2>/dev/null) || die "enroot is installed but 'enroot version' fails"
  log INFO "enroot $version"
}

# pyxis must be installed for `srun --container-image`; HyperPod registers it in plugstack.conf.
check_pyxis() {
  local plugin found=""
  for plugin in "$SLURM_ROOT/lib/slurm/spank_pyxis.so" "$PROVISION_ROOT/usr/local/lib/slurm/spank_pyxis.so"; do
    [[ -f "$plugin" ]] && found=$plugin
  done
  [[ -n "$found" ]] ||
    die "pyxis (spank_pyxis.so) is not installed under $SLURM_ROOT/lib/slurm or /usr/local/lib/slurm;" \
      "these scripts do not build it at boot. Use the HyperPod DLAMI or set features.containers to false."
  grep -Rqs 'spank_pyxis' "$SLURM_ROOT/etc/plugstack.conf" "$SLURM_ROOT/etc/plugstack.conf.d" ||
    die "pyxis $found is not registered in $SLURM_ROOT/etc/plugstack.conf; srun --container-image would fail." \
      "The HyperPod DLAMI registers it; set features.containers to false on an AMI that does not."
  log INFO "pyxis $found is registered in $SLURM_ROOT/etc/plugstack.conf"
}

# daemon_json_with_root FILE ROOT: FILE's JSON with data-root set, keeping what the DLAMI put there
# (the nvidia runtime, log options). Refuses to overwrite a file it cannot parse.
daemon_json_with_root() {
  py - "$1" "$2" <<'PY'
import json, os, sys
path, root = sys.argv[1], sys.argv[2]
config = {}
if os.path.exists(path) and open(path).read().strip():
    try:
        config = json.load(open(path))
    except ValueError as err:
        sys.exit("%s is not valid JSON (%s); not overwriting it" % (path, err))
config["data-root"] = root
print(json.dumps(config, indent=2, sort_keys=True))
PY
}

docker_root_is() { [[ "$(docker info --format '{{.DockerRootDir}}' 2>/dev/null)" == "$1" ]]; }

configure_docker() {
  local scratch=$1 content
  mkdir -p "$scratch/docker/data-root"
  # Docker's temporary files (DOCKER_TMPDIR) default to <data-root>/tmp, so they move along.
  content=$(daemon_json_with_root "$ETC_DIR/docker/daemon.json" "$scratch/docker/data-root")
  install_content "$ETC_DIR/docker/daemon.json" 0644 <<<"$content"
  if $INSTALL_CHANGED; then
    log INFO "restarting docker.service for the new data-root"
    systemctl restart docker.service
  else
    systemctl is-active --quiet docker.service || systemctl start docker.service
  fi
  retry 5 2 docker_root_is "$scratch/docker/data-root" ||
    die "docker reports root dir '$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || true)', expected $scratch/docker/data-root"
  log INFO "docker data-root is $scratch/docker/data-root"
}

# enroot_conf_with_paths FILE BASE: FILE with enroot's per-user paths under BASE. enroot evaluates the
# values, so $(id -u) gives each user a directory of their own.
enroot_conf_with_paths() {
  py - "$1" "$2" <<'PY'
import os, re, sys
path, base = sys.argv[1], sys.argv[2]
wanted = {
    "ENROOT_RUNTIME_PATH": base + "/runtime/user-$(id -u)",
    "ENROOT_DATA_PATH": base + "/data/user-$(id -u)",
    "ENROOT_CACHE_PATH": base + "/cache/user-$(id -u)",
    "ENROOT_TEMP_PATH": base + "/tmp",
}
lines = open(path).read().splitlines() if os.path.exists(path) else []
out, done = [], set()
for line in lines:
    match = re.match(r"\s*(#\s*)?(ENROOT_[A-Z_]+)(\s|$)", line)
    key = match.group(2) if match else None
    if key in wanted:
        if key not in done:
            out.append("%s %s" % (key, wanted[key]))
            done.add(key)
        elif not match.group(1):
            continue  # a later active duplicate would override ours
        else:
            out.append(line)
    else:
        out.append(line)
out += ["%s %s" % (key, value) for key, value in wanted.items() if key not in done]
print("\n".join(out))
PY
}

# enroot_dirs_unit BASE: a oneshot unit that creates enroot's shared parents under BASE at every boot. They
# are like /tmp (1777): every user creates, and owns, their own user-<uid> directory inside.
enroot_dirs_unit() {
  local base=$1
  cat <<UNIT
# Generated by 30-containers; do not edit.
[Unit]
Description=Create enroot's directories on the instance-local volume (wiped by a reboot)
After=local-fs.target dlami-nvme.service
Wants=dlami-nvme.service
Before=slurmd.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/install -d -m 0755 $base
ExecStart=/usr/bin/install -d -m 1777 $base/runtime $base/data $base/cache $base/tmp

[Install]
WantedBy=multi-user.target
UNIT
}

configure_enroot() {
  local base="$1/enroot" dir content
  content=$(enroot_conf_with_paths "$ETC_DIR/enroot/enroot.conf" "$base")
  install_content "$ETC_DIR/enroot/enroot.conf" 0644 <<<"$content"
  install_content "$ETC_DIR/systemd/system/hyperpod-enroot-dirs.service" 0644 <<<"$(enroot_dirs_unit "$base")"
  if $INSTALL_CHANGED; then
    systemctl daemon-reload
    systemctl enable hyperpod-enroot-dirs.service
  fi
  # The unit's work, done now too (the unit runs from the next boot on).
  mkdir -p "$base"
  chmod 0755 "$base"
  for dir in runtime data cache tmp; do
    mkdir -p "$base/$dir"
    chmod 1777 "$base/$dir"
  done
  log INFO "enroot runtime, data, cache and temp paths are under $base, re-created at boot by hyperpod-enroot-dirs.service"
}

main() {
  local scratch
  if [[ "$(settings_get features.containers false)" != true ]]; then
    log INFO "features.containers is off; Docker and enroot stay as the AMI configured them"
    return 0
  fi
  require_tools
  check_enroot
  check_pyxis
  if mountpoint -q "$SAGEMAKER_EBS_PATH"; then
    configure_docker "$SAGEMAKER_EBS_PATH"
  else
    log WARN "$SAGEMAKER_EBS_PATH is not mounted; Docker keeps its data-root on the root volume"
    systemctl is-active --quiet docker.service || systemctl start docker.service
  fi
  scratch=$(local_scratch)
  if [[ -z "$scratch" ]]; then
    log WARN "neither $DLAMI_NVME_PATH nor $SAGEMAKER_EBS_PATH is mounted; enroot keeps its default paths"
    return 0
  fi
  configure_enroot "$scratch"
}

main "$@"
