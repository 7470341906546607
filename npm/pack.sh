#!/usr/bin/env bash
# Builds the release executables and packs the npm wrapper with them for this platform:
# npm/native/<platform>-<arch>/ gets the native executables, then `npm pack` makes the tarball.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
platform=$(node -p 'process.platform + "-" + process.arch')
dest="npm/native/$platform"
mkdir -p "$dest"
for exe in orch orch-up orch-down orch-spawn orch-listen orch-subscribe orch-hook orch-sim; do
  install -m 0755 "target/release/$exe" "$dest/$exe"
done
cp README.md npm/README.md
(cd npm && npm pack)
