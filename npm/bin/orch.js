#!/usr/bin/env node
// The npm entry point: runs orch's native executable of the same name, which `npm/pack.sh`
// places in native/<platform>-<arch>/. Node only starts for commands a person or an agent
// types; the hook Claude Code runs on every event is the native `orch-hook`, registered by
// `orch up` with its absolute path, so Node never starts per hook.
"use strict";
const path = require("path");
const { spawnSync } = require("child_process");

const name = path.basename(process.argv[1]).replace(/\.js$/, "");
const dir = path.join(__dirname, "..", "native", `${process.platform}-${process.arch}`);
const exe = path.join(dir, name === "orch.js" ? "orch" : name);
const result = spawnSync(exe, process.argv.slice(2), { stdio: "inherit" });
if (result.error) {
  console.error(`orch: cannot run ${exe}: ${result.error.message}` +
    " (this package has no native build for this platform: install from source, see README)");
  process.exit(1);
}
process.exit(result.status === null ? 1 : result.status);
