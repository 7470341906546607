//! orch's benchmark: prints its figures as one JSON object (run with
//! `cargo bench --bench bench`; `ORCH_BENCH_ONLY=conflict_check,land` runs only those parts,
//! see [`Only`]). Not a test: figures on a shared machine are noisy, so nothing
//! here asserts a target; the README quotes the numbers and the targets side by side.
//!
//! - hook: wall time of one `orch-hook` process (spawn, stdin payload, exit), median and p99
//!   over 200 runs, for a session orch does not manage and for a managed Stop, next to
//!   `/bin/true` measured the same way in the same run. The hook measured is
//!   `$ORCH_BENCH_HOOK` when set (the one `install/build.sh` links statically, with `orch`
//!   beside it), else the one cargo built for this run; with `$ORCH_BENCH_HOOK`, cargo's is
//!   measured too, for a session orch does not manage (`unmanaged_cargo_build`);
//! - wake: from the start of a hook process that records a Stop to `orch listen` exiting;
//! - fan-in: 64 hook processes started at once for 8 workers: events recorded, and whether
//!   every worker's sequence is contiguous;
//! - hook storm: 10,000 hook processes, 100 running at any moment, over 8 workers, each
//!   carrying a mark of its own: marks lost, marks recorded twice, torn lines (all must be 0),
//!   whether every sequence is contiguous, and each hook's wall time under that load;
//! - fan-out: one Stop of a worker with 16 subscribers (push mode): time from the hook's start
//!   until the last inbox holds the item, and the publisher hook's own wall time;
//! - command: a `command` worker (bash, quiet time 200 ms) on a private tmux server, 30 turns of
//!   `echo`: `orch tell`'s wall time (paste, Enter, acknowledgement by the detector) and the
//!   time from tell's exit to `orch listen` exiting with the Stop, less the quiet time;
//! - notify: the hook that makes a worker need the person to the webhook request leaving
//!   orch, beyond the grace delay ([`notify_page`]); an answer published to the reply topic
//!   to the worker's decision ([`notify_reply`]). `ORCH_BENCH_ONLY=notify` runs only these.
//! - usage: `orch --json usage` (totals, as ps reads them) on a Claude Code worker whose transcript holds 2000 model
//!   calls: the first read (the whole file) and a read after one more call was written (the
//!   incremental cost per turn), wall time of the whole process;
//! - top: `orch top` in a tmux pane over nine workers: from the start of a hook process that
//!   records a Stop to the end of the frame showing it, and from a call appended to a
//!   2000-call Claude Code transcript to the frame showing the new token total;
//! - remote wake: the same as wake for a sim worker on a "host" (a private sshd on 127.0.0.1,
//!   `orch spawn --host`): from the start of the host's hook process recording a Stop to
//!   `orch listen` exiting here, the event having come through the relay's ssh stream;
//! - limits: a fleet of 50 sim workers on one account through a usage limit, the probe
//!   schedule scaled down 100 times: the requests the fleet makes during a limit with no reset
//!   time (10 minutes, here 6 s), `orch ps` with the 50 held, and the time from a known reset to
//!   the last continued turn's acknowledged prompt ([`limits_fleet`]).

#[path = "sshd.rs"]
#[allow(dead_code)]
mod sshd;
#[path = "util.rs"]
mod util;

use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use util::{json, run_ok, World};

const RUNS: usize = 200;

fn exe(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_orch")).with_file_name(name)
}

fn stop_payload(session: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "session_id": session,
        "transcript_path": "/tmp/none.jsonl",
        "cwd": "/tmp",
        "prompt_id": "e4c72137-8e4f-4e67-a5cc-6e69cd94d1bc",
        "permission_mode": "default",
        "effort": {"level": "high"},
        "hook_event_name": "Stop",
        "stop_hook_active": false,
        "last_assistant_message": "All done: the tests pass and the branch is pushed.",
        "background_tasks": [],
        "session_crons": []
    }))
    .unwrap()
}

/// Runs `program` once with `env` and `stdin`; returns its wall time.
fn time_once(program: &Path, env: &[(&str, String)], stdin: &[u8]) -> Duration {
    let start = Instant::now();
    let mut child = Command::new(program)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait().unwrap();
    start.elapsed()
}

fn stats(mut samples: Vec<Duration>) -> Value {
    samples.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    json!({"n": samples.len(), "median_ms": ms(at(0.5)), "p99_ms": ms(at(0.99)), "max_ms": ms(at(1.0))})
}

/// A state dir with `n` workers `w1..wn`, each with session id `s<i>` indexed.
fn state_with_workers(root: &Path, n: usize) {
    for i in 1..=n {
        let dir = root.join("workers").join(format!("w{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(root.join("sessions")).unwrap();
        std::fs::create_dir_all(root.join("panes")).unwrap();
        std::fs::write(root.join("sessions").join(format!("s{i}")), format!("w{i}")).unwrap();
    }
}

fn main() {
    let only = Only::from_env();
    let tmp = tempfile::tempdir().unwrap();
    let cargo_hook = exe("orch-hook");
    let hook = std::env::var_os("ORCH_BENCH_HOOK").map_or(cargo_hook.clone(), PathBuf::from);
    let path = std::env::var("PATH").unwrap_or_default();
    let tmp = tmp.path();
    let mut report = serde_json::Map::new();
    if only.wants("hook") {
        report.extend(hook_figures(tmp, &hook, &cargo_hook, &path));
    }
    let mut put = |part: &str, key: &str, figure: &dyn Fn() -> Value| {
        if only.wants(part) {
            report.insert(key.to_string(), figure());
        }
    };
    put("storm", "hook_storm", &|| hook_storm(tmp, &hook, &path));
    put("fan_out", "fan_out", &|| fan_out(tmp, &hook, &path));
    put("command", "command", &|| command_turns(tmp, &path));
    put("usage", "usage_read", &|| usage_read(tmp, &path));
    put("top", "top_redraw", &|| top_redraw(tmp, &hook, &path));
    put("remote_wake", "remote_listen_wake", &|| {
        remote_wake(tmp, &hook, &path)
    });
    put("limits", "limits", &limits_fleet);
    put("conflict_check", "conflict_check", &|| {
        conflict_check(tmp, &hook, &path)
    });
    put("land", "land", &|| land_eight(tmp, &path));
    put("notify", "notify_page", &|| notify_page(tmp, &hook, &path));
    put("notify", "notify_reply", &|| notify_reply(tmp, &path));
    report.insert(
        "targets".into(),
        json!({
            "notify_page_p99_ms_beyond_grace": "<= 1000",
            "notify_reply_median_ms": "<= 1000",
            "unmanaged_vs_true": "<= 1.5",
            "managed_stop_median_ms": "<= 3",
            "listen_wake_median_ms": "<= 5",
            "fan_in": "64/64",
            "hook_storm_lost_duplicated_torn": "0 / 0 / 0",
            "fan_out_publisher_hook_median_ms": "<= 5",
            "top_stop_to_frame_median_ms": "<= 100",
            "limits_requests_in_10_min": "<= 5",
            "limits_reset_to_last_continue_s": "<= 5",
            "stop_to_conflict_event_ms": "<= 500",
            "land_8_over_tests_ms": "<= 2000"
        }),
    );
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}

/// The parts of the benchmark to run: `$ORCH_BENCH_ONLY`, comma-separated (`hook` for the
/// hook's own times, listen's wake and the fan-in, then `storm`, `fan_out`, `command`,
/// `usage`, `top`, `remote_wake`, `limits`, `conflict_check`, `land`, `notify`); every part
/// when unset or empty.
struct Only(Option<Vec<String>>);

impl Only {
    const PARTS: [&'static str; 11] = [
        "hook",
        "storm",
        "fan_out",
        "command",
        "usage",
        "top",
        "remote_wake",
        "limits",
        "conflict_check",
        "land",
        "notify",
    ];

    /// Reads `$ORCH_BENCH_ONLY`; panics on a part it does not know, naming them all.
    fn from_env() -> Only {
        let Some(list) = std::env::var("ORCH_BENCH_ONLY")
            .ok()
            .filter(|l| !l.is_empty())
        else {
            return Only(None);
        };
        let parts: Vec<String> = list.split(',').map(|p| p.trim().to_string()).collect();
        for part in &parts {
            assert!(
                Only::PARTS.contains(&part.as_str()),
                "ORCH_BENCH_ONLY: no part `{part}` (parts: {})",
                Only::PARTS.join(", ")
            );
        }
        Only(Some(parts))
    }

    fn wants(&self, part: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|parts| parts.iter().any(|p| p == part))
    }
}

/// The hook's own wall time (unmanaged, managed Stop, next to `/bin/true`), listen's wake
/// latency and the fan-in of 64 hooks at once, over a state folder of 8 workers: the report's
/// `hook`, `listen_wake` and `fan_in`.
fn hook_figures(
    tmp: &Path,
    hook: &Path,
    cargo_hook: &Path,
    path: &str,
) -> serde_json::Map<String, Value> {
    let state = tmp.join("state");
    state_with_workers(&state, 8);
    let base = |worker: Option<&str>| {
        let mut env = vec![
            ("PATH", path.to_string()),
            ("HOME", tmp.display().to_string()),
            ("ORCH_HOME", state.display().to_string()),
        ];
        if let Some(w) = worker {
            env.push(("ORCH_WORKER", w.to_string()));
        }
        env
    };

    // Warm the page cache for both programs.
    for _ in 0..10 {
        time_once(Path::new("/bin/true"), &base(None), b"{}");
        time_once(hook, &base(None), &stop_payload("stranger"));
    }
    let mut t_true = Vec::new();
    let mut t_unmanaged = Vec::new();
    let mut t_unmanaged_idle = Vec::new();
    let mut t_managed = Vec::new();
    let mut t_cargo_hook = Vec::new();
    let empty = tmp.join("empty-state");
    let idle_env = vec![
        ("PATH", path.to_string()),
        ("HOME", tmp.display().to_string()),
        ("ORCH_HOME", empty.display().to_string()),
    ];
    let stranger = stop_payload("stranger");
    let managed = stop_payload("s1");
    for _ in 0..RUNS {
        // Interleaved, so that machine noise hits all four alike.
        t_true.push(time_once(Path::new("/bin/true"), &base(None), &stranger));
        t_unmanaged_idle.push(time_once(hook, &idle_env, &stranger));
        t_unmanaged.push(time_once(hook, &base(None), &stranger));
        t_managed.push(time_once(hook, &base(Some("w1")), &managed));
        if hook != cargo_hook {
            t_cargo_hook.push(time_once(cargo_hook, &base(None), &stranger));
        }
    }
    let recorded = std::fs::read_to_string(state.join("workers/w1/events.jsonl"))
        .unwrap_or_default()
        .lines()
        .count();
    assert_eq!(recorded, RUNS, "every managed Stop is recorded");

    // Wake latency: listen waits on w2 (a pane in a private tmux server, so that listen's
    // liveness check passes); a hook records a Stop for it.
    let socket = format!("orch-bench-{}", std::process::id());
    let tmux = |args: &[&str]| tmux_on(&socket, args);
    let pane = tmux(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-P",
        "-F",
        "#{pane_id}",
        "sleep 600",
    ]);
    let wake_server = KillOnDrop(socket.clone());
    // orch knows its panes by their tag: a pane id alone may be a later server's.
    tmux(&["set-option", "-p", "-t", &pane, "@orch_id", "w2"]);
    let meta = json!({"id":"w2","name":"w2","role":"worker","harness":"sim","cwd":"/",
        "parent":"operator","created_ms":0,"pane":pane,"server":{"socket_name":socket}});
    std::fs::write(state.join("workers/w2/meta.json"), meta.to_string()).unwrap();
    let mut wake = Vec::new();
    for i in 0..50u64 {
        let listen = (base(None), "w2", i);
        let (elapsed, event) = wake_once(&listen, hook, &base(Some("w2")), "s2");
        assert_eq!(event["seq"], i + 1, "listen returned the new Stop");
        wake.push(elapsed);
    }
    drop(wake_server);

    // Fan-in: 64 hook processes at once, 8 per worker (w1..w8), on fresh logs.
    for i in 1..=8 {
        let _ = std::fs::remove_file(state.join(format!("workers/w{i}/events.jsonl")));
    }
    let children: Vec<_> = (0..64)
        .map(|n| {
            let w = n % 8 + 1;
            let mut child = Command::new(hook)
                .env_clear()
                .envs(
                    base(Some(&format!("w{w}")))
                        .iter()
                        .map(|(k, v)| (*k, v.as_str())),
                )
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            (child.stdin.take().unwrap(), child, w)
        })
        .collect();
    let mut waiting = Vec::new();
    for (mut stdin, child, w) in children {
        let _ = stdin.write_all(&stop_payload(&format!("s{w}")));
        drop(stdin);
        waiting.push(child);
    }
    for mut child in waiting {
        child.wait().unwrap();
    }
    let mut total = 0;
    let mut contiguous = true;
    for i in 1..=8 {
        let text =
            std::fs::read_to_string(state.join(format!("workers/w{i}/events.jsonl"))).unwrap();
        let seqs: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        total += seqs.len();
        contiguous &= seqs == (1..=seqs.len() as u64).collect::<Vec<_>>();
    }

    let true_median = stats(t_true.clone())["median_ms"].as_f64().unwrap();
    let unmanaged = stats(t_unmanaged);
    let figures = json!({
        "hook": {
            "program": hook,
            "unmanaged_cargo_build": (!t_cargo_hook.is_empty()).then(|| stats(t_cargo_hook)),
            "bin_true": stats(t_true),
            "unmanaged_no_workers": stats(t_unmanaged_idle),
            "unmanaged": unmanaged,
            "unmanaged_vs_true": (unmanaged["median_ms"].as_f64().unwrap() / true_median * 100.0).round() / 100.0,
            "managed_stop": stats(t_managed),
        },
        "listen_wake": stats(wake),
        "fan_in": {"recorded": total, "expected": 64, "contiguous": contiguous},
    });
    let Value::Object(figures) = figures else {
        unreachable!()
    };
    figures
}

/// 10,000 hook processes, 100 at a time (100 threads each running its share one after the
/// other), over 8 workers on fresh logs, each Stop carrying its own mark: what was lost,
/// recorded twice or torn, and each hook's wall time under that load.
fn hook_storm(tmp: &Path, hook: &Path, path: &str) -> Value {
    const RUNS: usize = 10_000;
    const AT_ONCE: usize = 100;
    const WORKERS: usize = 8;
    let state = tmp.join("storm");
    state_with_workers(&state, WORKERS);
    let env = |w: usize| {
        vec![
            ("PATH", path.to_string()),
            ("HOME", tmp.display().to_string()),
            ("ORCH_HOME", state.display().to_string()),
            ("ORCH_WORKER", format!("w{w}")),
        ]
    };
    let start = Instant::now();
    let times: Vec<Duration> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..AT_ONCE)
            .map(|t| {
                let env = &env;
                scope.spawn(move || {
                    (t..RUNS)
                        .step_by(AT_ONCE)
                        .map(|n| {
                            let w = n % WORKERS + 1;
                            let payload = json!({"hook_event_name": "Stop",
                                "session_id": format!("s{w}"),
                                "last_assistant_message": format!("mark-{n}")});
                            time_once(hook, &env(w), payload.to_string().as_bytes())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    let total = start.elapsed();
    let mut seen = vec![0u32; RUNS];
    let (mut torn, mut contiguous) = (0, true);
    for w in 1..=WORKERS {
        let text = std::fs::read_to_string(state.join(format!("workers/w{w}/events.jsonl")))
            .unwrap_or_default();
        let mut seqs = Vec::new();
        for line in text.lines() {
            let Ok(event) = serde_json::from_str::<Value>(line) else {
                torn += 1;
                continue;
            };
            seqs.push(event["seq"].as_u64().unwrap_or(0));
            let mark = event["last_assistant_message"].as_str().unwrap_or("");
            match mark
                .strip_prefix("mark-")
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(n) if n < RUNS => seen[n] += 1,
                _ => torn += 1,
            }
        }
        contiguous &= seqs == (1..=seqs.len() as u64).collect::<Vec<_>>();
    }
    json!({
        "runs": RUNS, "at_once": AT_ONCE, "workers": WORKERS,
        "lost": seen.iter().filter(|&&n| n == 0).count(),
        "duplicated": seen.iter().filter(|&&n| n > 1).count(),
        "torn": torn,
        "contiguous": contiguous,
        "per_hook": stats(times),
        "total_s": (total.as_secs_f64() * 100.0).round() / 100.0,
    })
}

/// One Stop of a publisher with 16 push subscribers, 100 times: the publisher hook's wall time
/// and the time from its start until the last of the 16 inboxes was written.
fn fan_out(tmp: &Path, hook: &Path, path: &str) -> Value {
    use orch_store::{Subscription, SubscriptionMode as Mode};
    let root = tmp.join("fan-out");
    let state = orch_store::Store { root: root.clone() };
    let meta = |id: &str| orch_store::Meta::new(id, "worker", "operator");
    let (publisher, _) = state.new_worker().unwrap();
    state.write_meta(&meta(&publisher)).unwrap();
    state
        .index(&state.session_index("pub").unwrap(), &publisher)
        .unwrap();
    let mut inboxes = Vec::new();
    for _ in 0..16 {
        let (id, _) = state.new_worker().unwrap();
        state.write_meta(&meta(&id)).unwrap();
        let sub = Subscription {
            subscriber: id.clone(),
            events: vec!["stop".into()],
            mode: Mode::Push,
            since: 0,
        };
        orch::coordination::inbox::subscribe(&state, &publisher, sub).unwrap();
        let inbox = state.worker(&id).unwrap();
        inboxes.push(inbox.file(orch_store::worker::File::Inbox));
    }
    let env = vec![
        ("PATH", path.to_string()),
        ("HOME", tmp.display().to_string()),
        ("ORCH_HOME", root.display().to_string()),
        ("ORCH_WORKER", publisher.clone()),
    ];
    let payload = stop_payload("pub");
    let mut hook_times = Vec::new();
    let mut last_inbox = Vec::new();
    for _ in 0..100 {
        let start = std::time::SystemTime::now();
        hook_times.push(time_once(hook, &env, &payload));
        let last = inboxes
            .iter()
            .map(|p| std::fs::metadata(p).unwrap().modified().unwrap())
            .max()
            .unwrap();
        last_inbox.push(last.duration_since(start).unwrap_or_default());
    }
    let lines = std::fs::read_to_string(&inboxes[15])
        .unwrap()
        .lines()
        .count();
    json!({
        "subscribers": 16,
        "publisher_hook": stats(hook_times),
        "until_last_inbox": stats(last_inbox),
        "items_in_last_inbox": lines,
    })
}

/// A bash `command` worker with a 200 ms quiet time, 30 turns: tell's wall time, and listen's
/// wait after tell less the quiet time (the detector's own delay in ending a turn).
fn command_turns(tmp: &Path, path: &str) -> Value {
    const QUIET_MS: u64 = 200;
    let socket = format!("orch-bench-{}", std::process::id());
    let _server = KillOnDrop(socket.clone());
    let env = [
        ("PATH", path.to_string()),
        ("HOME", tmp.display().to_string()),
        ("ORCH_HOME", tmp.join("command-state").display().to_string()),
        ("ORCH_TMUX_SOCKET", socket.clone()),
        ("TERM", "xterm-256color".to_string()),
    ];
    let orch = |args: &[&str]| {
        let mut orch = Command::new(exe("orch"));
        orch.args(args)
            .env_clear()
            .envs(env.iter().cloned())
            .current_dir(tmp)
            .stdin(Stdio::null());
        run_ok(&mut orch, None, String::new)
    };
    let quiet = format!("{}", QUIET_MS as f64 / 1000.0);
    let spawned = orch(&[
        "spawn",
        "--harness",
        "command",
        "--name",
        "b",
        "--quiet",
        &quiet,
        "--prompt-regex",
        r"^\$ $",
        "--",
        "env",
        "PS1=$ ",
        "bash",
        "--norc",
        "--noprofile",
        "-i",
    ]);
    let mut tell = Vec::new();
    let mut stop_after_quiet = Vec::new();
    for i in 0..30 {
        let start = Instant::now();
        let cursor = orch(&["tell", "b", &format!("echo {i}")]);
        let told = Instant::now();
        tell.push(told - start);
        orch(&["listen", "b", "--after", cursor.trim(), "--timeout", "30"]);
        stop_after_quiet.push(
            told.elapsed()
                .saturating_sub(Duration::from_millis(QUIET_MS)),
        );
    }
    json!({
        "worker": spawned.trim(),
        "quiet_ms": QUIET_MS,
        "tell": stats(tell),
        "stop_after_quiet": stats(stop_after_quiet),
    })
}

/// One wake: starts `orch listen WORKER --after CURSOR` with `listen.0` as its environment,
/// lets it set its watch, runs `hook` with `hook_env` on a Stop of `session`, and returns the
/// time from the hook's start to listen's exit, and the event listen printed.
fn wake_once(
    listen: &(Vec<(&str, String)>, &str, u64),
    hook: &Path,
    hook_env: &[(&str, String)],
    session: &str,
) -> (Duration, Value) {
    let (env, worker, after) = listen;
    let child = Command::new(exe("orch"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args([
            "listen",
            worker,
            "--after",
            &after.to_string(),
            "--timeout",
            "10",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Give listen time to set its watch (a benchmark, not a test: nothing to await).
    std::thread::sleep(Duration::from_millis(60));
    let start = Instant::now();
    time_once(hook, hook_env, &stop_payload(session));
    let out = child.wait_with_output().unwrap();
    let elapsed = start.elapsed();
    (
        elapsed,
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

/// `orch usage` on a Claude Code worker with a 2000-call transcript: the first read, then 30
/// reads each after one more call was appended.
fn usage_read(tmp: &Path, path: &str) -> Value {
    let root = tmp.join("usage");
    let home = root.join("home");
    let state = orch_store::Store {
        root: root.join("state"),
    };
    let (id, _) = state.new_worker().unwrap();
    let meta = orch_store::Meta {
        harness: orch::harness::Harness::Claude,
        session_id: Some("bench-session".into()),
        ..orch_store::Meta::new(&id, "worker", "operator")
    };
    state.write_meta(&meta).unwrap();
    let (transcript, call) = (claude_transcript(&home), claude_call);
    let mut text = String::new();
    for n in 0..2000 {
        text.push_str(&call(n));
    }
    std::fs::write(&transcript, text).unwrap();
    let env = [
        ("PATH", path.to_string()),
        ("HOME", home.display().to_string()),
        ("ORCH_HOME", state.root.display().to_string()),
    ];
    let read = || {
        let start = Instant::now();
        let out = Command::new(exe("orch"))
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .args(["--json", "usage"])
            .output()
            .unwrap();
        let elapsed = start.elapsed();
        let rows: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (elapsed, rows[0]["tokens"]["input"].as_u64().unwrap_or(0))
    };
    let (first, input) = read();
    assert_eq!(input, 2000 * 1200, "every call counted");
    let mut each = Vec::new();
    for n in 2000..2030 {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&transcript)
            .unwrap();
        file.write_all(call(n).as_bytes()).unwrap();
        let (elapsed, input) = read();
        assert_eq!(input, (n as u64 + 1) * 1200, "the new call counted");
        each.push(elapsed);
    }
    json!({"calls": 2000, "first_read_ms": (first.as_secs_f64() * 1e6).round() / 1e3,
           "after_one_more_call": stats(each)})
}

/// `orch top` in a pane of a private tmux server over nine workers (panes running `sleep`):
/// eight sim workers, and a Claude Code worker whose transcript holds 2000 calls. 50 Stops
/// (one hook process each, round the eight), from the hook's start to the end of the frame
/// that shows it (top's `ORCH_TOP_TRACE`); then 30 calls appended to the transcript, from the
/// append to the frame that shows the new token total (what top pays per turn for spend).
fn top_redraw(tmp: &Path, hook: &Path, path: &str) -> Value {
    let root = tmp.join("top");
    let home = root.join("home");
    let state = root.join("state");
    state_with_workers(&state, 9);
    let socket = format!("orch-bench-top-{}", std::process::id());
    let tmux = |args: &[&str]| tmux_on(&socket, args);
    tmux(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-x",
        "200",
        "-y",
        "50",
        "sleep 600",
    ]);
    let _server = KillOnDrop(socket.clone());
    for i in 1..=9 {
        let id = format!("w{i}");
        let pane = tmux(&["new-window", "-d", "-P", "-F", "#{pane_id}", "sleep 600"]);
        tmux(&["set-option", "-p", "-t", &pane, "@orch_id", &id]);
        let (harness, session) = match i {
            9 => ("claude", "bench-session".to_string()),
            _ => ("sim", format!("s{i}")),
        };
        let meta = json!({"id": id, "name": format!("worker-{i}"), "role": "worker",
            "harness": harness, "cwd": "/", "parent": "operator", "created_ms": i,
            "session_id": session, "pane": pane, "server": {"socket_name": socket}});
        std::fs::write(
            state.join(format!("workers/{id}/meta.json")),
            meta.to_string(),
        )
        .unwrap();
    }
    let (transcript, call) = (claude_transcript(&home), claude_call);
    std::fs::write(&transcript, (0..2000).map(call).collect::<String>()).unwrap();

    let trace = root.join("trace.jsonl");
    let env = [
        ("PATH", path.to_string()),
        ("HOME", home.display().to_string()),
        ("ORCH_HOME", state.display().to_string()),
    ];
    let mut argv = vec![
        "new-window".to_string(),
        "-d".into(),
        "--".into(),
        "env".into(),
        "-i".into(),
    ];
    argv.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    argv.push(format!("ORCH_TOP_TRACE={}", trace.display()));
    argv.extend(["TERM=xterm-256color".into(), "LANG=C.UTF-8".into()]);
    argv.extend([exe("orch").display().to_string(), "top".into()]);
    tmux(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    let now_us = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64
    };
    // The first frame after `since` (Unix microseconds) that `shows`; polled, a benchmark.
    let frame = |since: u64, shows: &dyn Fn(&Value) -> bool| -> u64 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&trace).unwrap_or_default();
            let found = text
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|t| t["us"].as_u64() >= Some(since) && shows(t));
            if let Some(t) = found {
                return t["us"].as_u64().unwrap();
            }
            assert!(Instant::now() < deadline, "orch top never drew it:\n{text}");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    frame(0, &|t| t["tokens"]["w9"].as_u64() == Some(2000 * 10_540));
    let mut stops = Vec::new();
    for i in 0..50u64 {
        let w = i % 8 + 1;
        let seq = i / 8 + 1;
        let worker = format!("w{w}");
        let mut hook_env = env.to_vec();
        hook_env.push(("ORCH_WORKER", worker.clone()));
        let start = now_us();
        time_once(hook, &hook_env, &stop_payload(&format!("s{w}")));
        let drawn = frame(start, &|t| t["cursors"][&worker].as_u64() >= Some(seq));
        stops.push(Duration::from_micros(drawn - start));
    }
    let mut calls = Vec::new();
    for n in 2000..2030 {
        let start = now_us();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&transcript)
            .unwrap();
        file.write_all(call(n).as_bytes()).unwrap();
        drop(file);
        let total = (n as u64 + 1) * 10_540;
        let drawn = frame(start, &|t| t["tokens"]["w9"].as_u64() == Some(total));
        calls.push(Duration::from_micros(drawn - start));
    }
    json!({"workers": 9, "stop_to_frame": stats(stops),
           "transcript_call_to_frame": {"calls": 2000, "after_one_more_call": stats(calls)}})
}

/// Runs `tmux -L SOCKET ARGS` (outside any `$TMUX`); returns its trimmed stdout.
fn tmux_on(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .env_remove("TMUX")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Where Claude Code keeps conversation `bench-session` of a worker whose HOME is `home`
/// (its folder made).
fn claude_transcript(home: &Path) -> PathBuf {
    let project = home.join(".claude/projects/-bench");
    std::fs::create_dir_all(&project).unwrap();
    project.join("bench-session.jsonl")
}

/// Model call `n` as a line of a Claude Code transcript: 1200 input, 300 output, 9000 cache
/// read and 40 cache write tokens of claude-sonnet-4-5.
fn claude_call(n: usize) -> String {
    let line = json!({"type": "assistant", "uuid": format!("u{n}"),
        "message": {"id": format!("msg_{n}"), "model": "claude-sonnet-4-5",
            "role": "assistant", "content": [{"type": "text", "text": "done ".repeat(40)}],
            "usage": {"input_tokens": 1200, "output_tokens": 300,
                      "cache_read_input_tokens": 9000, "cache_creation_input_tokens": 40}}});
    format!("{line}\n")
}

/// 50 Stops of a sim worker on a "host" (a private sshd on 127.0.0.1): from the start of the
/// host's hook process to `orch listen` exiting here. Skipped (with the reason) when sshd is
/// not installed.
fn remote_wake(tmp: &Path, hook: &Path, path: &str) -> Value {
    if !Path::new("/usr/sbin/sshd").is_file() || !Path::new("/run/sshd").is_dir() {
        return json!({"skipped": "no sshd: run install/test-deps.sh"});
    }
    let orch = exe("orch");
    let sshd = sshd::Sshd::start(&[orch.parent().unwrap()]);
    let remote_home = sshd.dir.path().join("remote/home");
    let remote_state = sshd.dir.path().join("remote/state");
    let local = tmp.join("remote-local");
    std::fs::create_dir_all(&local).unwrap();
    let env = [
        ("PATH", path.to_string()),
        ("HOME", local.display().to_string()),
        ("ORCH_HOME", local.join("state").display().to_string()),
        ("ORCH_SSH", sshd.ssh_command()),
    ];
    let run = |args: &[&str]| {
        let mut run = Command::new(&orch);
        run.env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .args(args)
            .stdin(Stdio::null());
        run_ok(&mut run, None, String::new)
    };
    run(&["up", "--host", "127.0.0.1"]);
    let spawned: Value = serde_json::from_str(&run(&[
        "--json",
        "spawn",
        "--host",
        "127.0.0.1",
        "--harness",
        "sim",
        "--name",
        "far",
    ]))
    .unwrap();
    let local_id = spawned["id"].as_str().unwrap().to_string();
    let remote_id = spawned["remote_id"].as_str().unwrap().to_string();
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(
            remote_state
                .join("workers")
                .join(&remote_id)
                .join("meta.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let session = meta["session_id"].as_str().unwrap().to_string();
    let host_env = vec![
        ("PATH", path.to_string()),
        ("HOME", remote_home.display().to_string()),
        ("ORCH_HOME", remote_state.display().to_string()),
        ("ORCH_WORKER", remote_id.clone()),
    ];
    let mut samples = Vec::new();
    for _ in 0..50 {
        let cursor: u64 = run(&["events", &local_id])
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|e| e["seq"].as_u64())
            .max()
            .unwrap_or(0);
        let listen = (env.to_vec(), local_id.as_str(), cursor);
        let (elapsed, event) = wake_once(&listen, hook, &host_env, &session);
        assert_eq!(event["event"], "stop", "listen returned the host's Stop");
        samples.push(elapsed);
    }
    run(&["kill", &local_id]);
    stats(samples)
}

/// The tmux server `-L <name>`, killed with its socket file (which outlives `kill-server`) when
/// this goes out of scope, a panic included.
struct KillOnDrop(String);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let socket_path = Command::new("tmux")
            .args(["-L", &self.0, "display-message", "-p", "#{socket_path}"])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .unwrap_or_default();
        let _ = Command::new("tmux")
            .args(["-L", &self.0, "kill-server"])
            .stderr(Stdio::null())
            .status();
        if !socket_path.is_empty() {
            let _ = std::fs::remove_file(&socket_path);
        }
    }
}

/// A fleet of 50 sim workers sharing one account (`--limit-file`: every prompt fails as
/// Claude Code's usage limit while the file is there), on a private tmux server, with the
/// default probe schedule scaled down 100 times (first probe after 0.6 s, doubling, capped at
/// 9 s), the other settings at their defaults:
/// - requests: every worker is mid-turn when the limit comes, so each turn ends in a
///   StopFailure `rate_limit` (its first hit; the first of them holds the account). Counted:
///   the `prompt` events of the whole fleet (each a turn the sim attempted, a request to the
///   account) from the hold's start until 6 s later, 10 minutes at 1/100 scale. The turns that
///   met the limit began before it and are not counted; what is left is the waiter's probes.
///   A count of requests does not depend on the scale, but for the few hundred ms each probe's
///   turn takes, which the scale stretches (so it errs towards fewer probes by a little);
/// - `orch ps` with the 50 held, 5 runs;
/// - release: the fleet (continued by `orch limits --release`, idle again) meets a limit
///   mid-turn once more, one whose message names its reset (`...|<unix seconds>`) a few
///   seconds after the turns end; from the reset to the `prompt` event (the acknowledgement)
///   of the last worker's continue.
fn limits_fleet() -> Value {
    const FLEET: usize = 50;
    const SCALE: f64 = 100.0;
    // How long telling the whole fleet at once may take: every turn told sleeps until this
    // long after the tells began, so that all are in flight when the limit meets them.
    const TELL_MS: u64 = 8000;
    let window_ms = (600_000.0 / SCALE) as u64;
    let world = World::installed();
    let config = world.home().join(".config/orch");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.yaml"),
        format!(
            "limits:\n  first_probe_s: {}\n  max_probe_s: {}\n",
            60.0 / SCALE,
            900.0 / SCALE
        ),
    )
    .unwrap();
    let limit = world.root().join("limit");
    let fleet: Vec<(String, String)> = (1..=FLEET)
        .map(|i| {
            let name = format!("f{i}");
            let spawned = world.spawn_sim_with(&name, &["--limit-file", limit.to_str().unwrap()]);
            (name, spawned["id"].as_str().unwrap().to_string())
        })
        .collect();
    let events = |id: &str| -> Vec<Value> {
        std::fs::read_to_string(world.state().join("workers").join(id).join("events.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    let last_seq = |id: &str| {
        events(id)
            .last()
            .and_then(|e| e["seq"].as_u64())
            .unwrap_or(0)
    };
    let held = || json(&world.ok(&["--json", "limits"]))["accounts"][0].clone();

    // 1. A limit with no reset time: the requests in its first 10 minutes (scaled).
    let hits = limit_mid_turn(&world, &fleet, &limit, "rate limited", unix_ms() + TELL_MS);
    let hold = held();
    let account = hold["account"]
        .as_str()
        .expect("the account is held")
        .to_string();
    let since = hold["since_ms"].as_u64().unwrap();
    let mut ps = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        world.ok(&["ps"]);
        ps.push(start.elapsed());
    }
    // The window is what is measured: waited out on the clock.
    std::thread::sleep(Duration::from_millis(
        (since + window_ms).saturating_sub(unix_ms()),
    ));
    let probes = held()["probes"].as_u64();
    let requests = fleet
        .iter()
        .flat_map(|(_, id)| events(id))
        .filter(|e| {
            e["event"] == "prompt"
                && (since..since + window_ms).contains(&e["ts_ms"].as_u64().unwrap_or(0))
        })
        .count();
    // Lifted and continued by hand (a probe that got through first released it already),
    // then every worker idle again.
    std::fs::remove_file(&limit).unwrap();
    let cursors: Vec<u64> = fleet.iter().map(|(_, id)| last_seq(id)).collect();
    world.orch(&["limits", "--release", &account]);
    for ((name, _), after) in fleet.iter().zip(cursors) {
        await_stop(&world, name, after);
    }

    // 2. A limit that names its reset, a few seconds after every turn met it.
    let deadline = unix_ms() + TELL_MS;
    let reset_ms = (deadline / 1000 + 4) * 1000;
    let text = format!("Claude AI usage limit reached|{}", reset_ms / 1000);
    let reset_hits = limit_mid_turn(&world, &fleet, &limit, &text, deadline);
    assert_eq!(
        held()["until_ms"].as_u64(),
        Some(reset_ms),
        "the reset time was read"
    );
    std::fs::remove_file(&limit).unwrap();
    let cursors: Vec<u64> = fleet.iter().map(|(_, id)| last_seq(id)).collect();
    let mut acks = Vec::new();
    let mut released = Vec::new();
    for ((name, id), after) in fleet.iter().zip(cursors) {
        await_stop(&world, name, after);
        let log = events(id);
        let from = log
            .iter()
            .rposition(|e| e["event"] == "released")
            .expect("every worker was released");
        released.push(log[from]["ts_ms"].as_u64().unwrap());
        let prompt = log[from..].iter().find(|e| e["event"] == "prompt").unwrap();
        acks.push(prompt["ts_ms"].as_u64().unwrap());
    }
    let after_reset = |ms: Option<&u64>| ms.map(|ms| ms.saturating_sub(reset_ms));
    json!({
        "workers": FLEET,
        "scale": format!(
            "1/{SCALE}: first probe after {} s, doubling, cap {} s; {} s stand for 10 minutes",
            60.0 / SCALE,
            900.0 / SCALE,
            window_ms as f64 / 1000.0
        ),
        "no_reset_time": {
            "workers_limited_mid_turn": hits,
            "requests_in_10_min": requests,
            "probes_by_the_waiter": probes,
        },
        "ps_held": stats(ps),
        "reset_known": {
            "workers_limited_mid_turn": reset_hits,
            "reset_to_first_released_ms": after_reset(released.iter().min()),
            "reset_to_first_continue_ack_ms": after_reset(acks.iter().min()),
            "reset_to_last_continue_ack_s":
                after_reset(acks.iter().max()).map(|ms| ms as f64 / 1000.0),
        },
    })
}

/// Makes every worker of `fleet` (name, id) meet a usage limit mid-turn: writes `text` to the
/// sims' limit file, tells every worker at once a prompt that sleeps until `deadline_ms` (Unix
/// ms), when its turn ends in a StopFailure `rate_limit`, and waits for those turns to end.
/// Returns how many did (a tell that came after the first of them was queued: the account was
/// held by then).
fn limit_mid_turn(
    world: &World,
    fleet: &[(String, String)],
    limit: &Path,
    text: &str,
    deadline_ms: u64,
) -> usize {
    std::fs::write(limit, text).unwrap();
    let told: Vec<Value> = std::thread::scope(|scope| {
        let threads: Vec<_> = fleet
            .iter()
            .map(|(name, _)| {
                scope.spawn(move || {
                    let sleep = deadline_ms.saturating_sub(unix_ms()) as f64 / 1000.0;
                    let prompt = format!("work [[sleep: {sleep:.3}]]");
                    json(&world.ok(&["--json", "tell", name, &prompt]))
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let mut hits = 0;
    for ((name, _), told) in fleet.iter().zip(&told) {
        if told["queued"] == true {
            continue;
        }
        let ended = turn_end(world, name, told["cursor"].as_u64().unwrap());
        hits += usize::from(ended["event"] == "stop_failure");
    }
    hits
}

/// Waits for the first turn of worker `name` after event `after` that ends without a limit.
fn await_stop(world: &World, name: &str, mut after: u64) {
    loop {
        let ended = turn_end(world, name, after);
        if ended["event"] == "stop" {
            return;
        }
        after = ended["seq"].as_u64().unwrap();
    }
}

/// The end of worker `name`'s first turn after event `after` (`orch listen`, a limit's
/// StopFailure included).
fn turn_end(world: &World, name: &str, after: u64) -> Value {
    let after = after.to_string();
    let out = world.orch(&["listen", name, "--after", &after, "--timeout", "60"]);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("`{name}` ended no turn: {}", util::stderr(&out)))
}

/// Now, Unix ms.
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Runs git in `dir` as a test user; returns stdout.
fn git_in(dir: &Path, args: &[&str]) -> String {
    let mut git = Command::new("git");
    git.arg("-C")
        .arg(dir)
        .args(["-c", "user.name=b", "-c", "user.email=b@example.com"])
        .args(args);
    run_ok(&mut git, None, String::new)
}

/// A repository of `files` files on `main` under `tmp` and a state folder with `n` workers
/// `w1..wn`, each in a worktree on `orch/wN` that committed a file of its own (`own-N.txt`).
/// Returns (repo, state).
fn repo_with_worktrees(tmp: &Path, files: usize, n: usize) -> (PathBuf, PathBuf) {
    let repo = tmp.join("repo");
    let state = tmp.join("state");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    git_in(&repo, &["init", "-q", "-b", "main"]);
    for i in 0..files {
        std::fs::write(repo.join(format!("src/f{i}.txt")), format!("line {i}\n")).unwrap();
    }
    git_in(&repo, &["add", "."]);
    git_in(&repo, &["commit", "-q", "-m", "files"]);
    let base = git_in(&repo, &["rev-parse", "HEAD"]).trim().to_string();
    for i in 1..=n {
        let id = format!("w{i}");
        let path = tmp.join("worktrees").join(&id);
        let branch = format!("orch/{id}");
        git_in(
            &repo,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                &branch,
                &path.display().to_string(),
                "main",
            ],
        );
        std::fs::write(path.join(format!("own-{i}.txt")), "mine\n").unwrap();
        git_in(&path, &["add", "."]);
        git_in(&path, &["commit", "-q", "-m", &format!("{id}'s work")]);
        let dir = state.join("workers").join(&id);
        std::fs::create_dir_all(&dir).unwrap();
        let meta = json!({"id": id, "name": id, "role": "worker", "harness": "sim",
            "cwd": path, "parent": "operator", "created_ms": 0,
            "worktree": {"repo": repo, "path": path, "branch": branch, "base": base,
                "base_branch": "main"}});
        std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
    }
    (repo, state)
}

/// From a worker's Stop (its hook run) to the `conflict` event the detached check records, on
/// a repository of 10,000 files with 8 live worktrees (w1 and w2 edit the same line); then
/// the Stop-to-checked time of later Stops (the same check, no new conflict), 10 runs.
fn conflict_check(tmp: &Path, hook: &Path, path: &str) -> Value {
    let tmp = tmp.join("conflicts");
    let (_repo, state) = repo_with_worktrees(&tmp, 10_000, 8);
    for id in ["w1", "w2"] {
        let wt = tmp.join("worktrees").join(id);
        std::fs::write(wt.join("src/f0.txt"), format!("line 0 by {id}\n")).unwrap();
        git_in(&wt, &["commit", "-q", "-am", "same line"]);
    }
    let env = vec![
        ("PATH", path.to_string()),
        ("HOME", tmp.display().to_string()),
        ("ORCH_HOME", state.display().to_string()),
        ("ORCH_WORKER", "w1".to_string()),
    ];
    let events = state.join("workers/w1/events.jsonl");
    let git_json = state.join("workers/w1/git.json");
    let checked = || -> u64 {
        std::fs::read_to_string(&git_json)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v["checked"].as_u64())
            .unwrap_or(0)
    };
    let deadline = Duration::from_secs(30);
    let start = Instant::now();
    time_once(hook, &env, &stop_payload("s1"));
    while !std::fs::read_to_string(&events)
        .unwrap_or_default()
        .contains("\"conflict\"")
    {
        assert!(start.elapsed() < deadline, "no conflict event within 30 s");
        std::thread::sleep(Duration::from_millis(1));
    }
    let first = start.elapsed();
    let mut later = Vec::new();
    for _ in 0..10 {
        while checked() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let before = checked();
        let start = Instant::now();
        time_once(hook, &env, &stop_payload("s1"));
        while checked() <= before {
            assert!(start.elapsed() < deadline, "no check within 30 s");
            std::thread::sleep(Duration::from_millis(1));
        }
        later.push(start.elapsed());
    }
    json!({"files": 10_000, "worktrees": 8,
        "stop_to_conflict_event_ms": first.as_secs_f64() * 1000.0,
        "stop_to_checked": stats(later)})
}

/// `orch land` of 8 non-conflicting branches with a trivial test (`true`), on a repository of
/// 1,000 files: its wall time, and that time less the tests' own.
fn land_eight(tmp: &Path, path: &str) -> Value {
    let tmp = tmp.join("land");
    let (repo, state) = repo_with_worktrees(&tmp, 1_000, 8);
    let ids: Vec<String> = (1..=8).map(|i| format!("w{i}")).collect();
    let mut cmd = Command::new(exe("orch"));
    cmd.env_clear()
        .env("PATH", path)
        .env("HOME", &tmp)
        .env("ORCH_HOME", &state)
        .args(["--json", "land", "--test", "true"])
        .args(&ids);
    let start = Instant::now();
    let out = run_ok(&mut cmd, None, String::new);
    let elapsed = start.elapsed();
    let landed = serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["outcome"] == "landed")
        .count();
    // The trivial test alone, 8 times: what `orch land` spends on its own is the rest.
    let tests = Instant::now();
    for _ in 0..8 {
        Command::new("sh").args(["-c", "true"]).status().unwrap();
    }
    let tests = tests.elapsed();
    let commits = git_in(&repo, &["rev-list", "--count", "main"]);
    json!({"branches": 8, "landed": landed, "main_commits": commits.trim(),
        "wall_ms": elapsed.as_secs_f64() * 1000.0,
        "over_tests_ms": (elapsed.saturating_sub(tests)).as_secs_f64() * 1000.0})
}

/// A state folder under `root` with one worker, `w1` named `careful`; returns the folder.
fn careful_worker(root: &Path) -> PathBuf {
    let state = root.join("state");
    let store = orch_store::Store::at(state.clone());
    std::fs::create_dir_all(state.join("workers/w1")).unwrap();
    std::fs::set_permissions(&state, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let mut meta = orch_store::Meta::new("w1", "worker", "operator");
    meta.name = "careful".into();
    store.write_meta(&meta).unwrap();
    state
}

/// The time from the hook that makes a worker need the person (a PermissionRequest the
/// classifier escalates: `rm -rf build`) to the webhook request leaving orch (its arrival at a
/// loopback server), with `grace_s: 0`, so what is measured is what comes beyond the grace
/// delay: the notifier's start on demand (the first run) or its next round, the store read and
/// the send. Each run opens one more escalation, as a fleet would.
fn notify_page(tmp: &Path, hook: &Path, path: &str) -> Value {
    use std::io::Read;
    const PAGES: usize = 30;
    let root = tmp.join("notify-bench");
    let state = careful_worker(&root);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel::<Instant>();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            if tx.send(Instant::now()).is_err() {
                return;
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let config = root.join(".config/orch/config.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "notify:\n  grace_s: 0\n  channels:\n    - name: hook\n      kind: webhook\n      target: http://127.0.0.1:{port}/hook\n"
        ),
    )
    .unwrap();
    let env = vec![
        ("PATH", path.to_string()),
        ("HOME", root.display().to_string()),
        ("ORCH_HOME", state.display().to_string()),
        ("ORCH_WORKER", "w1".to_string()),
    ];
    let payload = serde_json::to_vec(&json!({
        "hook_event_name": "PermissionRequest",
        "session_id": "s1",
        "cwd": "/tmp",
        "tool_name": "Bash",
        "tool_input": {"command": "rm -rf build"},
    }))
    .unwrap();
    let mut samples = Vec::new();
    for _ in 0..PAGES {
        let start = Instant::now();
        time_once(hook, &env, &payload);
        let arrived = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the page leaves orch");
        samples.push(arrived.duration_since(start));
    }
    // No channel left: the notifier leaves at its next round.
    std::fs::remove_file(&config).unwrap();
    stats(samples)
}

/// The time from an answer published to an ntfy reply topic (a loopback server standing in
/// for ntfy: the page's publish at `/`, the reply topic's JSON stream at `/answers/json`) to
/// the worker's decision: the `decision` event in its log (its inbox item is put with it).
/// Each run raises one escalation (`orch escalate`), waits for its page, and publishes the
/// answer its first button carries. Then the same for a permission dialog, to the decision
/// orch's waiting hook prints (`permission_dialog`).
fn notify_reply(tmp: &Path, path: &str) -> Value {
    use std::io::{BufRead, BufReader, Read};
    use std::sync::{Arc, Condvar, Mutex};
    const ANSWERS: usize = 20;
    const TOKEN: &str = "tk_benchreplytokenabcdefghijkl";
    let root = tmp.join("notify-reply-bench");
    let state = careful_worker(&root);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // The topic's messages (JSON lines) and a bell rung when one is published.
    let topic: Arc<(Mutex<Vec<String>>, Condvar)> = Arc::default();
    let (pages, paged) = std::sync::mpsc::channel::<Value>();
    let served = topic.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let topic = served.clone();
            let pages = pages.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                let mut line = String::new();
                reader.read_line(&mut line).unwrap_or(0);
                let target = line.split(' ').nth(1).unwrap_or("").to_string();
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap_or(());
                if !target.starts_with("/answers") {
                    let _ = pages.send(serde_json::from_slice(&body).unwrap_or(Value::Null));
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                    );
                    return;
                }
                // The stream: every message after `since` (an index here), as it comes.
                let since = target
                    .split_once("since=")
                    .and_then(|(_, s)| s.strip_prefix('m'))
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n",
                );
                let (messages, bell) = &*topic;
                let mut sent = since;
                let mut guard = messages.lock().unwrap();
                loop {
                    while sent < guard.len() {
                        let line = format!("{}\n", guard[sent]);
                        sent += 1;
                        if stream.write_all(line.as_bytes()).is_err() {
                            return;
                        }
                    }
                    guard = bell.wait(guard).unwrap();
                }
            });
        }
    });
    let url = format!("http://127.0.0.1:{port}");
    let config = root.join(".config/orch/config.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "notify:\n  grace_s: 0\n  channels:\n    - name: phone\n      kind: ntfy\n      target: {url}/pages\n      token: {TOKEN}\n      reply: {url}/answers\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let events = state.join("workers/w1/events.jsonl");
    let mut samples = Vec::new();
    for _ in 0..ANSWERS {
        let out = Command::new(exe("orch"))
            .args([
                "--json",
                "escalate",
                "--axis",
                "taste",
                "--summary",
                "which name?",
            ])
            .args(["--option", "one", "--option", "two"])
            .env("PATH", path)
            .env("HOME", &root)
            .env("ORCH_HOME", &state)
            .env("ORCH_WORKER", "w1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = json(&String::from_utf8_lossy(&out.stdout))["id"]
            .as_str()
            .unwrap()
            .to_string();
        let page = loop {
            let page = paged
                .recv_timeout(Duration::from_secs(10))
                .expect("the page");
            if page["title"]
                .as_str()
                .unwrap_or("")
                .contains(&format!("({id})"))
            {
                break page;
            }
        };
        let answer = page["actions"][0]["body"].as_str().unwrap().to_string();
        let decided = format!("\"escalation\":\"{id}\"");
        let start = Instant::now();
        {
            let (messages, bell) = &*topic;
            let mut messages = messages.lock().unwrap();
            let n = messages.len() + 1;
            messages.push(
                json!({"id": format!("m{n}"), "time": 0, "event": "message", "message": answer})
                    .to_string(),
            );
            bell.notify_all();
        }
        let deadline = start + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&events).unwrap_or_default();
            if text
                .lines()
                .any(|l| l.contains("\"decision\"") && l.contains(&decided))
            {
                samples.push(start.elapsed());
                break;
            }
            assert!(Instant::now() < deadline, "the decision of {id}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // A permission dialog: orch's hook, run as from the worker's pane for a request the
    // classifier escalates, waits on the answer; the time is from the reply's publish to the
    // hook printing the decision Claude Code takes.
    let store = orch_store::Store::at(state.clone());
    let mut meta = store.meta("w1").unwrap();
    meta.pane = Some("%9".into());
    store.write_meta(&meta).unwrap();
    let payload = json!({"hook_event_name": "PermissionRequest", "session_id": "s1",
        "tool_name": "Bash", "tool_input": {"command": "rm -rf build"}, "cwd": root});
    let mut dialogs = Vec::new();
    for _ in 0..ANSWERS / 2 {
        let mut hook = Command::new(exe("orch-hook"))
            .env("PATH", path)
            .env("HOME", &root)
            .env("ORCH_HOME", &state)
            .env("ORCH_WORKER", "w1")
            .env("TMUX_PANE", "%9")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        hook.stdin
            .take()
            .unwrap()
            .write_all(payload.to_string().as_bytes())
            .unwrap();
        let page = loop {
            let page = paged
                .recv_timeout(Duration::from_secs(10))
                .expect("the dialog's page");
            if page["actions"].as_array().is_some_and(|a| !a.is_empty()) {
                break page;
            }
        };
        let answer = page["actions"][0]["body"].as_str().unwrap().to_string();
        let mut out = BufReader::new(hook.stdout.take().unwrap());
        let start = Instant::now();
        {
            let (messages, bell) = &*topic;
            let mut messages = messages.lock().unwrap();
            let n = messages.len() + 1;
            messages.push(
                json!({"id": format!("m{n}"), "time": 0, "event": "message", "message": answer})
                    .to_string(),
            );
            bell.notify_all();
        }
        let mut decision = String::new();
        out.read_line(&mut decision).unwrap();
        dialogs.push(start.elapsed());
        assert!(decision.contains("\"allow\""), "{decision}");
        assert!(hook.wait().unwrap().success());
    }
    std::fs::remove_file(&config).unwrap();
    json!({"escalation": stats(samples), "permission_dialog": stats(dialogs)})
}
