#!/usr/bin/env bash
# npm run test:rehearsal: the lifecycle and job scripts against a real Slurm, node_exporter, Prometheus and
# Alertmanager on this machine. As root (the daemons and the lifecycle scripts need it), in private namespaces:
# a network namespace (its own loopback and the controller's 10.1.0.10, so no port of the machine is used), a
# mount namespace (overlays on /etc and /usr/local/bin, see inside.sh), a UTS namespace (the host name HyperPod
# gives the controller) and a PID namespace (every daemon dies with it). Files live in a mktemp -d directory,
# removed afterwards (REHEARSAL_KEEP=1 keeps it). Arguments: bats files to run (default: all of them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

die() {
  echo "test:rehearsal: $*" >&2
  exit 1
}

((EUID == 0)) || die "needs root (slurmd, munged and the lifecycle scripts run as root); run it as root or in CI"
missing=()
for tool in munged slurmctld slurmd sbatch prometheus prometheus-alertmanager prometheus-node-exporter amtool \
  promtool bats unshare curl python3 ip; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
((${#missing[@]} == 0)) || die "missing ${missing[*]}: npm run test:rehearsal installs them as root (test/rehearsal/debian-packages.txt)"

root=$(mktemp -d /tmp/rehearsal.XXXXXX)
chmod 0755 "$root"
# shellcheck disable=SC2317 # run by the trap
cleanup() {
  if [[ "${REHEARSAL_KEEP:-}" == 1 ]]; then echo "test:rehearsal: kept $root" >&2; else rm -rf "$root"; fi
}
trap cleanup EXIT

started=$SECONDS
mkdir -p "$root/render"
(cd "$repo" && npx tsx "$here/render.ts" "$root/render" "http://127.0.0.1:$(sed -n 's/.*WEBHOOK_PORT=\([0-9]*\).*/\1/p' "$here/harness.bash")")
status=0
unshare --pid --fork --mount-proc --net --mount --uts --propagation private \
  env REHEARSAL_ROOT="$root" bash "$here/inside.sh" "$@" || status=$?
echo "test:rehearsal: $((SECONDS - started)) s" >&2
exit "$status"
