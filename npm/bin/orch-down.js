#!/usr/bin/env node
// npm's `orch-down` command: runs the native `orch-down` (or `orch down`).
"use strict";
require("../lib/native.js").run("orch-down");
