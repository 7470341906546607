//! `orch top` in a real tmux pane of a private server, over sim workers: what capture-pane
//! shows, when it redraws (its `ORCH_TOP_TRACE` lines), and what its keys do; attaching
//! through a real tmux client (a second private server whose pane runs `tmux attach`), and the
//! popup.

use crate::util::{exe, json, stderr, wait_or_explain, Tmux, World};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// `orch top` running in a window of the world's tmux server.
pub struct Top<'w> {
    world: &'w World,
    pane: String,
    trace: PathBuf,
}

impl<'w> Top<'w> {
    /// Starts `orch top ARGS` in a new window of session `main` and waits for its first frame.
    pub fn start(world: &'w World, args: &[&str]) -> Top<'w> {
        let trace = world.root().join(crate::util::unique("top-trace"));
        let mut argv: Vec<String> = ["new-window", "-d", "-t", "main", "-P", "-F", "#{pane_id}"]
            .map(String::from)
            .to_vec();
        // The world's environment only, but `$TMUX` and `$TMUX_PANE` as tmux set them for
        // the pane (a person's pane has them).
        let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
        let mut line = String::from("exec env -i TMUX=\"$TMUX\" TMUX_PANE=\"$TMUX_PANE\"");
        for (key, value) in world.env() {
            line.push_str(&format!(" {}", quote(&format!("{key}={value}"))));
        }
        line.push_str(&format!(
            " {} {} top",
            quote(&format!("ORCH_TOP_TRACE={}", trace.display())),
            quote(&exe("orch").display().to_string())
        ));
        for arg in args {
            line.push_str(&format!(" {}", quote(arg)));
        }
        argv.push(line);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let pane = world.tmux.as_ref().unwrap().run(&argv).trim().to_string();
        let top = Top { world, pane, trace };
        top.wait_screen("the first frame", |s| s.contains("orch top"));
        top
    }

    pub fn screen(&self) -> String {
        self.world.tmux.as_ref().unwrap().capture(&self.pane)
    }

    /// Waits until the pane's screen satisfies `check`; returns it.
    pub fn wait_screen(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        wait_or_explain(
            what,
            WAIT,
            || Some(self.screen()).filter(|s| check(s)),
            || self.world.explain(),
        )
    }

    /// `send-keys -t PANE KEYS` (tmux key names); `-l` for literal text.
    fn keys(&self, keys: &[&str]) {
        let mut argv = vec!["send-keys", "-t", &self.pane];
        argv.extend(keys);
        self.world.tmux.as_ref().unwrap().run(&argv);
    }

    pub fn trace(&self) -> Vec<Value> {
        trace_of(&self.trace)
    }
}

fn trace_of(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The line of worker `name`'s row on `screen`.
pub fn row<'s>(screen: &'s str, name: &str) -> &'s str {
    screen
        .lines()
        .find(|l| l.contains(&format!(" {name} ")))
        .unwrap_or("")
}

/// `orch --json listen ID --after SEQ`: the next Stop.
fn stop_after(world: &World, id: &str, after: u64) -> Value {
    json(&world.ok(&[
        "--json",
        "listen",
        id,
        "--after",
        &after.to_string(),
        "--timeout",
        "20",
    ]))
}

fn cursor(world: &World, id: &str) -> u64 {
    world.ps_row(id)["cursor"].as_u64().unwrap()
}

#[test]
fn top_follows_the_fleet_and_its_keys_tell_interrupt_and_decide() {
    let world = World::installed();
    world.spawn_sim("alpha");
    world.spawn_sim("beta");
    let top = Top::start(&world, &[]);
    top.wait_screen("both workers idle", |s| {
        row(s, "alpha").contains("idle") && row(s, "beta").contains("idle")
    });

    // A Stop redraws the board, woken by the event log's change (not by the clock).
    let before = cursor(&world, "w1");
    world.ok(&["tell", "w1", "[[say: ping from alpha]]"]);
    let stop = stop_after(&world, "w1", before);
    let seq = stop["seq"].as_u64().unwrap();
    let drawn = wait_or_explain(
        "a redraw holding w1's Stop",
        WAIT,
        || {
            top.trace()
                .into_iter()
                .find(|t| t["cursors"]["w1"].as_u64() >= Some(seq))
        },
        || format!("{:#?}", top.trace()),
    );
    assert_eq!(drawn["cause"], "change", "woken by the file: {drawn}");
    eprintln!(
        "orch top drew w1's Stop {} ms after the hook recorded it",
        drawn["ms"].as_u64().unwrap() - stop["ts_ms"].as_u64().unwrap()
    );
    let shown = top.wait_screen("the reply", |s| row(s, "alpha").contains("ping from alpha"));
    assert!(shown.contains("2 workers"), "{shown}");

    // `t`: a prompt typed in the view reaches the selected worker (the first row).
    let before = cursor(&world, "w1");
    top.keys(&["t"]);
    top.keys(&["-l", "[[say: told from top]]"]);
    top.wait_screen("the prompt being typed", |s| {
        s.contains("tell w1> [[say: told from top]]")
    });
    top.keys(&["Enter"]);
    let stop = stop_after(&world, "w1", before);
    assert_eq!(stop["last_assistant_message"], "told from top");
    top.wait_screen("the note", |s| s.contains("told `w1`"));

    // `i` then `y`: the busy worker below is interrupted.
    let before = cursor(&world, "w2");
    world.ok(&["tell", "w2", "[[sleep: 60]] [[say: never]]"]);
    top.wait_screen("beta busy", |s| row(s, "beta").contains("busy"));
    top.keys(&["j", "i"]);
    top.wait_screen("the question", |s| s.contains("interrupt w2? y/n"));
    top.keys(&["y"]);
    wait_or_explain(
        "w2 interrupted",
        WAIT,
        || {
            let events = json(&world.ok(&["--json", "events", "w2"]));
            events
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["event"] == "interrupted" && e["seq"].as_u64() > Some(before))
                .then_some(())
        },
        || world.explain(),
    );
    top.wait_screen("beta idle again", |s| !row(s, "beta").contains("busy"));

    // An escalation shows at once; Tab, `d`, `1`, Enter decide it with its first option.
    let out = world
        .cmd("orch")
        .env("ORCH_WORKER", "w1")
        .args(["escalate", "--axis", "reversibility"])
        .args(["--summary", "Drop the users table?"])
        .args(["--option", "yes", "--option", "no"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = top.wait_screen("the escalation", |s| s.contains("1 to decide"));
    assert!(
        shown.contains("Drop the users table?  [1) yes  2) no]"),
        "{shown}"
    );
    top.keys(&["Tab", "d", "1"]);
    top.wait_screen("the decision being typed", |s| s.contains("decide e1"));
    top.keys(&["Enter"]);
    let decided = wait_or_explain(
        "e1 decided",
        WAIT,
        || {
            let all = json(&world.ok(&["--json", "escalations"]));
            all.as_array()
                .unwrap()
                .iter()
                .find(|e| e["id"] == "e1" && e["status"] == "decided")
                .cloned()
        },
        || world.explain(),
    );
    assert_eq!(decided["decision"], "yes");
    assert_eq!(decided["decided_by"], "person");
    top.wait_screen("no escalation left", |s| !s.contains("to decide"));

    // `q` ends it: the window closes.
    top.keys(&["q"]);
    wait_or_explain(
        "orch top to exit",
        WAIT,
        || {
            let panes = world
                .tmux
                .as_ref()
                .unwrap()
                .run(&["list-panes", "-a", "-F", "#{pane_id}"]);
            (!panes.lines().any(|p| p == top.pane)).then_some(())
        },
        || world.explain(),
    );
    // Every redraw after the start came from a change, a key or the clock.
    for line in top.trace() {
        let cause = line["cause"].as_str().unwrap();
        assert!(
            ["start", "change", "key", "tick"].contains(&cause),
            "{line}"
        );
    }
}

/// A tmux client attached to the world's session `main`: a second private server whose pane
/// runs `tmux attach`. Returns the server (its pane is what the person sees) and the client's
/// name on the world's server.
fn client(world: &World) -> (Tmux, String) {
    let viewer = Tmux::start();
    let socket = &world.tmux.as_ref().unwrap().socket;
    viewer.run(&[
        "respawn-pane",
        "-k",
        "-t",
        "main",
        &format!("env -u TMUX TERM=xterm-256color tmux -L {socket} attach -t main"),
    ]);
    let name = wait_or_explain(
        "a client attached",
        WAIT,
        || {
            let clients =
                world
                    .tmux
                    .as_ref()
                    .unwrap()
                    .run(&["list-clients", "-F", "#{client_name}"]);
            clients.lines().next().map(str::to_string)
        },
        || world.explain(),
    );
    (viewer, name)
}

/// The pane the client shows.
fn shown_pane(world: &World, client: &str) -> String {
    world
        .tmux
        .as_ref()
        .unwrap()
        .run(&["display-message", "-p", "-c", client, "#{pane_id}"])
        .trim()
        .to_string()
}

#[test]
fn top_switches_the_client_to_a_worker_and_opens_as_a_popup() {
    let world = World::installed();
    let alpha = world.spawn_sim("alpha")["pane"]
        .as_str()
        .unwrap()
        .to_string();
    let top = Top::start(&world, &[]);
    top.wait_screen("alpha", |s| row(s, "alpha").contains("idle"));
    let (viewer, name) = client(&world);
    let tmux = world.tmux.as_ref().unwrap();
    tmux.run(&["switch-client", "-c", &name, "-t", &top.pane]);
    assert_eq!(shown_pane(&world, &name), top.pane);

    // Enter in a pane: this client now shows the worker's pane; the view keeps running.
    top.keys(&["Enter"]);
    wait_or_explain(
        "the client on alpha's pane",
        WAIT,
        || (shown_pane(&world, &name) == alpha).then_some(()),
        || world.explain(),
    );
    top.wait_screen("the note", |s| s.contains("switched to `w1`"));

    // `--popup` from a pane of that client: the view opens over it, Enter switches and
    // closes it.
    tmux.run(&["switch-client", "-c", &name, "-t", "main:0"]);
    let shell = shown_pane(&world, &name);
    let mut popup = world.cmd("orch");
    world.in_pane(&mut popup, &shell).args(["top", "--popup"]);
    let mut popup = popup
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_or_explain(
        "the popup on the client's screen",
        WAIT,
        || {
            let seen = viewer.capture("main");
            (seen.contains("orch top") && seen.contains("alpha")).then_some(())
        },
        || viewer.capture("main"),
    );
    viewer.run(&["send-keys", "-t", "main", "Enter"]);
    let status = popup.wait().unwrap();
    assert!(status.success(), "orch top --popup: {status}");
    assert_eq!(shown_pane(&world, &name), alpha);
    assert!(
        !viewer.capture("main").contains("orch top"),
        "the popup closed"
    );
}

#[test]
fn top_refuses_what_it_cannot_show() {
    let world = World::new();
    // No terminal (stdin and stdout are not one).
    let out = world.orch(&["top"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("needs a terminal"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("orch ps"), "{}", stderr(&out));
    let out = world.orch(&["--json", "top"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("orch --json ps"), "{}", stderr(&out));
    // A popup outside tmux.
    let out = world.orch(&["top", "--popup"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("inside tmux"), "{}", stderr(&out));
}

#[test]
fn top_sees_panes_go_with_their_server() {
    let world = World::installed();
    world.spawn_sim("alpha");
    // The view runs on a server of its own; the workers' server dies under it, writing no
    // file: the clock's look at tmux finds it.
    let viewer = Tmux::start();
    let mut line = String::from("exec env -i");
    for (key, value) in world.env() {
        line.push_str(&format!(" '{key}={value}'"));
    }
    line.push_str(&format!(" '{}' top", exe("orch").display()));
    viewer.run(&["respawn-pane", "-k", "-t", "main", &line]);
    let seen = |what: &str, check: &dyn Fn(&str) -> bool| {
        wait_or_explain(
            what,
            WAIT,
            || Some(viewer.capture("main")).filter(|s| check(s)),
            || viewer.capture("main"),
        )
    };
    seen("alpha idle", &|s| row(s, "alpha").contains("idle"));
    world.tmux.as_ref().unwrap().kill_server();
    seen("alpha resumable", &|s| {
        row(s, "alpha").contains("resumable")
    });
}
