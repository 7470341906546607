// orch's extension for pi (`@mariozechner/pi-coding-agent`), passed with `-e` by `orch spawn
// --harness pi`. pi has no shell hooks: this file turns pi's lifecycle events into the
// Claude-shaped hook inputs orch-hook records, by running `$ORCH_HOOK` with one JSON on stdin:
//
//   session_start      -> {"hook_event_name":"SessionStart","session_id","source","model"}
//   before_agent_start -> {"hook_event_name":"UserPromptSubmit","session_id","prompt"}
//   agent_end          -> {"hook_event_name":"Stop","session_id","last_assistant_message"}
//                         (or "StopFailure" with "error" when the model call failed)
//
// `agent_end` fires once per user prompt (`turn_end` fires per model response). Runs are
// queued so that orch-hook sees the events in order. Nothing here may throw into pi.
//
// An outfit's own hooks come from the JSON file named by `$ORCH_PI_HOOKS` (written by orch,
// `bins/lib/pi.rs`): `{"Stop": [{"command": "...", "timeout_ms": 60000}], ...}`; each command
// runs with `/bin/sh -c` and the same input on stdin, after orch-hook, in order.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const HOOK = process.env.ORCH_HOOK || "";
let queue: Promise<void> = Promise.resolve();

type OutfitHook = { command: string; timeout_ms: number };
let outfitHooks: Record<string, OutfitHook[]> = {};
try {
	const path = process.env.ORCH_PI_HOOKS || "";
	if (path) outfitHooks = JSON.parse(readFileSync(path, "utf8")) || {};
} catch {}

function runHook(payload: Record<string, unknown>, argv: string[] = [HOOK], timeoutMs = 30000): Promise<void> {
	return new Promise<void>((resolve) => {
		try {
			const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "ignore", "ignore"] });
			const timer = setTimeout(() => {
				try {
					child.kill();
				} catch {}
				resolve();
			}, timeoutMs);
			const done = () => {
				clearTimeout(timer);
				resolve();
			};
			child.on("error", done);
			child.on("close", done);
			child.stdin.on("error", () => {});
			child.stdin.end(JSON.stringify(payload));
		} catch {
			resolve();
		}
	});
}

function send(payload: Record<string, unknown>): Promise<void> {
	const own = outfitHooks[String(payload.hook_event_name)];
	const hooks = Array.isArray(own) ? own : [];
	queue = queue
		.then(async () => {
			if (HOOK) await runHook(payload);
			for (const hook of hooks) {
				if (hook && typeof hook.command === "string") {
					await runHook(payload, ["/bin/sh", "-c", hook.command], Number(hook.timeout_ms) || 60000);
				}
			}
		})
		.catch(() => {});
	return queue;
}

function sessionId(ctx: any): string | undefined {
	try {
		return ctx?.sessionManager?.getSessionId?.() || undefined;
	} catch {
		return undefined;
	}
}

function text(message: any): string {
	const content = message?.content;
	if (typeof content === "string") return content;
	if (!Array.isArray(content)) return "";
	return content
		.filter((part: any) => part && part.type === "text" && typeof part.text === "string")
		.map((part: any) => part.text)
		.join("");
}

const SOURCES: Record<string, string> = { startup: "startup", new: "clear", resume: "resume", fork: "resume", reload: "resume" };

export default function (pi: any) {
	try {
		pi.on("session_start", async (event: any, ctx: any) => {
			try {
				const model = ctx?.model?.id;
				await send({
					hook_event_name: "SessionStart",
					session_id: sessionId(ctx),
					source: SOURCES[event?.reason] || "startup",
					...(model ? { model } : {}),
					cwd: process.cwd(),
				});
			} catch {}
		});
		pi.on("before_agent_start", async (event: any, ctx: any) => {
			try {
				await send({
					hook_event_name: "UserPromptSubmit",
					session_id: sessionId(ctx),
					prompt: typeof event?.prompt === "string" ? event.prompt : "",
					cwd: process.cwd(),
				});
			} catch {}
			return undefined;
		});
		pi.on("agent_end", async (event: any, ctx: any) => {
			try {
				const messages: any[] = Array.isArray(event?.messages) ? event.messages : [];
				const last = [...messages].reverse().find((m) => m && m.role === "assistant");
				const base = { session_id: sessionId(ctx), cwd: process.cwd() };
				if (last && last.stopReason === "error") {
					await send({
						...base,
						hook_event_name: "StopFailure",
						error: String(last.errorMessage || "error"),
						last_assistant_message: text(last),
					});
				} else {
					await send({ ...base, hook_event_name: "Stop", last_assistant_message: text(last) });
				}
			} catch {}
		});
	} catch {}
}
