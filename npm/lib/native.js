// Finds orch's native executables and runs one of them in place of a Node shim.
//
// Lookup order: $ORCH_BINARY (the path of a native `orch`; the other executables sit beside
// it), the platform package @agent-ops/orch-<platform>-<arch> (an optional dependency that
// carries the executables under bin/), a `target/release` of a source checkout above this
// package, else a clear error naming the platform and the fix.
//
// Node only starts for the commands a person or an agent types. The hook Claude Code runs on
// every event is the native `orch-hook`: `orch up` registers its absolute path, which the
// native process resolves itself, so Node never starts per hook.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn } = require("child_process");

/** The platforms orch ships a native package for, as `<process.platform>-<process.arch>`. */
const PLATFORMS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"];

/** Signals passed on to the native process while it runs (SIGUSR1 belongs to Node). */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR2"];

function platform() {
  return `${process.platform}-${process.arch}`;
}

function platformPackage() {
  return `@agent-ops/orch-${platform()}`;
}

function isFile(file) {
  try {
    return fs.statSync(file).isFile();
  } catch (_) {
    return false;
  }
}

/**
 * The native `orch` to run and how it was found: `{ orch, from }`. Throws an Error whose
 * message says what is missing and how to fix it.
 */
function findOrch(env = process.env) {
  const explicit = env.ORCH_BINARY;
  if (explicit) {
    const orch = path.resolve(explicit);
    if (!isFile(orch)) {
      throw new Error(
        `ORCH_BINARY is \`${explicit}\`, which is not a file: set it to the path of a native ` +
          "`orch` executable, or unset it to use the installed platform package"
      );
    }
    return { orch, from: "ORCH_BINARY" };
  }

  const pkg = platformPackage();
  try {
    const manifest = require.resolve(`${pkg}/package.json`);
    const orch = path.join(path.dirname(manifest), "bin", "orch");
    if (isFile(orch)) return { orch, from: pkg };
  } catch (_) {
    // Not installed: try a source checkout next.
  }

  for (let dir = path.resolve(__dirname, ".."); ; dir = path.dirname(dir)) {
    const orch = path.join(dir, "target", "release", "orch");
    if (isFile(path.join(dir, "Cargo.toml")) && isFile(orch)) {
      return { orch, from: "checkout" };
    }
    if (path.dirname(dir) === dir) break;
  }

  const fix = PLATFORMS.includes(platform())
    ? `the optional dependency \`${pkg}\` is not installed (npm leaves optional dependencies ` +
      "out with --omit=optional, --no-optional, or when it cannot fetch them); fix: reinstall " +
      "with `npm install -g @agent-ops/orch` and optional dependencies included, or build orch " +
      "from source (`cargo build --release --locked`) and set ORCH_BINARY to target/release/orch"
    : `orch ships native builds for ${PLATFORMS.join(", ")} only; fix: build orch from source ` +
      "(`cargo build --release --locked`) and set ORCH_BINARY to target/release/orch";
  throw new Error(`no native orch for ${platform()}: ${fix}`);
}

/**
 * The argv that runs the command `name` (`orch`, `orch-up`, ...): the native executable of
 * that name beside `orch` if there is one, else `orch <subcommand>`.
 */
function command(name, orch, args) {
  if (name === "orch") return [orch, args];
  const sibling = path.join(path.dirname(orch), name);
  if (isFile(sibling)) return [sibling, args];
  return [orch, [name.replace(/^orch-/, ""), ...args]];
}

/**
 * Runs the native command `name` with this process's arguments, stdio and environment, and
 * ends this process the way the native one ended: same exit code, or the same signal
 * (re-raised; exit 128+n when Node cannot die of it, e.g. SIGPIPE, which Node ignores).
 */
function run(name) {
  let file;
  let args;
  try {
    [file, args] = command(name, findOrch().orch, process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  }

  const child = spawn(file, args, { stdio: "inherit" });
  const forward = (signal) => {
    try {
      child.kill(signal);
    } catch (_) {
      // Already gone.
    }
  };
  for (const signal of FORWARDED) process.on(signal, forward);

  child.on("error", (err) => {
    process.stderr.write(`${name}: cannot run \`${file}\`: ${err.message}\n`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    for (const s of FORWARDED) process.removeListener(s, forward);
    if (signal) {
      try {
        process.kill(process.pid, signal);
      } catch (_) {
        // Fall through to the exit code a shell would report.
      }
      process.exit(128 + (os.constants.signals[signal] || 0));
    }
    process.exit(code === null ? 1 : code);
  });
}

module.exports = { PLATFORMS, platform, platformPackage, findOrch, command, run };
