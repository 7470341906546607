#!/usr/bin/env bash
# Undoes install.sh: `orch down --yes` (removes orch's hooks and skill links from Claude Code's
# settings, with a backup, and the state directory), then removes the executables.
set -euo pipefail
prefix="${PREFIX:-$HOME/.local}"
if [ -x "$prefix/bin/orch" ]; then
  "$prefix/bin/orch" down --yes "$@"
fi
for exe in orch orch-up orch-down orch-spawn orch-listen orch-subscribe orch-hook orch-sim; do
  rm -f "$prefix/bin/$exe"
done
echo "removed orch from $prefix/bin"
