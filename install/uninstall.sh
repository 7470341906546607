#!/usr/bin/env bash
# Undoes install.sh: `orch down --yes` (removes orch's hooks and skill links from Claude Code's
# settings, after a backup, and the state directory unless --keep-state), then removes the
# shell completions, the man pages and the executables install.sh put in place. Idempotent: a
# second run changes nothing.
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
# The completions and man pages install.sh wrote (the man pages named by the orch installed).
data="${XDG_DATA_HOME:-$HOME/.local/share}"
config="${XDG_CONFIG_HOME:-$HOME/.config}"
made=(
  "$data/bash-completion/completions/orch"
  "$data/zsh/site-functions/_orch"
  "$config/fish/completions/orch.fish"
)
if [ -x "$prefix/bin/orch" ]; then
  pages=$(mktemp -d)
  "$prefix/bin/orch" __man "$pages" >/dev/null
  for page in "$pages"/*.1; do made+=("$prefix/share/man/man1/$(basename "$page")"); done
  rm -rf "$pages"
fi
for file in "${made[@]}"; do
  if [ -e "$file" ]; then
    if [ "$dry" = 1 ]; then
      say "would remove $file"
    else
      rm -f "$file"
      say "removed $file"
      rmdir "$(dirname "$file")" 2>/dev/null || true  # the folder, if orch's was all it held
    fi
  fi
done

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
