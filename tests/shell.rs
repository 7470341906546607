//! Shell conventions: each shell's completion script loaded by that shell (bash always; zsh
//! and fish where installed, as install/test-deps.sh does) completing a subcommand, a flag and
//! a worker's name; the man pages rendered by `man -l`; colours off with `NO_COLOR` and on in
//! a terminal.

use crate::util::{exe, json, run_ok, wait_for, World};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A command run by `shell` with the world's environment and orch's executables on PATH.
fn in_shell(world: &World, shell: &str, script: &str) -> String {
    let bin = exe("orch").parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(shell);
    cmd.env_clear()
        .envs(world.env())
        .env("PATH", path)
        .arg("-c")
        .arg(script);
    run_ok(&mut cmd, None, || format!("{shell} -c {script}"))
}

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// bash: what `_orch_with_workers` offers for the words of a command line (the last is the
/// word being completed).
fn bash_completes(world: &World, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source <(orch completions bash) && COMP_WORDS=({}) && COMP_CWORD={} && \
         COMP_LINE='{}' && COMP_POINT=${{#COMP_LINE}} && \
         _orch_with_workers orch '{}' '{}' && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        quoted.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len() - 2],
    );
    in_shell(world, "bash", &script)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn completion_scripts_complete_subcommands_flags_and_worker_names() {
    let world = World::installed();
    world.spawn_sim("alpha");
    assert_eq!(world.ok(&["__workers"]), "w1\nalpha\n");

    assert!(bash_completes(&world, &["orch", "te"]).contains(&"tell".into()));
    let flags = bash_completes(&world, &["orch", "spawn", "--work"]);
    assert!(flags.contains(&"--worktree".into()), "{flags:?}");
    assert_eq!(bash_completes(&world, &["orch", "tell", "al"]), ["alpha"]);
    assert_eq!(
        bash_completes(&world, &["orch", "--json", "listen", "w"]),
        ["w1"]
    );
    // A flag's value is not a worker.
    let timeout = bash_completes(&world, &["orch", "listen", "alpha", "--timeout", ""]);
    assert!(!timeout.contains(&"alpha".into()), "{timeout:?}");

    if installed("fish") {
        let fish = |line: &str| {
            in_shell(
                &world,
                "fish",
                &format!("orch completions fish | source; complete -C '{line}'"),
            )
        };
        assert!(fish("orch te").lines().any(|l| l.starts_with("tell")));
        assert!(fish("orch spawn --work").contains("--worktree"));
        assert!(fish("orch tell al").lines().any(|l| l.starts_with("alpha")));
    }
    if installed("zsh") {
        // zsh's completion needs a terminal to run: the script loads, and its worker action
        // lists the worker.
        let out = in_shell(
            &world,
            "zsh",
            "autoload -U compinit && compinit -u -D && source <(orch completions zsh) && \
             whence -w _orch _orch_workers && \
             print -l ${(f)\"$(orch __workers)\"}",
        );
        assert!(out.contains("_orch: function") && out.contains("_orch_workers: function"));
        assert!(out.contains("alpha"), "{out}");
    }
    for shell in ["elvish", "powershell"] {
        let script = world.ok(&["completions", shell]);
        assert!(script.contains("spawn"), "{shell}");
    }
    let out = world.orch(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_man_page_per_command_renders() {
    let world = World::new();
    let dir = world.root().join("man");
    let written = world.ok(&["__man", dir.to_str().unwrap()]);
    assert!(written.lines().count() > 20, "{written}");
    for (page, says) in [
        ("orch.1", "spawn"),
        ("orch-spawn.1", "--worktree"),
        ("orch-limits.1", "--release"),
        ("orch-completions.1", "powershell"),
    ] {
        let mut man = Command::new("man");
        man.env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .arg("-l")
            .arg(dir.join(page));
        let text = run_ok(&mut man, None, String::new);
        assert!(
            text.contains("NAME") && text.contains(says),
            "{page}:\n{text}"
        );
    }
    assert!(!Path::new(&dir.join("orch-__deliver.1")).exists());
}

/// `orch ps` in a terminal (a tmux pane, its screen read with its colours) paints the status;
/// with `NO_COLOR` or `--color never` it prints no escape code; into a pipe none either, but
/// `--color always` paints there too.
#[test]
fn colours_follow_no_color_and_the_terminal() {
    let world = World::installed();
    world.spawn_sim("alpha");
    let tmux = world.tmux.as_ref().unwrap();
    let bin = exe("orch").parent().unwrap().to_path_buf();
    let screen = |env: &str, flags: &str| {
        let command = format!(
            "env {env} PATH={}:$PATH ORCH_HOME={} orch ps {flags}; echo END; sleep 60",
            bin.display(),
            world.state().display()
        );
        let pane = tmux
            .run(&["new-window", "-d", "-P", "-F", "#{pane_id}", &command])
            .trim()
            .to_string();
        let shown = wait_for("ps on screen", Duration::from_secs(20), || {
            let text = tmux.run(&["capture-pane", "-p", "-e", "-t", &pane]);
            text.contains("END").then_some(text)
        });
        tmux.run(&["kill-pane", "-t", &pane]);
        shown
    };
    let esc = '\u{1b}';
    let painted = screen("", "");
    assert!(painted.contains("alpha"), "{painted}");
    assert!(
        painted.contains(esc),
        "a terminal gets colours:\n{painted:?}"
    );
    for (env, flags) in [("NO_COLOR=1", ""), ("", "--color never")] {
        let plain = screen(env, flags);
        assert!(
            plain.contains("idle") && !plain.contains(esc),
            "{env}{flags}: {plain:?}"
        );
    }
    let piped = world.ok(&["ps"]);
    assert!(!piped.contains(esc));
    assert!(world.ok(&["--color", "always", "ps"]).contains(esc));
    assert!(json(&world.ok(&["--json", "--color", "always", "ps"])).is_array());
}
