#!/usr/bin/env bash
# Installs orch from this source tree: builds the release executables and copies them to
# $PREFIX/bin (default ~/.local/bin). Installs tmux with apt-get when it is missing.
# Then run `orch up` to register the hooks in Claude Code (undo with `orch down`).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${PREFIX:-$HOME/.local}"

need_tmux() {
  ! command -v tmux >/dev/null 2>&1
}
if need_tmux; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq tmux
  else
    echo "install: tmux 3.0 or newer is needed: install it with your package manager" >&2
    exit 1
  fi
fi

cargo build --release --locked
mkdir -p "$prefix/bin"
for exe in orch orch-up orch-down orch-spawn orch-listen orch-subscribe orch-hook orch-sim; do
  install -m 0755 "target/release/$exe" "$prefix/bin/$exe"
done
echo "installed orch into $prefix/bin"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "add $prefix/bin to PATH, e.g. export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
