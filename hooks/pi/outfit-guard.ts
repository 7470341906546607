// orch's outfit guard for pi (`@mariozechner/pi-coding-agent`), passed with `-e` by `orch spawn
// --outfit` when the outfit denies tools or asks for plan mode: pi has no permission rules of
// its own (it runs every tool without asking). The rules come from the JSON file named by
// `$ORCH_PI_GUARD` (written by orch, `bins/lib/pi.rs`):
//
//   {"outfit": "reviewer",
//    "remove": ["edit", "write"],          // taken out of the active tools at session start
//    "only": ["read", "grep", "find", "ls"] | null,   // when set, the active tools are cut to these
//    "commands": [{"kind": "words" | "prefix" | "exact" | "glob", "pattern": "git push",
//                  "entry": "Bash(git push *)"}]}   // bash commands refused at `tool_call`
//
// `words` matches the words alone or followed by arguments, `prefix` any command starting with
// the text, `exact` the command itself, `glob` with `*` matching any text; each part of a
// compound command (split at `&&`, `||`, `;`, `|`, newlines) is checked, and the whole. A call
// to a removed tool is refused too. If the rules cannot be read, every tool call is refused.

import { readFileSync } from "node:fs";

type Command = { kind: string; pattern: string; entry: string };
type Rules = { outfit: string; remove: string[]; only: string[] | null; commands: Command[] };

let rules: Rules | undefined;
let broken = "";
try {
	const path = process.env.ORCH_PI_GUARD || "";
	if (!path) throw new Error("ORCH_PI_GUARD is not set");
	const read = JSON.parse(readFileSync(path, "utf8"));
	rules = {
		outfit: String(read.outfit || ""),
		remove: Array.isArray(read.remove) ? read.remove.map(String) : [],
		only: Array.isArray(read.only) ? read.only.map(String) : null,
		commands: Array.isArray(read.commands) ? read.commands : [],
	};
} catch (err) {
	broken = `orch's outfit guard cannot read its rules (${String(err)}): every tool is refused`;
}

function escape(text: string): string {
	return text.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
}

function matches(command: Command, text: string): boolean {
	const pattern = String(command.pattern || "");
	switch (command.kind) {
		case "words":
			return text === pattern || (text.startsWith(pattern) && /^\s/.test(text.slice(pattern.length)));
		case "prefix":
			return text.startsWith(pattern);
		case "exact":
			return text === pattern;
		case "glob":
			return new RegExp(`^${pattern.split("*").map(escape).join("[\\s\\S]*")}$`).test(text);
		default:
			return true;
	}
}

function refused(commandLine: string): Command | undefined {
	const parts = [commandLine, ...commandLine.split(/&&|\|\||[;|\n]/)]
		.map((part) => part.trim().replace(/\s+/g, " "))
		.filter((part) => part.length > 0);
	return rules?.commands.find((command) => parts.some((part) => matches(command, part)));
}

function allowedTool(name: string): boolean {
	if (!rules) return false;
	if (rules.remove.includes(name)) return false;
	return !rules.only || rules.only.includes(name);
}

export default function (pi: any) {
	pi.on("session_start", async () => {
		try {
			if (!rules) return;
			const active: string[] = pi.getActiveTools();
			pi.setActiveTools(active.filter(allowedTool));
		} catch {}
	});
	pi.on("tool_call", async (event: any) => {
		if (!rules) return { block: true, reason: broken };
		const name = String(event?.toolName || "");
		if (!allowedTool(name)) {
			return { block: true, reason: `the tool \`${name}\` is denied by orch outfit \`${rules.outfit}\`` };
		}
		if (name === "bash") {
			const hit = refused(String(event?.input?.command || ""));
			if (hit) {
				return { block: true, reason: `denied by orch outfit \`${rules.outfit}\` (tools.deny \`${hit.entry}\`)` };
			}
		}
		return undefined;
	});
}
