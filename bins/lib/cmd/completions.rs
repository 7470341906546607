//! `orch completions SHELL`: the shell's completion script, generated from orch's own clap
//! definition (clap_complete), so it never drifts from `--help`. For bash, zsh and fish the
//! script also completes worker names and ids where a command takes a WORKER, by running
//! `orch __workers` (hidden: it lists them from the state folder, without tmux).

use super::Ctx;
use anyhow::Result;
use clap_complete::Shell;
use std::io::Write;

/// Flags of `orch completions`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

/// Prints the completion script of `args.shell` for `cli` (orch's whole command definition).
///
/// Errors: stdout cannot be written.
pub fn run(_ctx: &Ctx, args: Args, mut cli: clap::Command) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cli, "orch", &mut script);
    let script = String::from_utf8(script)?;
    let takers = worker_commands(&cli);
    let out = match args.shell {
        Shell::Bash => format!("{script}\n{}", bash(&takers)),
        Shell::Zsh => zsh(&script),
        Shell::Fish => format!("{script}\n{}", fish(&takers)),
        _ => script,
    };
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

/// The visible subcommands whose first positional argument is a worker (`worker`/`workers`).
fn worker_commands(cli: &clap::Command) -> Vec<String> {
    cli.get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .filter(|sub| {
            sub.get_positionals()
                .next()
                .is_some_and(|arg| matches!(arg.get_id().as_str(), "worker" | "workers"))
        })
        .map(|sub| sub.get_name().to_string())
        .collect()
}

/// bash: a function around clap's `_orch` that offers `orch __workers` for a word that is no
/// flag nor a flag's value, after a subcommand that takes a worker.
fn bash(takers: &[String]) -> String {
    format!(
        r#"# Worker names and ids, from `orch __workers` (the state folder; no tmux).
_orch_with_workers() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}" sub="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in -*) ;; *) sub="${{COMP_WORDS[i]}}"; break ;; esac
    done
    case "$sub" in
        {list})
            if [[ "$cur" != -* && ( "$prev" == "$sub" || "$prev" != -* ) ]]; then
                mapfile -t COMPREPLY < <(compgen -W "$(orch __workers 2>/dev/null)" -- "$cur")
                return 0
            fi ;;
    esac
    _orch "$@"
}}
complete -F _orch_with_workers -o bashdefault -o default orch
"#,
        list = takers.join("|")
    )
}

/// zsh: clap's script with each worker argument completed by `_orch_workers`.
fn zsh(script: &str) -> String {
    let mut out = String::new();
    for line in script.lines() {
        let worker_arg = line.trim_start().starts_with("':worker")
            || line.trim_start().starts_with("'::worker")
            || line.trim_start().starts_with("'*::workers");
        match (worker_arg, line.strip_suffix(":_default' \\")) {
            (true, Some(head)) => {
                out.push_str(head);
                out.push_str(":_orch_workers' \\");
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out.push_str(
        r#"
# Worker names and ids, from `orch __workers` (the state folder; no tmux).
(( $+functions[_orch_workers] )) ||
_orch_workers() {
    local -a workers
    workers=(${(f)"$(orch __workers 2>/dev/null)"})
    compadd -a workers
}
"#,
    );
    out
}

/// fish: worker names and ids after each subcommand that takes a worker.
fn fish(takers: &[String]) -> String {
    format!(
        "# Worker names and ids, from `orch __workers` (the state folder; no tmux).\n\
         complete -c orch -n \"__fish_seen_subcommand_from {}\" -f -a \"(orch __workers 2>/dev/null)\"\n",
        takers.join(" ")
    )
}

/// `orch __workers`: each worker's id and name, one per line (operators left out), from the
/// state folder alone, for the completion scripts.
///
/// Errors: the state folder cannot be read.
pub fn workers() -> Result<()> {
    let store = orch_store::Store::from_env()?;
    let mut out = String::new();
    for meta in store.workers()? {
        if meta.role == orch_store::Role::Operator {
            continue;
        }
        out.push_str(&meta.id);
        out.push('\n');
        if meta.name != meta.id {
            out.push_str(&meta.name);
            out.push('\n');
        }
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}
