#!/usr/bin/env bats
# test/tools/provision.sh: what `npm test` does first on a fresh machine.

setup() {
  STUBS=$(mktemp -d)
  LIST="$STUBS/packages.txt"
  printf '# comment\n\nbash bash\nno-such-tool-for-provision fakepkg\nalso-missing-tool fakepkg\n' >"$LIST"
  # id and apt-get stand in for the machine: root or not, and what apt-get was asked.
  printf '#!/usr/bin/env bash\necho "${STUB_UID:-0}"\n' >"$STUBS/id"
  printf '#!/usr/bin/env bash\necho "apt-get $*" >>"%s/apt.calls"\n' "$STUBS" >"$STUBS/apt-get"
  chmod +x "$STUBS/id" "$STUBS/apt-get"
  PROVISION="$BATS_TEST_DIRNAME/provision.sh"
}

teardown() { rm -rf "$STUBS"; }

@test "nothing to do when every tool is there" {
  printf 'bash bash\n' >"$LIST"
  run env PATH="$STUBS:$PATH" bash "$PROVISION" "$LIST"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  [ ! -e "$STUBS/apt.calls" ]
}

@test "as root, installs each missing package once" {
  run env PATH="$STUBS:$PATH" bash "$PROVISION" "$LIST"
  [ "$status" -eq 0 ]
  [ "$(cat "$STUBS/apt.calls")" = "$(printf '%s\n' 'apt-get update -qq' 'apt-get install -y -qq --no-install-recommends fakepkg')" ]
}

@test "not root: stops at once with the one command to run, installs nothing" {
  run env PATH="$STUBS:$PATH" STUB_UID=1000 bash "$PROVISION" "$LIST"
  [ "$status" -eq 1 ]
  [[ "$output" == *"sudo apt-get install -y --no-install-recommends fakepkg"* ]]
  [ ! -e "$STUBS/apt.calls" ]
}

@test "reads every list it is given; the default is the test command's own list" {
  printf 'other-missing-tool otherpkg\n' >"$STUBS/second.txt"
  run env PATH="$STUBS:$PATH" STUB_UID=1000 bash "$PROVISION" "$LIST" "$STUBS/second.txt"
  [[ "$output" == *"install -y --no-install-recommends fakepkg otherpkg"* ]]
  grep -q '^bats bats$' "$BATS_TEST_DIRNAME/debian-packages.txt"
  grep -q '^promtool prometheus$' "$BATS_TEST_DIRNAME/debian-packages.txt"
}
