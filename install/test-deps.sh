#!/usr/bin/env bash
# Installs what orch's tests need on a Debian machine: tmux >= 3.0, python3, the OpenSSH server,
# and the four agent CLIs orch drives (Claude Code, Codex, Gemini CLI, pi) into a cache folder
# the tests look in (tests/util.rs `cached_cli`).
#
#   install/test-deps.sh            the pinned versions below, in <cache>/<cli>
#   install/test-deps.sh --latest   the newest release of each on npm, in <cache>/latest/<cli>
#                                   (also when ORCH_TEST_CLI=latest); run the tests against them
#                                   with `ORCH_TEST_CLI=latest cargo test`
#
# Idempotent: a second run finds them in place and downloads nothing (with --latest it asks npm
# which version is newest, and installs only when that changed).
# Cache folder: ${ORCH_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orch-test}
set -euo pipefail

# The versions every test passes on (README: Compatibility).
CLAUDE_VERSION=2.1.197
CODEX_VERSION=0.169.0
GEMINI_VERSION=0.61.0
PI_VERSION=0.73.1
# ccusage, the usage reader orch's spend is compared with (tests/usage.rs), pinned in both modes:
# the newest release whose Linux binary is on npm.
CCUSAGE_VERSION=20.0.24

CACHE=${ORCH_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orch-test}
WHICH=${ORCH_TEST_CLI:-pinned}
for arg in "$@"; do
    case $arg in
    --latest) WHICH=latest ;;
    --pinned) WHICH=pinned ;;
    -h | --help)
        sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        printf 'test-deps: error: unknown argument `%s` (try --latest or --help)\n' "$arg" >&2
        exit 2
        ;;
    esac
done
case $WHICH in
pinned) ROOT=$CACHE ;;
latest) ROOT=$CACHE/latest ;;
*)
    printf 'test-deps: error: ORCH_TEST_CLI=%s: expected `pinned` or `latest`\n' "$WHICH" >&2
    exit 2
    ;;
esac

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

# --- tmux -------------------------------------------------------------------------------------
if ! command -v tmux >/dev/null 2>&1 || [ "$(tmux_major)" -lt 3 ]; then
    say "installing tmux (need >= 3.0, have: $(tmux -V 2>/dev/null || echo none))"
    apt_install tmux
    [ "$(tmux_major)" -ge 3 ] || die "tmux >= 3.0 needed, got: $(tmux -V 2>/dev/null || echo none)"
fi

# --- OpenSSH server (the tests of --host run a private sshd on 127.0.0.1) -----------------------
if [ ! -x /usr/sbin/sshd ]; then
    say "installing openssh-server (its service is not started: the tests run their own sshd)"
    apt_install openssh-server
fi
# sshd started as root wants its privilege separation folder (/run is empty after a reboot).
if [ ! -d /run/sshd ]; then
    as_root mkdir -p -m 0755 /run/sshd
fi

# --- python3 (the command harness's tests run its REPL) -----------------------------------------
if ! command -v python3 >/dev/null 2>&1; then
    say "installing python3"
    apt_install python3
fi

# --- shells and man (the completion scripts are loaded by bash, zsh and fish; the man pages
# rendered by man -l) ----------------------------------------------------------------------------
missing=()
for tool in bash:bash zsh:zsh fish:fish man:man-db; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    apt_install "${missing[@]}"
fi

# --- strace (a test counts the files `orch tell` opens before its paste) --------------------------
if ! command -v strace >/dev/null 2>&1; then
    say "installing strace"
    apt_install strace
fi

# --- Node.js and npm (every CLI ships through npm) ----------------------------------------------
if ! command -v npm >/dev/null 2>&1; then
    say "installing Node.js and npm"
    apt_install nodejs npm
fi

# Prints the newest version of npm package $1, or fails naming it.
newest() {
    local version
    version=$(npm view "$1" version 2>/dev/null | tail -n 1) || true
    [ -n "$version" ] || die "cannot ask npm for the newest \`$1\` (is the registry reachable?)"
    echo "$version"
}

# Each CLI prints its version its own way; these print the bare version, or nothing when the
# CLI is missing or does not run.
# "2.1.197 (Claude Code)"
claude_version() { "$1" --version 2>/dev/null | awk 'NR == 1 { print $1 }' || true; }
# "codex-cli 0.169.0"
codex_version() { "$1" --version 2>/dev/null | awk 'NR == 1 { print $2 }' || true; }
# "0.61.0"
gemini_version() { "$1" --version 2>/dev/null | awk 'NR == 1 { print $1 }' || true; }
# "0.73.1", on stderr
pi_version() { "$1" --version 2>&1 | awk 'NR == 1 { print $NF }' || true; }
# `ccusage --version` prints "ccusage 20.0.24".
ccusage_version() { "$1" --version 2>/dev/null | awk 'NR == 1 { print $2 }' || true; }

# Claude Code's package links its native binary in a postinstall (install.cjs), which npm may
# skip (ignore-scripts, allowScripts): run it by hand when the CLI does not run after install.
claude_postinstall() {
    local package=$1/node_modules/@anthropic-ai/claude-code
    [ -f "$package/install.cjs" ] || return 0
    say "claude does not run yet: running the package's postinstall by hand"
    (cd "$package" && node install.cjs)
}

# Installs the npm package PACKAGE@WANT into DIR unless BIN there already reports WANT through
# the function VERSION_OF; runs FIXUP DIR when the fresh install does not run yet. Fails loudly
# when the installed CLI does not run.
#   install_cli LABEL DIR PACKAGE WANT BIN VERSION_OF [FIXUP]
install_cli() {
    local label=$1 dir=$2 package=$3 want=$4 bin=$5 version_of=$6 fixup=${7:-} have
    have=$("$version_of" "$bin")
    if [ "$have" = "$want" ]; then
        say "$label $want already in $dir"
        return
    fi
    # The newest release may be the pinned one: share that copy instead of a second download.
    local pinned=$CACHE/${dir#"$ROOT"/}
    if [ "$dir" != "$pinned" ] && { [ -L "$dir" ] || [ ! -e "$dir" ]; } &&
        [ "$("$version_of" "$pinned/${bin#"$dir"/}")" = "$want" ]; then
        mkdir -p "$(dirname "$dir")"
        ln -sfn "$pinned" "$dir"
        say "$label $want is the pinned version: $dir links to $pinned"
        return
    fi
    say "installing $package@$want into $dir${have:+ (replacing $have)}"
    [ -L "$dir" ] && rm "$dir"
    mkdir -p "$dir"
    npm install --no-audit --no-fund --prefix "$dir" "$package@$want"
    have=$("$version_of" "$bin")
    if [ "$have" != "$want" ] && [ -n "$fixup" ]; then
        "$fixup" "$dir"
        have=$("$version_of" "$bin")
    fi
    if [ "$have" != "$want" ]; then
        say "\`$bin --version\` printed:"
        "$bin" --version >&2 || true
        die "$label $want is not usable at $bin (got: ${have:-nothing})"
    fi
}

if [ "$WHICH" = latest ]; then
    CLAUDE_VERSION=$(newest @anthropic-ai/claude-code)
    CODEX_VERSION=$(newest @openai/codex)
    GEMINI_VERSION=$(newest @google/gemini-cli)
    PI_VERSION=$(newest @mariozechner/pi-coding-agent)
fi

# Claude Code is about 250 MB, Codex 400 MB, Gemini CLI 100 MB and pi 200 MB; npm skips a few
# of pi's and Gemini's install scripts and both work anyway.
CLAUDE=$ROOT/claude-code/node_modules/.bin/claude
CODEX=$ROOT/codex/node_modules/.bin/codex
GEMINI=$ROOT/gemini/node_modules/.bin/gemini
PI=$ROOT/pi/node_modules/.bin/pi
install_cli "Claude Code" "$ROOT/claude-code" @anthropic-ai/claude-code "$CLAUDE_VERSION" \
    "$CLAUDE" claude_version claude_postinstall
install_cli Codex "$ROOT/codex" @openai/codex "$CODEX_VERSION" "$CODEX" codex_version
install_cli "Gemini CLI" "$ROOT/gemini" @google/gemini-cli "$GEMINI_VERSION" "$GEMINI" gemini_version
install_cli pi "$ROOT/pi" @mariozechner/pi-coding-agent "$PI_VERSION" "$PI" pi_version
CCUSAGE=$CACHE/ccusage/node_modules/.bin/ccusage
ROOT=$CACHE install_cli ccusage "$CACHE/ccusage" ccusage "$CCUSAGE_VERSION" "$CCUSAGE" ccusage_version

echo "tmux:   $(command -v tmux) ($(tmux -V))"
echo "claude: $CLAUDE ($CLAUDE_VERSION)"
echo "codex:  $CODEX ($CODEX_VERSION)"
echo "gemini: $GEMINI ($GEMINI_VERSION)"
echo "pi:     $PI ($PI_VERSION)"
echo "ccusage: $CCUSAGE ($CCUSAGE_VERSION)"
