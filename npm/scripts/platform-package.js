#!/usr/bin/env node
// Generates the platform package @agent-ops/orch-<platform>-<arch> from a folder of release
// binaries: OUT/package.json (with `os` and `cpu`, so npm installs it only where it runs) and
// OUT/bin/ with the native executables, ready for `npm pack`.
//
//   node npm/scripts/platform-package.js --bin-dir target/release --out DIR
//       [--platform linux|darwin] [--arch x64|arm64] [--version V]
//
// Only `orch`, `orch-hook` and `orch-sim` are shipped: the other commands (`orch-up`, ...) are
// `orch <subcommand>`, which the wrapper's shims run, so the package stays a third of the size.
// The version defaults to the wrapper's (npm/package.json), which pins this package exactly.
"use strict";

const fs = require("fs");
const path = require("path");
const { PLATFORMS } = require("../lib/native.js");

/** The executables the platform package carries under bin/. */
const EXECUTABLES = ["orch", "orch-hook", "orch-sim"];

function fail(message) {
  process.stderr.write(`platform-package: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = {
    platform: process.platform,
    arch: process.arch,
    version: require("../package.json").version,
  };
  const names = { "--bin-dir": "binDir", "--out": "out", "--platform": "platform", "--arch": "arch", "--version": "version" };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || argv[i + 1] === undefined) fail(`unknown or incomplete argument \`${argv[i]}\``);
    opts[key] = argv[i + 1];
  }
  if (!opts.binDir || !opts.out) fail("usage: platform-package.js --bin-dir DIR --out DIR [--platform P] [--arch A] [--version V]");
  return opts;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const target = `${opts.platform}-${opts.arch}`;
  if (!PLATFORMS.includes(target)) fail(`\`${target}\` is not one of ${PLATFORMS.join(", ")}`);
  const name = `@agent-ops/orch-${target}`;

  fs.rmSync(opts.out, { recursive: true, force: true });
  fs.mkdirSync(path.join(opts.out, "bin"), { recursive: true });
  for (const exe of EXECUTABLES) {
    const from = path.join(opts.binDir, exe);
    if (!fs.existsSync(from)) fail(`\`${from}\` is missing: build orch first (install/build.sh)`);
    const to = path.join(opts.out, "bin", exe);
    fs.copyFileSync(from, to);
    fs.chmodSync(to, 0o755);
  }

  const manifest = {
    name,
    version: opts.version,
    description: `orch's native executables for ${target}; installed by @agent-ops/orch`,
    license: "MIT",
    os: [opts.platform],
    cpu: [opts.arch],
    files: ["bin/"],
    preferUnplugged: true,
  };
  fs.writeFileSync(path.join(opts.out, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
  fs.writeFileSync(
    path.join(opts.out, "README.md"),
    `# ${name}\n\nThe native executables of [orch](https://www.npmjs.com/package/@agent-ops/orch) ` +
      `for ${target}. Install \`@agent-ops/orch\`, which depends on this package.\n`
  );
  process.stdout.write(`${opts.out}\n`);
}

main();
