#!/bin/sh
# orch's hook when orch is loaded as a Claude Code plugin (hooks.json runs this file): finds the
# native `orch-hook` and execs it with stdin untouched. It looks beside $ORCH_BINARY (the native
# `orch`), in the npm platform package beside the plugin's package, in a checkout's target/
# folder, then on PATH. Without one it drains stdin and exits 0: never break the agent, never
# exit 2.
try() { [ -f "$1" ] && [ -x "$1" ] && exec "$1"; }
case $ORCH_BINARY in
    */*) try "${ORCH_BINARY%/*}/orch-hook" ;;
esac
root=${CLAUDE_PLUGIN_ROOT:-${0%/*}/..}
case $(uname -s) in Linux) os=linux ;; Darwin) os=darwin ;; *) os=unknown ;; esac
case $(uname -m) in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=unknown ;; esac
try "$root/../orch-$os-$arch/bin/orch-hook"
try "$root/native/$os-$arch/orch-hook"
try "$root/target/release/orch-hook"
try "$root/target/debug/orch-hook"
hook=$(command -v orch-hook 2>/dev/null) && try "$hook"
cat >/dev/null
exit 0
