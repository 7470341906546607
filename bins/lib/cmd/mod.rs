//! One module per `orch` subcommand, each with its clap `Args` and a `run`.

pub mod audit;
pub mod budget;
pub mod capture;
pub mod classify;
pub mod completions;
pub mod decide;
pub mod demo;
pub mod diff;
pub mod doctor;
pub mod down;
pub mod escalate;
pub mod escalations;
pub mod events;
pub mod hosts;
pub mod inbox;
pub mod interrupt;
pub mod kill;
pub mod land;
pub mod limits;
pub mod listen;
pub mod manual;
pub mod notify;
pub mod outfit;
pub mod ps;
pub mod resume;
pub mod spawn;
pub mod status_line;
pub mod subscribe;
pub mod subscriptions;
pub mod tell;
pub mod top;
pub mod unsubscribe;
pub mod up;
pub mod usage;

use std::io::Write;

/// What every subcommand gets besides its own flags.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// `--json`: print JSON instead of text.
    pub json: bool,
    /// Whether text output may be coloured (`--color`, `NO_COLOR`, a terminal:
    /// [`crate::views::paint::enabled`]).
    pub color: bool,
}

/// Writes one line to the audit log for an action the caller took; an audit failure is
/// reported on stderr but does not undo or fail the action.
pub fn audit(state: &orch_store::Store, entry: crate::coordination::audit::Entry) {
    if let Err(err) = crate::coordination::audit::append(state, &entry) {
        eprintln!("orch: cannot write the audit log: {err:#}");
    }
}

/// An audit entry for `action` by the caller.
pub fn entry(action: &str) -> crate::coordination::audit::Entry {
    crate::coordination::audit::Entry::new(crate::coordination::audit::actor(), action)
}

/// Prints `value` as one line of JSON on stdout.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// What a command that acts on one worker does when that worker lives on another host.
#[derive(Debug, Clone, Copy)]
pub enum OnHost {
    /// Run `orch [--json] VERB <its id there>` on the host and print its answer ([`forwarded`]);
    /// the command is then done. An action that changes the worker is audited here first.
    Forward(&'static str),
    /// Go on here: the command reads the mirrored log, or forwards with flags of its own.
    Stay,
}

/// The preamble of every command that acts on one worker: resolves `spec` (an id, a `--name`
/// or a pane id; an unknown one is an error naming it), checks that the caller may do `action`
/// to it (a refusal is audited and exits 6) and, for a worker on another host, forwards the
/// command when `on_host` says so. Returns `None` when the command was forwarded and is done.
pub fn acting_on(
    ctx: &Ctx,
    spec: &str,
    action: crate::coordination::rights::Action,
    on_host: OnHost,
) -> anyhow::Result<Option<crate::fleet::worker::Worker>> {
    use crate::coordination::rights::Action;
    let worker = crate::fleet::worker::Worker::resolve(spec)?;
    crate::coordination::rights::allow(worker.store(), action, Some(&worker.meta))?;
    match on_host {
        OnHost::Forward(verb) if worker.meta.remote.is_some() => {
            if matches!(action, Action::Tell | Action::Interrupt | Action::Kill) {
                audit(worker.store(), entry(verb).target(&worker.meta.id));
            }
            forwarded(ctx, &worker, verb)?;
            Ok(None)
        }
        _ => Ok(Some(worker)),
    }
}

/// Runs `orch [--json] VERB <its id there>` for a worker on another host and prints what the
/// host printed, with the worker's local id in a JSON answer's `worker`.
pub fn forwarded(
    ctx: &Ctx,
    worker: &crate::fleet::worker::Worker,
    verb: &str,
) -> anyhow::Result<()> {
    let remote_id = worker.meta.remote.as_ref().map_or("", |r| r.id.as_str());
    let argv = match ctx.json {
        true => vec!["--json", verb, remote_id],
        false => vec![verb, remote_id],
    };
    let out = crate::remote::relay::forward(worker, &argv, None)?;
    if ctx.json {
        if let Ok(mut value) = serde_json::from_str::<serde_json::Value>(out.trim()) {
            if value.get("worker").is_some() {
                value["worker"] = serde_json::json!(worker.meta.id);
                return print_json(&value);
            }
        }
    }
    print!("{out}");
    Ok(())
}

/// Runs `orch [--json] ARGS` on the host `dest` (`--host` of up and down): what it prints is
/// printed here, its exit code kept; the host is remembered for `orch hosts`.
pub fn on_host(ctx: &Ctx, dest: &str, args: &[&str]) -> anyhow::Result<()> {
    let state = orch_store::Store::from_env()?;
    let host = crate::remote::host::Host::new(dest)?;
    let mut argv = Vec::new();
    if ctx.json {
        argv.push("--json");
    }
    argv.extend(args);
    print!("{}", host.orch(&state, &argv, None)?);
    host.remember(&state, None)?;
    Ok(())
}
