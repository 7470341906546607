#!/usr/bin/env node
// npm's `orch-listen` command: runs the native `orch-listen` (or `orch listen`).
"use strict";
require("../lib/native.js").run("orch-listen");
