// postinstall of @agent-ops/orch. It never fails the install, and it changes nothing on its
// own: with ORCH_POSTINSTALL_UP=1 it runs the native `orch up --yes` (hooks into Claude Code's
// settings.json, skills linked); otherwise it prints one line saying to run `orch up`.
// `npm install --ignore-scripts` skips it, which loses nothing: `orch up` does the same.
"use strict";

try {
  if (process.env.ORCH_POSTINSTALL_UP === "1") {
    const { spawnSync } = require("child_process");
    const { findOrch } = require("../lib/native.js");
    const result = spawnSync(findOrch().orch, ["up", "--yes"], { stdio: "inherit" });
    if (result.error || result.status !== 0) {
      const why = result.error ? result.error.message : `exit ${result.status}`;
      console.error(`orch: postinstall: \`orch up --yes\` failed (${why}); run \`orch up\` yourself`);
    }
  } else {
    console.log(
      "orch: run `orch up` to register orch's hooks and skills with Claude Code " +
        "(or install with ORCH_POSTINSTALL_UP=1 to do it now)"
    );
  }
} catch (err) {
  console.error(`orch: postinstall: ${err && err.message}; run \`orch up\` yourself`);
}
process.exit(0);
