#!/usr/bin/env node
// npm's `orch-subscribe` command: runs the native `orch-subscribe` (or `orch subscribe`).
"use strict";
require("../lib/native.js").run("orch-subscribe");
