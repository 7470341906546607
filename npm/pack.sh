#!/usr/bin/env bash
# Packs orch for npm for this platform from a folder of built executables:
#
#   npm/pack.sh BIN_DIR OUT_DIR     e.g. npm/pack.sh target/release target/npm
#
# (build BIN_DIR with install/build.sh, which links orch-hook statically on Linux)
#
# OUT_DIR/stage/orch gets the wrapper package (@agent-ops/orch: the Node shims, the
# postinstall, a man page per command (the wrapper is the package npm installs globally, so the
# one whose man pages it links), and from the repository root README.md and the Claude Code plugin files
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
# A man page per command, from the orch being packed, listed in the manifest's `man` field so
# that a global install links them (npm 11 does not read `directories.man`).
"$bin_dir/orch" __man "$stage/orch/man" >/dev/null
node -e '
const fs = require("fs");
const file = process.argv[1] + "/package.json";
const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
manifest.man = fs.readdirSync(process.argv[1] + "/man").sort().map((page) => "./man/" + page);
fs.writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n");
' "$stage/orch"
node "$root/npm/scripts/platform-package.js" --bin-dir "$bin_dir" --out "$stage/platform" >/dev/null

for package in platform orch; do
    tarball=$(cd "$stage/$package" && npm pack --silent --pack-destination "$out" | tail -n 1)
    printf '%s\t%s\n' "$out/$tarball" "$(wc -c < "$out/$tarball" | tr -d ' ')"
done
