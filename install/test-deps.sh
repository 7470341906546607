#!/usr/bin/env bash
# Installs what orch's tests need on a Debian machine: tmux >= 3.0, python3, and the Claude Code
# CLI, the Codex CLI, the Gemini CLI and pi, each pinned to one version, in a cache folder the
# tests look in (tests/claude.rs `claude_bin`, tests/codex.rs, tests/gemini.rs, tests/pi_harness.rs).
#
#   install/test-deps.sh
#
# Idempotent: a second run finds them in place and downloads nothing.
# Cache folder: ${ORCH_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orch-test}
set -euo pipefail

CLAUDE_VERSION=2.1.197
CACHE=${ORCH_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orch-test}
PREFIX=$CACHE/claude-code
CLAUDE=$PREFIX/node_modules/.bin/claude
CODEX_VERSION=0.169.0
CODEX=$CACHE/codex/node_modules/.bin/codex
GEMINI_VERSION=0.61.0
GEMINI=$CACHE/gemini/node_modules/.bin/gemini
PI_VERSION=0.73.1
PI=$CACHE/pi/node_modules/.bin/pi

say() { printf 'test-deps: %s\n' "$*" >&2; }
die() {
    say "error: $*"
    exit 1
}

# Runs a command as root: directly when we are root, else through sudo when it exists.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run \`$*\` and sudo is not installed"
    fi
}

APT_UPDATED=no
apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        die "apt-get not found: install $* by hand (this script knows Debian only)"
    if [ "$APT_UPDATED" = no ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update
        APT_UPDATED=yes
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

# tmux -V prints e.g. "tmux 3.3a" or "tmux next-3.4"; prints the major version, or 0.
tmux_major() {
    local version
    version=$(tmux -V 2>/dev/null | grep -oE '[0-9]+\.[0-9]+' | head -n 1) || true
    echo "${version%%.*}" | grep -E '^[0-9]+$' || echo 0
}

# Prints the version the installed claude reports ("2.1.197 (Claude Code)" -> 2.1.197), or
# nothing when it is missing or does not run.
claude_version() {
    [ -x "$CLAUDE" ] || return 0
    "$CLAUDE" --version 2>/dev/null | awk 'NR == 1 { print $1 }' || true
}

# --- tmux -------------------------------------------------------------------------------------
if ! command -v tmux >/dev/null 2>&1 || [ "$(tmux_major)" -lt 3 ]; then
    say "installing tmux (need >= 3.0, have: $(tmux -V 2>/dev/null || echo none))"
    apt_install tmux
    [ "$(tmux_major)" -ge 3 ] || die "tmux >= 3.0 needed, got: $(tmux -V 2>/dev/null || echo none)"
fi

# --- python3 (the command harness's tests run its REPL) -----------------------------------------
if ! command -v python3 >/dev/null 2>&1; then
    say "installing python3"
    apt_install python3
fi

# --- Claude Code ------------------------------------------------------------------------------
if [ "$(claude_version)" = "$CLAUDE_VERSION" ]; then
    say "Claude Code $CLAUDE_VERSION already in $PREFIX"
else
    if ! command -v npm >/dev/null 2>&1; then
        say "installing Node.js and npm"
        apt_install nodejs npm
    fi
    say "installing @anthropic-ai/claude-code@$CLAUDE_VERSION into $PREFIX"
    mkdir -p "$PREFIX"
    npm install --no-audit --no-fund --prefix "$PREFIX" "@anthropic-ai/claude-code@$CLAUDE_VERSION"

    if [ "$(claude_version)" != "$CLAUDE_VERSION" ]; then
        # The package's postinstall (install.cjs) links the platform's native binary over the
        # placeholder bin/claude.exe; npm may have skipped it (ignore-scripts, allowScripts).
        say "claude does not run yet: running the package's postinstall by hand"
        package=$PREFIX/node_modules/@anthropic-ai/claude-code
        [ -f "$package/install.cjs" ] || die "$package/install.cjs missing: the npm install failed"
        (cd "$package" && node install.cjs)
    fi
fi

version=$(claude_version)
if [ "$version" != "$CLAUDE_VERSION" ]; then
    say "\`$CLAUDE --version\` printed:"
    "$CLAUDE" --version >&2 || true
    die "Claude Code $CLAUDE_VERSION is not usable at $CLAUDE (got: ${version:-nothing})"
fi

# Installs the npm package PACKAGE@WANT into DIR unless BIN there already reports WANT through
# the function VERSION_OF (each CLI prints its version its own way). Fails loudly when the
# installed CLI does not run.
#   install_cli LABEL DIR PACKAGE WANT BIN VERSION_OF
install_cli() {
    local label=$1 dir=$2 package=$3 want=$4 bin=$5 version_of=$6 have
    have=$("$version_of" "$bin")
    if [ "$have" = "$want" ]; then
        say "$label $want already in $dir"
        return
    fi
    say "installing $package@$want into $dir"
    mkdir -p "$dir"
    npm install --no-audit --no-fund --prefix "$dir" "$package@$want"
    have=$("$version_of" "$bin")
    [ "$have" = "$want" ] || die "$label $want is not usable at $bin (got: ${have:-nothing})"
}
# "codex-cli 0.169.0"
codex_version() { "$1" --version 2>/dev/null | awk 'NR == 1 { print $2 }' || true; }
# "0.61.0"
gemini_version() { "$1" --version 2>/dev/null | awk 'NR == 1 { print $1 }' || true; }
# "0.73.1", on stderr
pi_version() { "$1" --version 2>&1 | awk 'NR == 1 { print $NF }' || true; }

# The other harnesses' CLIs (tests/codex.rs, tests/gemini.rs, tests/pi_harness.rs): about
# 400 MB, 100 MB and 200 MB; npm skips a few of pi's and Gemini's install scripts and both
# work anyway.
install_cli Codex "$CACHE/codex" @openai/codex "$CODEX_VERSION" "$CODEX" codex_version
install_cli "Gemini CLI" "$CACHE/gemini" @google/gemini-cli "$GEMINI_VERSION" "$GEMINI" gemini_version
install_cli pi "$CACHE/pi" @mariozechner/pi-coding-agent "$PI_VERSION" "$PI" pi_version

echo "tmux:   $(command -v tmux) ($(tmux -V))"
echo "claude: $CLAUDE ($version)"
echo "codex:  $CODEX ($CODEX_VERSION)"
echo "gemini: $GEMINI ($GEMINI_VERSION)"
echo "pi:     $PI ($PI_VERSION)"
