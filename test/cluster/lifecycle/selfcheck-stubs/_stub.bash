#!/usr/bin/env bash
# Shared by the self-check's command stubs: a fake cluster whose nodes are node-1..node-$STUB_NODES, driven by
# STUB_* variables. Every call is recorded in $STUB_CALLS. Sourced, never executed.
set -euo pipefail
printf '%s %s\n' "${0##*/}" "$*" >>"$STUB_CALLS"
: "${STUB_NODES:=2}"
# on_list WORD LIST: WORD is one of the space-separated LIST.
on_list() { [[ " ${2-} " == *" $1 "* ]]; }
