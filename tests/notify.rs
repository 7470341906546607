//! Notifications (`orch notify`, the notifier): a local HTTP server stands in for an ntfy
//! server's publish API and for a webhook; a sim worker at a permission dialog, an escalation,
//! a usage limit, a spent budget, a stuck worker and a conflict each make one notification
//! with the right content, sent once, again after `resend_s`, never within the grace delay,
//! retried when the channel fails (and reported by `orch doctor`), with secrets redacted and
//! never in the audit log, the events or the process list.

use crate::mock_http::{lock, Request, Response, Shared};
use crate::util::{json, output_with_stdin, wait_for, World};
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
/// The ntfy token the tests give; it must never leave the config and the request header.
pub(crate) const TOKEN: &str = "tk_notifytesttokenabcdefghijkl";

/// What the push mock fails with before it answers 200: the count of requests left to fail;
/// and the messages published to the reply topic `/answers`, oldest first.
#[derive(Default)]
pub struct Failing(Mutex<u32>, Mutex<Vec<Value>>);

/// ntfy's reply topic at `/answers`: a publish needs the token (403 without), and
/// `GET /answers/json?since=ID|UNIX_S` streams the messages after `since` as JSON lines,
/// holding the request up to 1 s for one to come (then the stream ends; the client follows
/// again, as from a server that cut it).
fn answers(shared: &Shared<Failing>, request: &Request) -> Response {
    let messages = &shared.state.1;
    if request.method == "POST" {
        if request.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return Response::json(403, &json!({"error": "forbidden"}));
        }
        let mut messages = lock(messages);
        let message = json!({
            "id": format!("a{}", messages.len() + 1),
            "time": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            "event": "message",
            "topic": "answers",
            "message": String::from_utf8_lossy(&request.body),
        });
        messages.push(message.clone());
        return Response::json(200, &message);
    }
    if request.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return Response::json(403, &json!({"error": "forbidden"}));
    }
    let since = request
        .target
        .split_once("since=")
        .map(|(_, s)| s.split('&').next().unwrap_or("").to_string())
        .unwrap_or_default();
    let after = |m: &Value| match since.strip_prefix('a') {
        Some(n) => m["id"].as_str().unwrap()[1..].parse::<u64>().unwrap() > n.parse().unwrap(),
        None => m["time"].as_u64().unwrap() >= since.parse().unwrap_or(0),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        let found: Vec<String> = lock(messages)
            .iter()
            .filter(|m| after(m))
            .map(Value::to_string)
            .collect();
        if !found.is_empty() || std::time::Instant::now() >= deadline || shared.stopping() {
            let mut body = json!({"event": "open"}).to_string();
            for line in found {
                body.push('\n');
                body.push_str(&line);
            }
            body.push('\n');
            return Response::bytes(200, "application/x-ndjson", body.into_bytes());
        }
        shared.sleep(Duration::from_millis(5));
    }
}

fn serve(shared: &Shared<Failing>, request: &Request) -> Response {
    if request.path.starts_with("/answers") {
        return answers(shared, request);
    }
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let mut failing = lock(&shared.state.0);
    let fail = *failing > 0;
    *failing = failing.saturating_sub(1);
    lock(&shared.main).push(json!({
        "path": request.path,
        "auth": request.header("authorization"),
        "body": body,
        "failed": fail,
    }));
    if fail {
        Response::json(500, &json!({"error": "down"}))
    } else {
        Response::json(200, &json!({"id": "m1"}))
    }
}

fn user_text(request: &Value) -> String {
    request.to_string()
}

crate::mock_http::mock_type!(
    /// A push endpoint: ntfy's JSON publish at `/` and a webhook at `/hook/SECRET`; every
    /// request is recorded as `{path, auth, body, failed}`.
    Push,
    Failing,
    crate::mock_http::Api {
        serve,
        base: "",
        keep_alive: false,
        user_text,
    }
);

/// Writes orch's configuration for `world`: `settings` (YAML lines of `notify:`) and an ntfy
/// and a webhook channel on `push`.
fn configure(world: &World, push: &Push, settings: &str) {
    configure_with(&world.home(), push, settings, "");
}

/// [`configure`] for the home folder `home`, with `top` (whole YAML sections) before `notify:`.
fn configure_with(home: &std::path::Path, push: &Push, settings: &str, top: &str) {
    configure_text(home, push, settings, top, "");
}

/// [`configure_with`], with `phone` (YAML lines) added to the ntfy channel.
pub(crate) fn configure_text(
    home: &std::path::Path,
    push: &Push,
    settings: &str,
    top: &str,
    phone: &str,
) {
    let dir = home.join(".config/orch");
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        "{top}notify:\n{settings}  channels:\n    - name: phone\n      kind: ntfy\n      target: {}\n      token: {TOKEN}\n{phone}    - name: hook\n      kind: webhook\n      target: {}\n",
        push.url("/orch-topic"),
        push.url("/hook/s3cr3t-path"),
    );
    std::fs::write(dir.join("config.yaml"), text).unwrap();
}

/// The requests `push` got on `path`'s prefix.
pub(crate) fn on(push: &Push, prefix: &str) -> Vec<Value> {
    push.requests()
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap_or("").starts_with(prefix))
        .collect()
}

/// Waits until no notifier runs (its lock is free).
pub(crate) fn wait_notifier_gone(world: &World) {
    let lock = world.state().join("notify/notifier.lock");
    wait_for("the notifier to leave", WAIT, || {
        let file = std::fs::OpenOptions::new().write(true).open(&lock).ok()?;
        fs2::FileExt::try_lock_exclusive(&file).ok()
    });
}

/// Tells sim worker `name` to open a permission dialog for `command`, and waits until its
/// dialog is up.
fn ask_permission(world: &World, name: &str, command: &str) {
    let prompt = format!(r#"go [[permission: Bash {{"command": "{command}"}}]]"#);
    world.ok(&["tell", name, &prompt]);
    world.ok(&["listen", name, "--event", "notification", "--timeout", "30"]);
}

/// `orch doctor`'s `notify` check (doctor may fail on other checks here: no Claude Code).
fn doctor_notify(world: &World) -> Option<Value> {
    let out = world.orch(&["--json", "doctor", "--skip-probe"]);
    let checks: Value = serde_json::from_slice(&out.stdout).ok()?;
    checks["checks"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == "notify")
        .cloned()
}

#[test]
fn a_permission_dialog_pages_once_then_again_redacted_and_the_token_stays_private() {
    let world = World::installed();
    let push = Push::start();
    configure(&world, &push, "  grace_s: 0.5\n  resend_s: 3\n");
    world.spawn_sim("careful");
    ask_permission(&world, "careful", "ls notes");
    let ntfy = wait_for("the ntfy publish", WAIT, || {
        on(&push, "/").into_iter().find(|r| r["path"] == "/")
    });
    assert_eq!(ntfy["auth"], format!("Bearer {TOKEN}"));
    let body = &ntfy["body"];
    assert_eq!(body["topic"], "orch-topic");
    assert_eq!(body["title"], "careful needs you");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("permission dialog: Bash ls notes"),
        "{message}"
    );
    assert!(message.contains("waiting "), "{message}");
    // While it runs, no process carries the token or the webhook's secret path.
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(!ps.contains(TOKEN) && !ps.contains("s3cr3t-path"), "{ps}");
    // The webhook: once, then once more after resend_s, marked as a reminder.
    let hooks = wait_for("the webhook's reminder", WAIT, || {
        let hooks = on(&push, "/hook/");
        hooks
            .iter()
            .any(|h| h["body"]["resent"] == true)
            .then_some(hooks)
    });
    let first: Vec<&Value> = hooks
        .iter()
        .filter(|h| h["body"]["resent"] == false)
        .collect();
    assert_eq!(first.len(), 1, "one notification per need: {hooks:#?}");
    let hook = &first[0]["body"];
    assert_eq!(hook["kind"], "needs-input");
    assert_eq!(hook["name"], "careful");
    assert!(
        hook["key"].as_str().unwrap().starts_with("input:w1:"),
        "{hook}"
    );
    // Settled: the notifier forgets it and leaves (the worker is idle).
    world.ok(&["interrupt", "careful"]);
    wait_notifier_gone(&world);
    // The secrets are in the 0600 config only.
    let audit = std::fs::read_to_string(world.state().join("audit.jsonl")).unwrap_or_default();
    assert!(
        audit.contains("\"notify\""),
        "the sends are audited: {audit}"
    );
    let events = std::fs::read_to_string(world.state().join("workers/w1/events.jsonl")).unwrap();
    for text in [&audit, &events] {
        assert!(!text.contains(TOKEN) && !text.contains("s3cr3t-path"));
    }
}

#[test]
fn a_need_settled_within_the_grace_delay_never_pages() {
    let world = World::installed();
    let push = Push::start();
    configure(&world, &push, "  grace_s: 30\n");
    world.spawn_sim("quick");
    ask_permission(&world, "quick", "ls");
    let lock = world.state().join("notify/notifier.lock");
    wait_for("the notifier to start", WAIT, || {
        lock.exists().then_some(())
    });
    world.ok(&["interrupt", "quick"]);
    wait_notifier_gone(&world);
    assert!(push.requests().is_empty(), "{:#?}", push.requests());
}

#[test]
fn a_failing_channel_is_retried_reported_by_doctor_and_then_delivers() {
    let world = World::installed();
    let push = Push::start();
    *lock(&push.state().0) = 2;
    configure(&world, &push, "  grace_s: 0\n");
    world.spawn_sim("lead");
    let summary = format!(
        "force-push main with ghp_abcdefghijklmnopqrstuvwxyz0123? {}",
        "x".repeat(300)
    );
    escalate(&world, &["reversibility", "taste"], &summary);
    let doctor = wait_for("doctor to report the failing channel", WAIT, || {
        doctor_notify(&world).filter(|check| check["status"] == "warn")
    });
    let detail = doctor.to_string();
    assert!(
        !detail.contains(TOKEN) && !detail.contains("orch-topic"),
        "{detail}"
    );
    let delivered = wait_for("a delivery after the failures", WAIT, || {
        push.requests()
            .into_iter()
            .find(|r| r["failed"] == false && r["path"] != "/")
    });
    let esc = &delivered["body"]["escalation"];
    assert_eq!(delivered["body"]["kind"], "escalation");
    assert_eq!(esc["axes"], json!(["reversibility", "taste"]));
    assert_eq!(esc["options"], json!(["yes", "no"]));
    let summary = esc["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("force-push main with [redacted]? xxx"),
        "{summary}"
    );
    assert!(
        summary.ends_with('…') && summary.chars().count() < 210,
        "{summary}"
    );
    assert!(!delivered.to_string().contains("ghp_abc"), "{delivered}");
    wait_for("doctor to see the channels well again", WAIT, || {
        doctor_notify(&world).filter(|check| check["status"] == "ok")
    });
    world.ok(&["decide", "e1", "no"]);
    wait_notifier_gone(&world);
}

#[test]
fn channels_are_added_listed_masked_tested_and_removed() {
    let world = World::new();
    let push = Push::start();
    let hook_url = push.url("/hook/s3cr3t-path");
    let mut add = world.cmd("orch");
    add.args([
        "--json",
        "notify",
        "add",
        "ntfy",
        &push.url("/mytopic"),
        "--token",
        "-",
    ]);
    let out = output_with_stdin(&mut add, format!("{TOKEN}\n").as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json(&String::from_utf8_lossy(&out.stdout))["channel"],
        "ntfy"
    );
    world.ok(&[
        "notify",
        "add",
        "webhook",
        &hook_url,
        "--only",
        "escalation",
    ]);
    let bad = world.orch(&["notify", "add", "webhook", "ftp://x"]);
    assert!(!bad.status.success());
    let config = world.home().join(".config/orch/config.yaml");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&config).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let list = json(&world.ok(&["--json", "notify", "list"]));
    let text = list.to_string();
    assert!(
        !text.contains(TOKEN) && !text.contains("s3cr3t") && !text.contains("mytopic"),
        "{text}"
    );
    assert_eq!(list["channels"][0]["token"], true);
    assert_eq!(list["channels"][1]["only"], json!(["escalation"]));
    let test = json(&world.ok(&["--json", "notify", "test"]));
    assert_eq!(test["channels"].as_array().unwrap().len(), 2);
    assert_eq!(push.requests().len(), 2);
    assert_eq!(
        push.requests()[0]["body"]["title"],
        "orch test notification"
    );
    world.ok(&["notify", "remove", "webhook"]);
    let list = json(&world.ok(&["--json", "notify", "list"]));
    assert_eq!(list["channels"].as_array().unwrap().len(), 1);
    let audit = std::fs::read_to_string(world.state().join("audit.jsonl")).unwrap();
    assert!(audit.contains("notify-add") && !audit.contains(TOKEN) && !audit.contains("s3cr3t"));
    // Nothing waits: the status line says nothing.
    assert_eq!(world.ok(&["status-line"]), "");
}

/// The function symbols of executable `name` (`nm --defined-only`, demangled) that name
/// `word`. Debug info keeps the names of what the linker dropped, so the symbol table is what
/// tells what is linked.
fn symbols_naming(name: &str, word: &str) -> usize {
    let out = std::process::Command::new("nm")
        .args(["--defined-only", "--demangle"])
        .arg(crate::util::exe(name))
        .output()
        .expect("nm (binutils) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(word))
        .count()
}

#[test]
fn the_hook_executable_does_not_link_the_http_client() {
    assert!(
        symbols_naming("orch", "ureq::") > 0,
        "the control: orch links ureq"
    );
    for word in ["ureq::", "rustls::", "notify::channel", "notify::notifier"] {
        assert_eq!(
            symbols_naming("orch-hook", word),
            0,
            "orch-hook links `{word}`"
        );
    }
}

/// The webhook's first pages (not reminders) of need `kind`.
fn pages_of(push: &Push, kind: &str) -> Vec<Value> {
    on(push, "/hook/")
        .into_iter()
        .filter(|h| h["body"]["kind"] == kind && h["body"]["resent"] == false)
        .collect()
}

/// The keys of the needs the notifier has sent on channel `hook`.
fn sent_keys(world: &World) -> Vec<String> {
    let path = world.state().join("notify/state.json");
    let state: Value = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    state["needs"]
        .as_object()
        .map(|needs| {
            needs
                .iter()
                .filter(|(_, seen)| !seen["sends"]["hook"]["sent_ms"].is_null())
                .map(|(key, _)| key.clone())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_usage_limit_escalated_at_once_pages_once_as_a_limit() {
    let world = World::installed();
    let push = Push::start();
    configure_with(
        &world.home(),
        &push,
        "  grace_s: 1\n",
        "limits:\n  escalate_after_s: 3600\n",
    );
    let limit = world.root().join("limit");
    world.spawn_sim_with("capped", &["--limit-file", limit.to_str().unwrap()]);
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3 * 86_400;
    std::fs::write(&limit, format!("Claude AI usage limit reached|{reset}")).unwrap();
    world.ok(&["tell", "capped", "task [[say: T]]"]);
    let page = wait_for("the limit's page", WAIT, || {
        pages_of(&push, "limit").into_iter().next()
    });
    let body = &page["body"];
    assert_eq!(body["escalation"]["source"], "limit", "{body}");
    assert!(
        body["title"].as_str().unwrap().contains("usage limit"),
        "{body}"
    );
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("a usage limit holds account") && text.contains("options: wait"),
        "{body}"
    );
    // The hold and its escalation are one thing: one page, the escalation's.
    wait_for("the notifier to record the page", WAIT, || {
        (!sent_keys(&world).is_empty()).then_some(())
    });
    let keys = sent_keys(&world);
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("escalation:"), "{keys:?}");
    assert_eq!(pages_of(&push, "limit").len(), 1, "{:#?}", push.requests());
}

#[test]
fn a_worker_busy_and_silent_past_stuck_s_pages_once_as_stuck() {
    let world = World::installed();
    let push = Push::start();
    configure(&world, &push, "  grace_s: 0\n  stuck_s: 1\n");
    world.spawn_sim("slow");
    world.ok(&["tell", "slow", "think [[sleep: 30]] [[say: DONE]]"]);
    let page = wait_for("the stuck page", WAIT, || {
        pages_of(&push, "stuck").into_iter().next()
    });
    let body = &page["body"];
    assert_eq!(body["name"], "slow");
    assert_eq!(body["title"], "slow is stuck");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("busy and silent for"),
        "{body}"
    );
    wait_for("the notifier to record the page", WAIT, || {
        (!sent_keys(&world).is_empty()).then_some(())
    });
    assert_eq!(pages_of(&push, "stuck").len(), 1);
    assert_eq!(sent_keys(&world).len(), 1, "{:?}", sent_keys(&world));
    world.ok(&["interrupt", "slow"]);
    wait_notifier_gone(&world);
}

#[test]
fn a_conflict_between_two_workers_pages_once_for_the_pair() {
    use crate::worktree::{commit, init_repo, spawn_in_worktree, turn};
    let world = World::installed();
    let push = Push::start();
    configure(&world, &push, "  grace_s: 0\n");
    let repo = world.work();
    init_repo(&repo);
    commit(&repo, "shared.txt", "one\ntwo\nthree\n");
    let (alpha, alpha_wt) = spawn_in_worktree(&world, "alpha", &[]);
    let (beta, beta_wt) = spawn_in_worktree(&world, "beta", &[]);
    commit(&alpha_wt, "shared.txt", "one\ntwo by alpha\nthree\n");
    turn(&world, &alpha);
    commit(&beta_wt, "shared.txt", "one\ntwo by beta\nthree\n");
    turn(&world, &beta);
    let page = wait_for("the conflict's page", WAIT, || {
        pages_of(&push, "conflict").into_iter().next()
    });
    let body = &page["body"];
    let (a, b) = if alpha < beta {
        (&alpha, &beta)
    } else {
        (&beta, &alpha)
    };
    assert_eq!(body["key"], format!("conflict:{a}:{b}"), "{body}");
    let title = body["title"].as_str().unwrap();
    assert!(
        title == "alpha conflicts with beta" || title == "beta conflicts with alpha",
        "{title}"
    );
    assert!(
        body["text"].as_str().unwrap().contains("shared.txt"),
        "{body}"
    );
    wait_for("the notifier to record the page", WAIT, || {
        (!sent_keys(&world).is_empty()).then_some(())
    });
    assert_eq!(sent_keys(&world).len(), 1, "{:?}", sent_keys(&world));
    assert_eq!(pages_of(&push, "conflict").len(), 1);
    // The ntfy publish is tagged with the need's kind.
    let ntfy = on(&push, "/")
        .into_iter()
        .find(|r| r["path"] == "/")
        .unwrap();
    assert_eq!(ntfy["body"]["tags"], json!(["orch", "conflict"]));
    // Settled: beta takes alpha's line; the need clears and the notifier leaves.
    commit(&beta_wt, "shared.txt", "one\ntwo by alpha\nthree\n");
    turn(&world, &beta);
    wait_notifier_gone(&world);
}

#[test]
fn a_spent_budget_pages_once_as_a_budget() {
    let fleet = crate::fleet::Fleet::new();
    let push = Push::start();
    configure_with(&fleet.world.home(), &push, "  grace_s: 0\n", "");
    fleet.ok(&[
        "spawn",
        "--name",
        "cb",
        "--ready-timeout",
        "60",
        "--budget-usd",
        "0.01",
        "--",
        "--model",
        "claude-sonnet-4-5",
    ]);
    // 4000 input tokens at $3 per million: $0.012, spent.
    fleet.turn("cb", "one [[usage: 4000 0 0 0]] [[say: CB-1]]");
    let page = wait_for("the budget's page", WAIT, || {
        pages_of(&push, "budget").into_iter().next()
    });
    let body = &page["body"];
    assert_eq!(body["name"], "cb");
    assert_eq!(body["escalation"]["source"], "budget");
    assert!(
        body["title"]
            .as_str()
            .unwrap()
            .starts_with("cb: budget reached (e"),
        "{body}"
    );
    assert!(
        body["text"].as_str().unwrap().contains("spent its budget"),
        "{body}"
    );
    wait_for("the notifier to record the page", WAIT, || {
        (!sent_keys(&fleet.world).is_empty()).then_some(())
    });
    assert_eq!(sent_keys(&fleet.world).len(), 1);
    assert_eq!(pages_of(&push, "budget").len(), 1);
}

/// Raises an escalation of worker `w1` on `axes` with options `yes` and `no`; returns its id.
fn escalate(world: &World, axes: &[&str], summary: &str) -> String {
    let mut escalate = world.cmd("orch");
    escalate.args(["--json", "escalate", "--summary", summary]);
    for axis in axes {
        escalate.args(["--axis", axis]);
    }
    let out = escalate
        .args(["--option", "yes", "--option", "no"])
        .env("ORCH_WORKER", "w1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    json(&String::from_utf8_lossy(&out.stdout))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The ntfy page of escalation `id` (the newest).
fn page_of(push: &Push, id: &str) -> Value {
    wait_for(&format!("the page of {id}"), WAIT, || {
        on(push, "/").into_iter().rev().find(|r| {
            r["path"] == "/"
                && r["body"]["title"]
                    .as_str()
                    .is_some_and(|t| t.contains(&format!("({id})")))
        })
    })
}

/// Publishes `text` to the mock's reply topic as the phone does (with the access token).
pub(crate) fn publish_answer(push: &Push, text: &str) {
    let out = std::process::Command::new("curl")
        .args(["-sf", "-X", "POST", "-H"])
        .arg(format!("Authorization: Bearer {TOKEN}"))
        .args(["--data-binary", text, &push.url("/answers")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
}

/// The audit log's `reply` refusals.
pub(crate) fn refusals(world: &World) -> Vec<Value> {
    std::fs::read_to_string(world.state().join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(json)
        .filter(|e| e["action"] == "reply" && e["outcome"] == "refused")
        .collect()
}

#[test]
fn an_answer_from_the_reply_topic_decides_and_reaches_the_worker_forged_and_replayed_refused() {
    let world = World::installed();
    let push = Push::start();
    let reply = format!("      reply: {}\n", push.url("/answers"));
    configure_text(&world.home(), &push, "  grace_s: 0\n", "", &reply);
    world.spawn_sim("lead");
    let first = escalate(&world, &["reversibility"], "drop the legacy table?");
    let second = escalate(&world, &["reversibility"], "rename the service?");
    let page = page_of(&push, &first);
    let buttons = page["body"]["actions"].as_array().unwrap().clone();
    assert_eq!(buttons.len(), 2, "{page}");
    assert_eq!(buttons[1]["label"], "2: no");
    assert_eq!(buttons[1]["url"], push.url("/answers"));
    assert_eq!(buttons[1]["method"], "POST");
    assert_eq!(
        buttons[1]["headers"]["Authorization"],
        format!("Bearer {TOKEN}")
    );
    let answer = buttons[1]["body"].as_str().unwrap().to_string();
    let token = answer.rsplit(' ').next().unwrap().to_string();
    assert_eq!(answer, format!("{first} 2 {token}"));
    assert_eq!(token.len(), 32);
    assert!(
        page["body"]["message"]
            .as_str()
            .unwrap()
            .contains("answer: publish"),
        "{page}"
    );
    let other_token = {
        let page = page_of(&push, &second);
        let body = page["body"]["actions"][0]["body"]
            .as_str()
            .unwrap()
            .to_string();
        body.rsplit(' ').next().unwrap().to_string()
    };
    assert_ne!(token, other_token);

    // Forged: no token, a wrong one, the other escalation's: each refused and audited.
    publish_answer(&push, &format!("{first} 2"));
    publish_answer(
        &push,
        &format!("{first} 2 0123456789abcdef0123456789abcdef"),
    );
    publish_answer(&push, &format!("{first} 2 {other_token}"));
    publish_answer(&push, &format!("{second} 1 {token}"));
    let refused = wait_for("four refusals", WAIT, || {
        let refused = refusals(&world);
        (refused.len() >= 4).then_some(refused)
    });
    assert_eq!(refused.len(), 4, "{refused:#?}");
    assert!(refused
        .iter()
        .all(|r| r["actor"] == "notifier" && r["channel"] == "phone"));
    let open = json(&world.ok(&["--json", "escalations", "--open"]));
    assert_eq!(open.as_array().unwrap().len(), 2, "nothing decided: {open}");

    // The button's answer: decided as the person, and the worker gets it.
    publish_answer(&push, &answer);
    let decided = wait_for("the decision", WAIT, || {
        let all = json(&world.ok(&["--json", "escalations"]));
        all.as_array()?
            .iter()
            .find(|e| e["id"] == first.as_str() && e["status"] == "decided")
            .cloned()
    });
    assert_eq!(decided["decision"], "no");
    assert_eq!(decided["decided_by"], "person");
    let events = || -> Vec<Value> { world.ok(&["events", "lead"]).lines().map(json).collect() };
    let decision = wait_for("the worker's decision event", WAIT, || {
        events().into_iter().find(|e| e["event"] == "decision")
    });
    assert_eq!(decision["decision"], "no");
    wait_for("the decision typed into the worker", WAIT, || {
        events()
            .into_iter()
            .find(|e| e["event"] == "prompt" && e["seq"].as_u64() > decision["seq"].as_u64())
    });

    // Replayed: refused, nothing decided twice.
    publish_answer(&push, &answer);
    wait_for("the replay's refusal", WAIT, || {
        (refusals(&world).len() >= 5).then_some(())
    });
    let open = json(&world.ok(&["--json", "escalations", "--open"]));
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    let audit = std::fs::read_to_string(world.state().join("audit.jsonl")).unwrap();
    assert!(
        audit.lines().any(|l| l.contains("\"via\":\"reply\"")),
        "the decision is audited: {audit}"
    );

    // The one-time tokens and the access token: in none of the audit log, the events, the
    // process list.
    let events = std::fs::read_to_string(world.state().join("workers/w1/events.jsonl")).unwrap();
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout).to_string();
    let state = std::fs::read_to_string(world.state().join("notify/state.json")).unwrap();
    for text in [&audit, &events, &ps, &state] {
        for secret in [&token, &other_token, &TOKEN.to_string()] {
            assert!(!text.contains(secret.as_str()), "a secret leaked: {text}");
        }
    }
    world.ok(&["decide", &second, "yes"]);
    wait_notifier_gone(&world);
}

/// Whether a hook holds worker `id`'s `answer.lock` (it waits on a dialog's answer).
pub(crate) fn hook_waits(world: &World, id: &str) -> bool {
    let path = world.state().join(format!("workers/{id}/answer.lock"));
    let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) else {
        return false;
    };
    fs2::FileExt::try_lock_exclusive(&file).is_err()
}

/// The newest ntfy page titled `title` that carries answer buttons.
pub(crate) fn page_with_buttons(push: &Push, title: &str, after: usize) -> Value {
    wait_for(&format!("a page of `{title}` with buttons"), WAIT, || {
        on(push, "/").into_iter().skip(after).rev().find(|r| {
            r["path"] == "/"
                && r["body"]["title"] == title
                && r["body"]["actions"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
        })
    })
}

/// The stop events of worker `name` after `after`.
pub(crate) fn stops_after(world: &World, name: &str, after: u64) -> Vec<Value> {
    world
        .ok(&["events", name])
        .lines()
        .map(json)
        .filter(|e| e["event"] == "stop" && e["seq"].as_u64() > Some(after))
        .collect()
}

#[test]
fn a_permission_dialog_answered_from_the_phone_reaches_the_worker_through_its_hook() {
    let world = World::installed();
    let push = Push::start();
    let reply = format!("      reply: {}\n", push.url("/answers"));
    configure_text(&world.home(), &push, "  grace_s: 0\n", "", &reply);
    world.spawn_sim("careful");
    ask_permission(&world, "careful", "ls notes");
    let page = page_with_buttons(&push, "careful needs you", 0);
    let buttons = page["body"]["actions"].as_array().unwrap().clone();
    assert_eq!(buttons.len(), 2, "{page}");
    assert_eq!(buttons[0]["label"], "1: allow once");
    assert_eq!(buttons[1]["label"], "2: deny");
    let allow = buttons[0]["body"].as_str().unwrap().to_string();
    let words: Vec<&str> = allow.split(' ').collect();
    let asked = world
        .ok(&["events", "careful"])
        .lines()
        .map(json)
        .find(|e| e["event"] == "permission_request")
        .unwrap();
    assert_eq!(words[0], format!("w1-p{}", asked["seq"]));
    assert_eq!(words[1], "1");
    let token = words[2].to_string();
    assert!(
        page["body"]["message"]
            .as_str()
            .unwrap()
            .contains("1 allow once, 2 deny"),
        "{page}"
    );
    wait_for("orch's hook to wait on the answer", WAIT, || {
        hook_waits(&world, "w1").then_some(())
    });
    assert_eq!(world.ps_row("w1")["status"], "needs-input");

    // Forged: without the token, with another one, for another request: refused, audited.
    publish_answer(&push, &format!("{} 1", words[0]));
    publish_answer(
        &push,
        &format!("{} 1 0123456789abcdef0123456789abcdef", words[0]),
    );
    publish_answer(&push, &format!("w1-p999 1 {token}"));
    wait_for("three refusals", WAIT, || {
        (refusals(&world).len() >= 3).then_some(())
    });
    assert!(hook_waits(&world, "w1"), "still open");
    assert!(stops_after(&world, "careful", 0).is_empty());

    // The button: the hook hands `allow` to the worker, whose tool runs and turn ends.
    publish_answer(&push, &allow);
    let answered = wait_for("the permission answer", WAIT, || {
        world
            .ok(&["events", "careful"])
            .lines()
            .map(json)
            .find(|e| e["event"] == "permission_answer")
    });
    assert_eq!(answered["request"], asked["seq"]);
    assert_eq!(answered["behavior"], "allow");
    assert_eq!(answered["by"], "person");
    assert_eq!(answered["via"], "reply");
    let stop = json(&world.ok(&["listen", "careful", "--timeout", "30"]));
    assert_eq!(stop["event"], "stop");
    let screen = world.ok(&["capture", "careful"]);
    assert!(
        screen.contains("Allowed by PermissionRequest hook"),
        "{screen}"
    );
    wait_for("the hook to end", WAIT, || {
        (!hook_waits(&world, "w1")).then_some(())
    });

    // Replayed once nothing awaits an answer: the notifier may be gone, so nobody may read it
    // now; the next one, paging the next dialog, reads the topic on from where it was read to,
    // and refuses it. Nothing is answered twice.
    let before = refusals(&world).len();
    publish_answer(&push, &allow);
    let sent = on(&push, "/").len();
    ask_permission(&world, "careful", "rm notes");
    wait_for("the replay's refusal", WAIT, || {
        (refusals(&world).len() > before).then_some(())
    });
    let audit = std::fs::read_to_string(world.state().join("audit.jsonl")).unwrap();
    let decided: Vec<Value> = audit
        .lines()
        .map(json)
        .filter(|e| e["action"] == "decide" && e["via"] == "reply")
        .collect();
    assert_eq!(decided.len(), 1, "{audit}");
    assert_eq!(decided[0]["decision"], "allow");
    assert_eq!(decided[0]["target"], "w1");

    // Deny: the tool does not run, the turn goes on and ends.
    let cursor = stop["seq"].as_u64().unwrap();
    let page = page_with_buttons(&push, "careful needs you", sent);
    let deny = page["body"]["actions"][1]["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(deny.rsplit(' ').next(), Some(token.as_str()), "a new token");
    publish_answer(&push, &deny);
    let stop = crate::util::wait_or_explain(
        "the turn's end",
        WAIT,
        || stops_after(&world, "careful", cursor).into_iter().next(),
        || {
            format!(
                "the refusals: {:?}\n{}\n{}",
                refusals(&world),
                world.ok(&["events", "careful"]),
                world.screens()
            )
        },
    );
    assert_eq!(stop["last_assistant_message"], "SIM: permission denied");
    for text in [
        &audit,
        &std::fs::read_to_string(world.state().join("workers/w1/events.jsonl")).unwrap(),
    ] {
        assert!(!text.contains(&token) && !text.contains(TOKEN));
    }
    wait_notifier_gone(&world);
}

#[test]
fn a_dialog_answered_in_its_pane_lets_the_hook_go_and_a_late_phone_answer_is_refused() {
    let world = World::installed();
    let push = Push::start();
    let reply = format!("      reply: {}\n", push.url("/answers"));
    configure_text(&world.home(), &push, "  grace_s: 0\n", "", &reply);
    let spawned = world.spawn_sim("careful");
    ask_permission(&world, "careful", "ls notes");
    let page = page_with_buttons(&push, "careful needs you", 0);
    let allow = page["body"]["actions"][0]["body"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for("orch's hook to wait on the answer", WAIT, || {
        hook_waits(&world, "w1").then_some(())
    });
    // The person answers at the pane: Enter allows.
    world.tmux.as_ref().unwrap().run(&[
        "send-keys",
        "-t",
        spawned["pane"].as_str().unwrap(),
        "Enter",
    ]);
    let stop = wait_for("the turn's end", WAIT, || {
        stops_after(&world, "careful", 0).into_iter().next()
    });
    assert_eq!(stop["event"], "stop");
    wait_for("the hook to end", WAIT, || {
        (!hook_waits(&world, "w1")).then_some(())
    });
    // A late answer from the phone: refused (the notifier reads it once it follows the reply
    // topic again, for the next dialog), while the next dialog's own answer is taken.
    let sent = on(&push, "/").len();
    ask_permission(&world, "careful", "ls more");
    let next = page_with_buttons(&push, "careful needs you", sent);
    publish_answer(&push, &allow);
    wait_for("the late answer's refusal", WAIT, || {
        (!refusals(&world).is_empty()).then_some(())
    });
    let events = world.ok(&["events", "careful"]);
    assert!(!events.contains("permission_answer"), "{events}");
    publish_answer(&push, next["body"]["actions"][0]["body"].as_str().unwrap());
    wait_for("the next turn's end", WAIT, || {
        stops_after(&world, "careful", stop["seq"].as_u64().unwrap())
            .into_iter()
            .next()
    });
    let answers: Vec<Value> = world
        .ok(&["events", "careful"])
        .lines()
        .map(json)
        .filter(|e| e["event"] == "permission_answer")
        .collect();
    assert_eq!(answers.len(), 1, "{answers:?}");
    wait_notifier_gone(&world);
}

#[test]
fn deciding_a_permission_escalation_answers_its_dialog_without_a_notice() {
    // No channel at all: the escalation alone makes the hook wait, so `orch decide` answers.
    let world = World::installed();
    world.spawn_sim("pusher");
    ask_permission(&world, "pusher", "git push --force origin main");
    let open = wait_for("the permission escalation", WAIT, || {
        let open = json(&world.ok(&["--json", "escalations", "--open"]));
        (!open.as_array().unwrap().is_empty()).then_some(open)
    });
    assert_eq!(open[0]["source"], "permission");
    let request = open[0]["request"].as_u64().expect("bound to its request");
    wait_for("the hook to wait", WAIT, || {
        hook_waits(&world, "w1").then_some(())
    });
    let id = open[0]["id"].as_str().unwrap().to_string();
    world.ok(&["decide", &id, "allow"]);
    let stop = json(&world.ok(&["listen", "pusher", "--timeout", "30"]));
    assert_eq!(stop["event"], "stop");
    let events: Vec<Value> = world.ok(&["events", "pusher"]).lines().map(json).collect();
    let answer = events
        .iter()
        .find(|e| e["event"] == "permission_answer")
        .expect("answered through the hook");
    assert_eq!(answer["request"], request);
    assert_eq!(answer["behavior"], "allow");
    assert_eq!(answer["via"], "decide");
    // The answer was the dialog's: no notice of the decision typed in as a new prompt.
    let prompts = events.iter().filter(|e| e["event"] == "prompt").count();
    assert_eq!(prompts, 1, "{events:#?}");
    let screen = world.ok(&["capture", "pusher"]);
    assert!(
        screen.contains("Allowed by PermissionRequest hook"),
        "{screen}"
    );
}

#[test]
fn a_waiting_hook_ends_with_its_agent() {
    let world = World::installed();
    let push = Push::start();
    let reply = format!("      reply: {}\n", push.url("/answers"));
    configure_text(&world.home(), &push, "  grace_s: 0\n", "", &reply);
    let spawned = world.spawn_sim("careful");
    ask_permission(&world, "careful", "ls notes");
    wait_for("orch's hook to wait on the answer", WAIT, || {
        hook_waits(&world, "w1").then_some(())
    });
    // The agent dies without a word (no SessionEnd): the hook, in a process group of its own,
    // sees it gone and ends.
    let pid = world.tmux.as_ref().unwrap().run(&[
        "display-message",
        "-p",
        "-t",
        spawned["pane"].as_str().unwrap(),
        "#{pane_pid}",
    ]);
    crate::util::kill_group(pid.trim());
    wait_for("the hook to end with its agent", WAIT, || {
        (!hook_waits(&world, "w1")).then_some(())
    });
}
