#!/usr/bin/env bash
# Builds orch's release executables into target/release, as install/install.sh and the npm
# packages ship them:
#
#   install/build.sh
#
# On Linux `orch-hook` is then linked again statically (glibc included): Claude Code runs it for
# every hook event of every session on the machine, and a statically linked executable starts in
# about 0.6 ms where the dynamically linked one takes about 0.85 ms (the loader resolving libc
# and libgcc_s; `cargo bench --bench bench` prints both). The flag goes to the last rustc call
# only, so the dependencies are the same build as the other executables'.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked
if [ "$(uname -s)" = Linux ]; then
    if ! cargo rustc --release --locked -p orch --bin orch-hook -- -C target-feature=+crt-static; then
        # glibc's static archives are a separate package on some systems.
        echo "build: cannot link orch-hook statically (install glibc's static libraries:" \
            "libc6-dev on Debian, glibc-static on Fedora); keeping the dynamically linked one" >&2
        cargo build --release --locked -p orch --bin orch-hook
    fi
fi
