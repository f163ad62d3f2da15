#!/usr/bin/env bash
# Shared by the command stubs: record each call, count calls per key. Sourced, never executed.
set -euo pipefail

# record: append "<command> <args>" to $STUB_CALLS so tests can assert what a step ran.
record() {
  printf '%s %s\n' "${0##*/}" "$*" >>"$STUB_CALLS"
}

# bump KEY: increment and print the number of calls counted under KEY.
bump() {
  local file="$STUB_STATE/count.${1//[^[:alnum:]]/_}" count=0
  [[ -f "$file" ]] && count=$(<"$file")
  count=$((count + 1))
  echo "$count" >"$file"
  echo "$count"
}

# ready KEY AFTER: true from the AFTER-th call under KEY on ("never" never is).
ready() {
  [[ "$2" != never ]] && (($(bump "$1") >= $2))
}

# matches PATH GLOB: PATH's file name matches GLOB (an empty GLOB matches nothing).
matches() {
  # shellcheck disable=SC2053 # GLOB is a pattern on purpose
  [[ -n "$2" && "${1##*/}" == $2 ]]
}

record "$@"
