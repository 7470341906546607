#!/usr/bin/env node
// npm's `orch-hook` command: runs the native `orch-hook` (or `orch hook`).
"use strict";
require("../lib/native.js").run("orch-hook");
