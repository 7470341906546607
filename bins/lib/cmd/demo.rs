//! `orch demo`: the one-command tour. In a private tmux server and a temporary state
//! directory it spawns two `sim` workers, tells each a task, listens for their Stops, shows
//! `orch ps`, and cleans up (`--keep` leaves everything to attach to). It drives orch through
//! its own command line, the way an operator would, and needs no API key.

use super::Ctx;
use crate::claude::settings;
use crate::tmux::Tmux;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Flags of `orch demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Leave the tmux server and the state directory in place to attach to and inspect.
    #[arg(long)]
    pub keep: bool,
}

/// The two workers and what they are told.
const TASKS: [(&str, &str); 2] = [
    (
        "researcher",
        "Dig into how webhook senders retry failed deliveries and brief the planner.\n\
         [[sleep: 1]] [[say: Webhook retries: exponential backoff with jitter, a retry budget, \
         then a dead-letter queue.]]",
    ),
    (
        "planner",
        "Plan the auth-flow feature in three steps; cite the folder you work in.\n\
         [[bash: echo \"plan from $(basename \"$PWD\"): 1. sessions 2. tokens 3. tests\"]]",
    ),
];

/// Runs `orch demo`.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    crate::tmux::check_version()?;
    let dir = tempfile::Builder::new()
        .prefix("orch-demo-")
        .tempdir()
        .context("cannot create a temp folder for the demo")?;
    let root = dir.path().to_path_buf();
    let socket = format!("orch-demo-{}", std::process::id());
    let demo = Demo::new(&root, &socket)?;
    let result = demo.play(ctx);
    if args.keep {
        let kept = dir.keep();
        eprintln!(
            "\nkept: attach with `tmux -L {socket} attach -t orch`; inspect with \
             `ORCH_HOME={} ORCH_TMUX_SOCKET={socket} orch ps`; remove with \
             `tmux -L {socket} kill-server; rm -r {}`",
            kept.join("state").display(),
            kept.display()
        );
    } else {
        demo.server().kill_server();
    }
    result
}

struct Demo {
    root: PathBuf,
    socket: String,
    orch: PathBuf,
}

impl Demo {
    /// Writes the demo's own Claude settings (orch's hooks, for the sim workers to fire).
    fn new(root: &Path, socket: &str) -> Result<Demo> {
        let claude = root.join("claude");
        let hook = orch_store::paths::sibling_exe("orch-hook")?;
        let (value, _) = settings::add_orch_hooks(&json!({}), &settings::hook_command(&hook)?)?;
        orch_store::files::write_json(&claude.join("settings.json"), &value)?;
        std::fs::create_dir_all(root.join("work")).context("cannot create the demo folder")?;
        Ok(Demo {
            root: root.to_path_buf(),
            socket: socket.to_string(),
            orch: orch_store::paths::sibling_exe("orch")?,
        })
    }

    fn server(&self) -> crate::tmux::TmuxServer {
        crate::tmux::TmuxServer {
            socket_name: Some(self.socket.clone()),
            socket_path: None,
        }
    }

    /// `orch --json ARGS` in the demo's world; returns its JSON output.
    fn orch(&self, args: &[&str], stdin: Option<&str>) -> Result<Value> {
        let mut child = Command::new(&self.orch)
            .arg("--json")
            .args(args)
            .env("ORCH_HOME", self.root.join("state"))
            .env("ORCH_TMUX_SOCKET", &self.socket)
            .env("CLAUDE_CONFIG_DIR", self.root.join("claude"))
            .env_remove("TMUX")
            .env_remove("TMUX_PANE")
            .env_remove("ORCH_WORKER")
            .current_dir(self.root.join("work"))
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run `orch`")?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            std::io::Write::write_all(&mut pipe, text.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "`orch {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout)
            .with_context(|| format!("`orch {}` printed no JSON", args.join(" ")))
    }

    fn play(&self, ctx: &Ctx) -> Result<()> {
        let say = |line: String| {
            if !ctx.json {
                println!("{line}");
            }
        };
        say(format!(
            "orch demo: a private tmux server (`tmux -L {}`), two sim workers, no API key\n",
            self.socket
        ));
        let mut report = Vec::new();
        for (name, _) in TASKS {
            let w = self.orch(&["spawn", "--harness", "sim", "--name", name], None)?;
            say(format!(
                "$ orch spawn --harness sim --name {name}\n  -> {} in pane {}",
                w["id"].as_str().unwrap_or("?"),
                w["pane"].as_str().unwrap_or("?")
            ));
        }
        for (name, task) in TASKS {
            let told = self.orch(&["tell", name, "-"], Some(task))?;
            say(format!(
                "$ orch tell {name} <task>\n  -> submitted, cursor {}",
                told["cursor"]
            ));
        }
        for (name, _) in TASKS {
            let stop = self.orch(&["listen", name, "--timeout", "60"], None)?;
            let event = orch_store::Event::from_json(stop.clone())
                .context("`orch listen` printed no event")?;
            let message = event.kind.message().unwrap_or("");
            say(format!(
                "$ orch listen {name}\n  -> stop #{}: {message}",
                event.seq
            ));
            report.push(json!({"worker": name, "stop": stop}));
        }
        let ps = self.orch(&["ps"], None)?;
        say("$ orch ps".into());
        for row in ps.as_array().into_iter().flatten() {
            say(format!(
                "  {} {:<11} {:<5} {}",
                row["id"].as_str().unwrap_or(""),
                row["name"].as_str().unwrap_or(""),
                row["status"].as_str().unwrap_or(""),
                row["pane"].as_str().unwrap_or("")
            ));
        }
        if ctx.json {
            super::print_json(&json!({
                "socket": self.socket,
                "socket_path": self.server().socket_path().ok(),
                "workers": report,
                "ps": ps,
            }))?;
        }
        Ok(())
    }
}
