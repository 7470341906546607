#!/usr/bin/env node
// npm's `orch-up` command: runs the native `orch-up` (or `orch up`).
"use strict";
require("../lib/native.js").run("orch-up");
