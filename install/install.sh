#!/usr/bin/env bash
# Installs orch from this checkout: builds the release executables (or takes them from
# --from DIR), copies them to PREFIX/bin (default ~/.local/bin), then runs `orch up` to register
# the hooks and skills in Claude Code (undo everything with install/uninstall.sh).
# Installs tmux with apt-get when it is missing. Idempotent: a second run changes nothing.
#
#   install/install.sh [--prefix DIR] [--from DIR] [--no-up] [--dry-run]
set -euo pipefail
cd "$(dirname "$0")/.."

prefix="${PREFIX:-$HOME/.local}"
from=""
up=1
dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --from) from="$2"; shift 2 ;;
    --no-up) up=0; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install: unknown option \`$1\` (see --help)" >&2; exit 2 ;;
  esac
done
executables=(orch orch-up orch-down orch-spawn orch-listen orch-subscribe orch-hook orch-sim)
say() { echo "install: $*"; }

if ! command -v tmux >/dev/null 2>&1; then
  if [ "$dry" = 1 ]; then
    say "would install tmux with apt-get"
  elif command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq tmux
  else
    echo "install: tmux 3.0 or newer is needed: install it with your package manager" >&2
    exit 1
  fi
fi

if [ -z "$from" ]; then
  if [ "$dry" = 1 ]; then
    say "would run: install/build.sh (cargo build --release --locked, orch-hook linked statically)"
  else
    install/build.sh
  fi
  from=target/release
fi

[ "$dry" = 1 ] || mkdir -p "$prefix/bin"
for exe in "${executables[@]}"; do
  src="$from/$exe"
  dst="$prefix/bin/$exe"
  if [ "$dry" = 0 ] && [ ! -x "$src" ]; then
    echo "install: \`$src\` is missing: build first (install/build.sh) or pass --from DIR" >&2
    exit 1
  fi
  if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
    continue
  fi
  if [ "$dry" = 1 ]; then
    say "would copy $src -> $dst"
  else
    install -m 0755 "$src" "$dst"
    say "copied $dst"
  fi
done

if [ "$up" = 1 ]; then
  if [ "$dry" = 1 ]; then
    if [ -x "$prefix/bin/orch" ]; then "$prefix/bin/orch" up --dry-run; else say "would run: orch up"; fi
  else
    "$prefix/bin/orch" up
  fi
fi
say "orch is in $prefix/bin"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) say "add $prefix/bin to PATH, e.g. export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
