#!/usr/bin/env node
// npm's `orch` command: runs orch's native `orch`.
"use strict";
require("../lib/native.js").run("orch");
