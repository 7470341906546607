#!/usr/bin/env bash
# Undoes install.sh: `orch down --yes` (removes orch's hooks and skill links from Claude Code's
# settings, after a backup, and the state directory unless --keep-state), then removes the
# executables from PREFIX/bin. Idempotent: a second run changes nothing.
#
#   install/uninstall.sh [--prefix DIR] [--keep-state] [--dry-run]
set -euo pipefail
prefix="${PREFIX:-$HOME/.local}"
down_args=(--yes)
dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --keep-state) down_args+=(--keep-state); shift ;;
    --dry-run) dry=1; down_args+=(--dry-run); shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "uninstall: unknown option \`$1\` (see --help)" >&2; exit 2 ;;
  esac
done
executables=(orch orch-up orch-down orch-spawn orch-listen orch-subscribe orch-hook orch-sim)
say() { echo "uninstall: $*"; }

if [ -x "$prefix/bin/orch" ]; then
  "$prefix/bin/orch" down "${down_args[@]}"
else
  say "no orch in $prefix/bin: nothing to undo in Claude Code's settings"
fi
for exe in "${executables[@]}"; do
  if [ -e "$prefix/bin/$exe" ]; then
    if [ "$dry" = 1 ]; then
      say "would remove $prefix/bin/$exe"
    else
      rm -f "$prefix/bin/$exe"
      say "removed $prefix/bin/$exe"
    fi
  fi
done
