#!/usr/bin/env node
// npm's `orch-spawn` command: runs the native `orch-spawn` (or `orch spawn`).
"use strict";
require("../lib/native.js").run("orch-spawn");
