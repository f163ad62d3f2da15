#!/usr/bin/env bash
# Makes sure the tools the tests run are on this machine: the packages in the lists given as arguments
# (default: debian-packages.txt beside this script).
# As root it installs the missing ones with apt-get; otherwise it stops at once and prints the one command
# to run. A missing tool is never skipped: the tests that use it would fail instead.
set -euo pipefail
(($# > 0)) || set -- "$(dirname "${BASH_SOURCE[0]}")/debian-packages.txt"

missing=()
for list in "$@"; do
  while read -r tool package; do
    [[ -z "$tool" || "$tool" == \#* ]] && continue
    command -v "$tool" >/dev/null 2>&1 || missing+=("$package")
  done <"$list"
done
((${#missing[@]} == 0)) && exit 0

mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [[ $(id -u) -ne 0 ]]; then
  echo "The tests need Debian packages that are not installed: ${missing[*]}" >&2
  echo "Install them, then run the tests again:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need these Debian packages and this machine has no apt-get: ${missing[*]}" >&2
  exit 1
fi
echo "provision: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
