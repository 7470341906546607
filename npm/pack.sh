#!/usr/bin/env bash
# Packs orch for npm for this platform from a folder of built executables:
#
#   npm/pack.sh BIN_DIR OUT_DIR     e.g. npm/pack.sh target/release target/npm
#
# (build BIN_DIR with install/build.sh, which links orch-hook statically on Linux)
#
# OUT_DIR/stage/orch gets the wrapper package (@agent-ops/orch: the Node shims, the
# postinstall, and from the repository root README.md and the Claude Code plugin files
# .claude-plugin/, hooks/, skills/ when present); OUT_DIR/stage/platform gets the platform
# package (@agent-ops/orch-<platform>-<arch>: the native executables). Both are packed with
# `npm pack` into OUT_DIR; prints each tarball's path and size in bytes, tab-separated.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: npm/pack.sh BIN_DIR OUT_DIR" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
stage=$out/stage

rm -rf "$stage"
mkdir -p "$stage/orch/scripts"
cp -R "$root/npm/bin" "$root/npm/lib" "$root/npm/package.json" "$stage/orch/"
cp "$root/npm/scripts/postinstall.js" "$stage/orch/scripts/"
for extra in README.md .claude-plugin hooks skills; do
    if [ -e "$root/$extra" ]; then
        cp -RL "$root/$extra" "$stage/orch/"
    fi
done
node "$root/npm/scripts/platform-package.js" --bin-dir "$bin_dir" --out "$stage/platform" >/dev/null

for package in platform orch; do
    tarball=$(cd "$stage/$package" && npm pack --silent --pack-destination "$out" | tail -n 1)
    printf '%s\t%s\n' "$out/$tarball" "$(wc -c < "$out/$tarball" | tr -d ' ')"
done
