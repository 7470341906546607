//! What each worker spent: tokens per model call, read from the harness's own transcript
//! ([`crate::harness::Adapter::usage_format`]: Claude Code's session JSONL, Codex's rollout,
//! Gemini CLI's and pi's session JSONL), never estimated; and its cost, call by call, from
//! [`crate::spend::prices`]. Command and sim workers have no such record: their usage is
//! unknown (`None`), not zero.
//!
//! Reading is incremental: `usage.json` in the worker's folder keeps the transcript's path,
//! the byte offset read up to and what was found, so a read costs the new lines only. It runs
//! when someone asks (`orch usage`, `orch ps`), never in the hook; the long-running readers
//! (`orch top`, a budget's follower) keep the same in memory ([`Tally`]) and never write it.

use crate::fleet::worker::Worker;
use crate::harness::adapter::UsageFormat;
use crate::harness::HarnessExt;
use crate::spend::prices;
use anyhow::{Context, Result};
use orch_store::files::{write_atomic, Lock};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

pub use crate::spend::prices::Tokens;

/// One model call as the transcript records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// The message id (Claude, Gemini CLI), the line's offset (Codex) or the entry id (pi).
    pub key: String,
    pub model: Option<String>,
    pub tokens: Tokens,
    /// Its cost in USD, when its model has a price ([`crate::spend::prices`], priced anew at
    /// each read).
    pub cost_usd: Option<f64>,
    /// When the transcript recorded it (Unix milliseconds), if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
}

/// A worker's usage: every model call, their sum, and the cost when every call's model has a
/// price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    pub calls: Vec<Call>,
    pub total: Tokens,
    /// The model of the newest call.
    pub model: Option<String>,
    pub cost_usd: Option<f64>,
}

/// The shape of `usage.json`; a cache of another (an older orch's) is read anew.
const CACHE_VERSION: u32 = 3;

/// What `usage.json` keeps between reads.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cache {
    /// [`CACHE_VERSION`] (absent before version 2: calls had no time; before 3 no 1-hour
    /// cache write).
    #[serde(default)]
    version: u32,
    path: PathBuf,
    offset: u64,
    calls: Vec<Call>,
    /// Codex: the running totals at the last `token_count`, and the model in effect.
    #[serde(default)]
    codex_total: Tokens,
    #[serde(default)]
    model: Option<String>,
    /// The transcript's inode when last read: another one means the file was replaced.
    #[serde(default)]
    inode: u64,
}

/// The worker's usage so far, or `None` when its harness keeps no usage record orch reads
/// here (or it runs on another host). Reads what the transcript gained since `usage.json` was
/// written, and writes it back.
///
/// Errors: the transcript or `usage.json` cannot be read or written.
pub fn of(worker: &Worker) -> Result<Option<Usage>> {
    if worker.meta.harness.usage_format().is_none() || worker.meta.remote.is_some() {
        return Ok(None);
    }
    let cache_path = worker.dir.file(orch_store::worker::File::Usage);
    let _lock = Lock::acquire(&cache_path)?;
    let mut tally = Tally {
        cache: std::fs::read(&cache_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .filter(|c: &Cache| c.version == CACHE_VERSION)
            .unwrap_or_default(),
    };
    let was = (
        tally.cache.path.clone(),
        tally.cache.offset,
        tally.cache.inode,
    );
    let usage = tally.read(worker)?;
    if (
        tally.cache.path.clone(),
        tally.cache.offset,
        tally.cache.inode,
    ) != was
    {
        write_atomic(&cache_path, &serde_json::to_vec(&tally.cache)?, 0o600)?;
    }
    Ok(usage)
}

/// A worker's usage kept in memory between reads (what `orch top` holds per worker): each
/// [`Tally::read`] costs only the lines the transcript gained since the last.
#[derive(Debug, Default)]
pub struct Tally {
    cache: Cache,
}

impl Tally {
    /// The usage so far, as [`of`] gives it, without touching `usage.json`.
    ///
    /// Errors: the transcript cannot be read.
    pub fn read(&mut self, worker: &Worker) -> Result<Option<Usage>> {
        let Some(format) = worker.meta.harness.usage_format() else {
            return Ok(None);
        };
        // A worker on another host has its transcript there (`orch usage` on the host).
        if worker.meta.remote.is_some() {
            return Ok(None);
        }
        let Some(sid) = worker.meta.session_id.as_deref() else {
            return Ok(None);
        };
        let Some(path) = worker.meta.harness.transcript(worker.dir.path(), sid) else {
            return Ok(Some(summary(Vec::new())));
        };
        self.read_from(format, path).map(Some)
    }

    /// Reads on in transcript `path` of `format`.
    fn read_from(&mut self, format: UsageFormat, path: PathBuf) -> Result<Usage> {
        // Another conversation, or a transcript written anew: read it all again. A file
        // replaced by a rename (Gemini CLI and pi rewrite theirs so on a resume or a format
        // migration) has another inode; one cut and written again is shorter. (Calls are
        // keyed, so lines read twice count once either way.)
        let (len, inode) = std::fs::metadata(&path).map_or((0, 0), |m| {
            use std::os::unix::fs::MetadataExt;
            (m.len(), m.ino())
        });
        let cache = &self.cache;
        if cache.path != path || len < cache.offset || (cache.inode != 0 && cache.inode != inode) {
            self.cache = Cache {
                version: CACHE_VERSION,
                path: path.clone(),
                ..Cache::default()
            };
        }
        self.cache.inode = inode;
        let cache = &mut self.cache;
        let (lines, end) = new_lines(&path, cache.offset)?;
        for (at, line) in lines {
            let Ok(value) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            match format {
                UsageFormat::ClaudeTranscript => claude_line(cache, &value),
                UsageFormat::CodexRollout => codex_line(cache, &value, at),
                UsageFormat::GeminiSession => gemini_line(cache, &value, at),
                UsageFormat::PiSession => pi_line(cache, &value, at),
            }
        }
        cache.offset = end;
        Ok(summary(cache.calls.clone()))
    }

    /// The transcript the last read found, if any (to watch its folder).
    pub fn transcript(&self) -> Option<&Path> {
        Some(self.cache.path.as_path()).filter(|p| !p.as_os_str().is_empty())
    }
}

/// The whole lines of `path` after byte `offset`, each with its offset, and the offset after
/// the last whole line.
fn new_lines(path: &Path, offset: u64) -> Result<(Vec<(u64, String)>, u64)> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            let text = String::from_utf8_lossy(&bytes[start..i]).into_owned();
            lines.push((offset + start as u64, text));
            start = i + 1;
        }
    }
    Ok((lines, offset + start as u64))
}

/// An `assistant` line of a Claude Code transcript: its message's usage, kept once per
/// message id (the lines of one message repeat it; the last one counts).
fn claude_line(cache: &mut Cache, line: &Value) {
    let message = &line["message"];
    if line["type"] != "assistant" || !message["usage"].is_object() {
        return;
    }
    let usage = &message["usage"];
    let n = |k: &str| usage[k].as_u64().unwrap_or(0);
    let tokens = Tokens {
        input: n("input_tokens"),
        output: n("output_tokens"),
        cache_read: n("cache_read_input_tokens"),
        cache_write: n("cache_creation_input_tokens"),
        // Beside the total, the API splits it by lifetime (the rest is the 5-minute part).
        cache_write_1h: usage["cache_creation"]["ephemeral_1h_input_tokens"]
            .as_u64()
            .unwrap_or(0),
    };
    let model = message["model"].as_str().map(str::to_string);
    // Claude Code writes `<synthetic>` messages of its own (an error shown as a reply).
    if model.as_deref() == Some("<synthetic>") {
        return;
    }
    let key = message["id"].as_str().unwrap_or_default().to_string();
    keep(cache, priced(key, model, tokens, line));
}

/// A `gemini` line of a Gemini CLI session: its `tokens`, kept once per message id (`at`, the
/// line's offset, for a line without one; a message is appended again when it changes, and
/// the last one counts). Gemini's `input` is the whole prompt, its `cached` part among it,
/// without `tool` (the tool-use prompt), and its `output` is without `thoughts`; the API bills
/// those as input and output, so here input is `input - cached + tool` and output
/// `output + thoughts`: the four counts add up to its `total`.
fn gemini_line(cache: &mut Cache, line: &Value, at: u64) {
    let t = &line["tokens"];
    if line["type"] != "gemini" || !t.is_object() {
        return;
    }
    let n = |k: &str| t[k].as_u64().unwrap_or(0);
    let tokens = Tokens {
        input: n("input").saturating_sub(n("cached")) + n("tool"),
        output: n("output") + n("thoughts"),
        cache_read: n("cached"),
        ..Tokens::default()
    };
    let model = line["model"].as_str().map(str::to_string);
    let key = line["id"]
        .as_str()
        .map_or_else(|| at.to_string(), str::to_string);
    keep(cache, priced(key, model, tokens, line));
}

/// A `message` entry of a pi session whose message is the assistant's: its `usage`, once per
/// entry id (`at`, the line's offset, for an entry without one). A message with no token at
/// all (a request that failed before any answer) is no call.
fn pi_line(cache: &mut Cache, line: &Value, at: u64) {
    let message = &line["message"];
    let usage = &message["usage"];
    if line["type"] != "message" || message["role"] != "assistant" || !usage.is_object() {
        return;
    }
    let n = |k: &str| usage[k].as_u64().unwrap_or(0);
    let tokens = Tokens {
        input: n("input"),
        output: n("output"),
        cache_read: n("cacheRead"),
        cache_write: n("cacheWrite"),
        ..Tokens::default()
    };
    if tokens.total() == 0 {
        return;
    }
    let model = message["model"].as_str().map(str::to_string);
    let key = line["id"]
        .as_str()
        .map_or_else(|| at.to_string(), str::to_string);
    keep(cache, priced(key, model, tokens, line));
}

/// Adds `call`, or replaces the call of the same key (a message recorded again).
fn keep(cache: &mut Cache, call: Call) {
    match cache.calls.iter_mut().find(|c| c.key == call.key) {
        Some(old) => *old = call,
        None => cache.calls.push(call),
    }
}

/// A line of a Codex rollout: `turn_context` sets the model; a `token_count` whose running
/// totals grew is one call, the difference.
fn codex_line(cache: &mut Cache, line: &Value, at: u64) {
    let payload = &line["payload"];
    if line["type"] == "turn_context" {
        if let Some(model) = payload["model"].as_str() {
            cache.model = Some(model.to_string());
        }
        return;
    }
    let total = &payload["info"]["total_token_usage"];
    if line["type"] != "event_msg" || payload["type"] != "token_count" || !total.is_object() {
        return;
    }
    let n = |k: &str| total[k].as_u64().unwrap_or(0);
    let cached = n("cached_input_tokens");
    let now = Tokens {
        input: n("input_tokens").saturating_sub(cached),
        output: n("output_tokens"),
        cache_read: cached,
        ..Tokens::default()
    };
    let was = cache.codex_total;
    if now == was {
        return;
    }
    let tokens = Tokens {
        input: now.input.saturating_sub(was.input),
        output: now.output.saturating_sub(was.output),
        cache_read: now.cache_read.saturating_sub(was.cache_read),
        ..Tokens::default()
    };
    cache.codex_total = now;
    let call = priced(at.to_string(), cache.model.clone(), tokens, line);
    cache.calls.push(call);
}

/// A call of `model` with `tokens`, stamped with the time its transcript `line` gives (its
/// `timestamp`: RFC 3339, or Unix milliseconds; pi's message carries it too); [`summary`]
/// prices it.
fn priced(key: String, model: Option<String>, tokens: Tokens, line: &Value) -> Call {
    let at_ms = [&line["timestamp"], &line["message"]["timestamp"]]
        .into_iter()
        .find_map(|t| match t {
            Value::String(text) => orch_store::clock::parse_rfc3339(text),
            other => other.as_u64(),
        });
    Call {
        key,
        model,
        tokens,
        cost_usd: None,
        at_ms,
    }
}

/// The usage of `calls`, each priced with the prices in use ([`prices::current`]), so a
/// price the user adds counts for calls read before.
fn summary(mut calls: Vec<Call>) -> Usage {
    let prices = prices::current();
    let mut total = Tokens::default();
    // Each model looked up once (`orch top` prices every call at each read).
    let mut rates: Vec<(String, Option<&orch_store::config::Rates>)> = Vec::new();
    for call in &mut calls {
        total.add(&call.tokens);
        let Some(model) = call.model.as_deref() else {
            continue;
        };
        let found = match rates.iter().find(|(m, _)| m == model) {
            Some((_, found)) => *found,
            None => {
                let found = prices.rates(model).map(|(r, _)| r);
                rates.push((model.to_string(), found));
                found
            }
        };
        call.cost_usd = found.and_then(|r| prices::cost(r, &call.tokens));
    }
    let cost_usd = calls
        .iter()
        .map(|c| c.cost_usd)
        .sum::<Option<f64>>()
        .filter(|_| !calls.is_empty());
    Usage {
        model: calls.last().and_then(|c| c.model.clone()),
        calls,
        total,
        cost_usd,
    }
}

/// What one turn spent: the calls between a prompt and the next.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Turn {
    /// The seq of its `prompt` event in the worker's log; `None` for calls before the first
    /// prompt orch recorded, or with no time.
    pub prompt_seq: Option<u64>,
    /// When the prompt was submitted (Unix milliseconds).
    pub started_ms: Option<u64>,
    pub calls: usize,
    pub tokens: Tokens,
    /// Their cost in USD, when every call's model has a price.
    pub cost_usd: Option<f64>,
}

/// `usage`'s calls grouped by turn: each call goes to the newest of `prompts` (each its seq
/// and Unix milliseconds, oldest first: the worker's `prompt` events) submitted at or before
/// it. Turns without calls are left out; oldest first.
pub fn turns(usage: &Usage, prompts: &[(u64, u64)]) -> Vec<Turn> {
    let mut out: Vec<Turn> = Vec::new();
    for call in &usage.calls {
        let prompt = call
            .at_ms
            .and_then(|at| prompts.iter().rev().find(|(_, ms)| *ms <= at));
        let seq = prompt.map(|(seq, _)| *seq);
        let at = out.iter().position(|t| t.prompt_seq == seq);
        let turn = match at {
            Some(i) => &mut out[i],
            None => {
                out.push(Turn {
                    prompt_seq: seq,
                    started_ms: prompt.map(|(_, ms)| *ms),
                    calls: 0,
                    tokens: Tokens::default(),
                    cost_usd: Some(0.0),
                });
                out.last_mut().unwrap()
            }
        };
        turn.calls += 1;
        turn.tokens.add(&call.tokens);
        turn.cost_usd = turn.cost_usd.zip(call.cost_usd).map(|(a, b)| a + b);
    }
    out.sort_by_key(|t| t.prompt_seq);
    out
}

impl Usage {
    /// The usage of `calls` (oldest first, as a transcript has them): their sum, the newest
    /// one's model, and their cost when every call's model has a price (`None` for no call).
    /// What a remote worker's calls, read on its host, make here.
    pub fn of_calls(calls: Vec<Call>) -> Usage {
        summary(calls)
    }

    /// Only the calls recorded at or after `from_ms` (Unix milliseconds): `orch usage
    /// --since`. A call whose transcript gives no time cannot be placed, and is left out.
    pub fn since(&self, from_ms: u64) -> Usage {
        let calls = self.calls.iter().filter(|c| c.at_ms >= Some(from_ms));
        summary(calls.cloned().collect())
    }
}

/// What the calls of one model came to, across workers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelTotal {
    /// How many model calls.
    pub calls: usize,
    pub tokens: Tokens,
    /// Their cost in USD, `None` when a call of it has no price.
    pub cost_usd: Option<f64>,
}

/// The calls of every one of `usages` summed per model (`-` for calls that name none), by
/// model id.
pub fn by_model<'u>(
    usages: impl IntoIterator<Item = &'u Usage>,
) -> std::collections::BTreeMap<String, ModelTotal> {
    let mut out = std::collections::BTreeMap::<String, ModelTotal>::new();
    for call in usages.into_iter().flat_map(|u| &u.calls) {
        let model = call.model.clone().unwrap_or_else(|| "-".into());
        let total = out.entry(model).or_insert_with(|| ModelTotal {
            cost_usd: Some(0.0),
            ..ModelTotal::default()
        });
        total.calls += 1;
        total.tokens.add(&call.tokens);
        total.cost_usd = total.cost_usd.zip(call.cost_usd).map(|(a, b)| a + b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claude_messages_count_once_per_id() {
        let mut cache = Cache::default();
        let line = |id: &str, out: u64| {
            json!({"type": "assistant", "message": {"id": id, "model": "claude-sonnet-4-5",
                "usage": {"input_tokens": 100, "output_tokens": out,
                          "cache_read_input_tokens": 10, "cache_creation_input_tokens": 5}}})
        };
        claude_line(&mut cache, &line("m1", 1));
        claude_line(&mut cache, &line("m1", 40));
        claude_line(&mut cache, &line("m2", 2));
        claude_line(
            &mut cache,
            &json!({"type": "user", "message": {"content": "hi"}}),
        );
        let usage = summary(cache.calls);
        assert_eq!(usage.calls.len(), 2);
        assert_eq!(
            usage.total,
            Tokens {
                input: 200,
                output: 42,
                cache_read: 20,
                cache_write: 10,
                cache_write_1h: 0
            }
        );
        // 200*3 + 42*15 + 20*0.3 + 10*3.75 per million.
        let want = (600.0 + 630.0 + 6.0 + 37.5) / 1e6;
        assert!((usage.cost_usd.unwrap() - want).abs() < 1e-12);
    }

    #[test]
    fn claude_cache_writes_keep_their_one_hour_part() {
        let mut cache = Cache::default();
        claude_line(
            &mut cache,
            &json!({"type": "assistant", "message": {"id": "m1", "model": "claude-opus-4-8",
                "usage": {"input_tokens": 10, "cache_creation_input_tokens": 1000,
                          "cache_creation": {"ephemeral_5m_input_tokens": 600,
                                             "ephemeral_1h_input_tokens": 400}}}}),
        );
        let usage = summary(cache.calls);
        assert_eq!(usage.total.cache_write, 1000, "the total stays the total");
        assert_eq!(usage.total.cache_write_1h, 400);
        // 10*5 + 600*6.25 + 400*10 per million.
        let want = (50.0 + 3750.0 + 4000.0) / 1e6;
        assert!((usage.cost_usd.unwrap() - want).abs() < 1e-12, "{usage:?}");
    }

    #[test]
    fn codex_calls_are_the_growth_of_its_running_totals() {
        let mut cache = Cache::default();
        let count = |input: u64, cached: u64, output: u64| {
            json!({"type": "event_msg", "payload": {"type": "token_count", "info": {
                "total_token_usage": {"input_tokens": input, "cached_input_tokens": cached,
                                      "output_tokens": output}}}})
        };
        codex_line(
            &mut cache,
            &json!({"type": "turn_context", "payload": {"model": "gpt-5"}}),
            0,
        );
        codex_line(&mut cache, &count(10, 0, 5), 1);
        codex_line(&mut cache, &count(10, 0, 5), 2);
        codex_line(&mut cache, &count(30, 8, 9), 3);
        let usage = summary(cache.calls);
        assert_eq!(usage.calls.len(), 2, "a repeated total is no call");
        assert_eq!(usage.total.input, 22);
        assert_eq!(usage.total.cache_read, 8);
        assert_eq!(usage.total.output, 9);
        assert_eq!(usage.model.as_deref(), Some("gpt-5"));
    }

    /// A Gemini CLI 0.61 `gemini` line as it writes one.
    fn gemini(id: &str, tokens: Value) -> Value {
        json!({"id": id, "timestamp": "2026-12-02T08:18:08.008Z", "type": "gemini",
               "content": "", "thoughts": [], "tokens": tokens, "model": "gemini-2.5-flash"})
    }

    #[test]
    fn gemini_messages_count_once_per_id_with_thoughts_as_output() {
        let mut cache = Cache::default();
        let tokens = json!({"input": 1700, "output": 34, "cached": 500, "thoughts": 6,
                            "tool": 4, "total": 1744});
        gemini_line(&mut cache, &gemini("g1", tokens.clone()), 10);
        // Appended again with its tool call's result: the same call.
        let mut again = gemini("g1", tokens);
        again["toolCalls"] = json!([{"id": "t1", "name": "run_shell_command"}]);
        gemini_line(&mut cache, &again, 20);
        gemini_line(
            &mut cache,
            &json!({"id": "u1", "type": "user", "content": [{"text": "hi"}]}),
            30,
        );
        gemini_line(&mut cache, &json!({"$set": {"lastUpdated": "x"}}), 40);
        gemini_line(&mut cache, &json!({"$rewindTo": "u1"}), 50);
        // A message recorded without usage (`tokens: null`) is no call.
        gemini_line(&mut cache, &gemini("g2", Value::Null), 60);
        let usage = summary(cache.calls);
        assert_eq!(usage.calls.len(), 1, "{usage:?}");
        let want = Tokens {
            input: 1204,
            output: 40,
            cache_read: 500,
            ..Tokens::default()
        };
        assert_eq!(usage.total, want);
        assert_eq!(usage.total.total(), 1744, "adds up to Gemini's own total");
        assert_eq!(usage.model.as_deref(), Some("gemini-2.5-flash"));
        // 1204*0.3 + 40*2.5 + 500*0.03 per million.
        let cost = (1204.0 * 0.3 + 40.0 * 2.5 + 500.0 * 0.03) / 1e6;
        assert!((usage.cost_usd.unwrap() - cost).abs() < 1e-12);
    }

    /// A pi 0.73 assistant `message` entry as it writes one.
    fn pi(id: &str, input: u64, output: u64, read: u64, write: u64) -> Value {
        json!({"type": "message", "id": id, "parentId": "p", "timestamp": "t",
               "message": {"role": "assistant", "content": [{"type": "text", "text": "ok"}],
                   "api": "openai-completions", "provider": "mock", "model": "mock-model",
                   "usage": {"input": input, "output": output, "cacheRead": read,
                       "cacheWrite": write, "totalTokens": input + output + read + write,
                       "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0,
                                "total": 0}},
                   "stopReason": "stop", "timestamp": 1}})
    }

    #[test]
    fn pi_assistant_messages_count_once_per_entry() {
        let mut cache = Cache::default();
        pi_line(&mut cache, &pi("a1", 1200, 34, 500, 60), 10);
        // The same entry read twice (a session file rewritten in place).
        pi_line(&mut cache, &pi("a1", 1200, 34, 500, 60), 900);
        pi_line(&mut cache, &pi("a2", 1300, 21, 0, 0), 20);
        // A request that failed before any answer spent nothing.
        pi_line(&mut cache, &pi("a3", 0, 0, 0, 0), 30);
        pi_line(
            &mut cache,
            &json!({"type": "message", "id": "u1",
                    "message": {"role": "user", "content": "hi"}}),
            40,
        );
        pi_line(
            &mut cache,
            &json!({"type": "model_change", "id": "m", "provider": "mock", "modelId": "x"}),
            50,
        );
        let usage = summary(cache.calls);
        assert_eq!(usage.calls.len(), 2, "{usage:?}");
        assert_eq!(
            usage.total,
            Tokens {
                input: 2500,
                output: 55,
                cache_read: 500,
                cache_write: 60,
                cache_write_1h: 0
            }
        );
        assert_eq!(usage.model.as_deref(), Some("mock-model"));
        assert_eq!(usage.cost_usd, None, "no price for the mock's model");
    }

    #[test]
    fn calls_go_to_the_turn_of_the_prompt_before_them() {
        let mut cache = Cache::default();
        let line = |id: &str, ts: &str, input: u64| {
            json!({"type": "assistant", "timestamp": ts, "message": {"id": id,
                "model": "claude-sonnet-4-5", "usage": {"input_tokens": input}}})
        };
        claude_line(&mut cache, &line("m0", "2026-12-02T09:00:00.000Z", 1));
        claude_line(&mut cache, &line("m1", "2026-12-02T09:00:05.000Z", 10));
        claude_line(&mut cache, &line("m2", "2026-12-02T09:00:06.000Z", 20));
        claude_line(&mut cache, &line("m3", "2026-12-02T09:01:00.000Z", 300));
        let mut untimed = line("m4", "", 4000);
        untimed.as_object_mut().unwrap().remove("timestamp");
        claude_line(&mut cache, &untimed);
        let usage = summary(cache.calls);
        assert_eq!(usage.calls[1].at_ms, Some(1_796_202_005_000));
        let prompts = [(3, 1_796_202_004_000), (7, 1_796_202_059_000)];
        let turns = turns(&usage, &prompts);
        let got: Vec<(Option<u64>, usize, u64)> = turns
            .iter()
            .map(|t| (t.prompt_seq, t.calls, t.tokens.input))
            .collect();
        assert_eq!(got, [(None, 2, 4001), (Some(3), 2, 30), (Some(7), 1, 300)]);
        assert_eq!(turns[1].started_ms, Some(1_796_202_004_000));
        assert!((turns[1].cost_usd.unwrap() - 30.0 * 3.0 / 1e6).abs() < 1e-12);
    }

    #[test]
    fn since_keeps_the_calls_at_or_after_it_and_by_model_sums_each_model() {
        let call = |key: &str, model: &str, input: u64, at_ms: Option<u64>| Call {
            key: key.into(),
            model: Some(model.into()),
            tokens: Tokens {
                input,
                ..Tokens::default()
            },
            cost_usd: crate::spend::prices::current().cost(
                model,
                &Tokens {
                    input,
                    ..Tokens::default()
                },
            ),
            at_ms,
        };
        let one = Usage::of_calls(vec![
            call("a", "claude-sonnet-4-5", 1, Some(1_000)),
            call("b", "claude-sonnet-4-5", 10, Some(2_000)),
            call("c", "mystery-model", 100, None),
        ]);
        let two = Usage::of_calls(vec![call("d", "claude-haiku-4-5", 1000, Some(3_000))]);
        let recent = one.since(2_000);
        assert_eq!(
            recent.calls.len(),
            1,
            "the call at the bound is kept, no time is not"
        );
        assert_eq!(recent.total.input, 10);
        assert_eq!(
            one.since(5_000).cost_usd,
            None,
            "no call: unknown, not zero"
        );
        let totals = by_model([&one, &two]);
        assert_eq!(
            totals.keys().collect::<Vec<_>>(),
            ["claude-haiku-4-5", "claude-sonnet-4-5", "mystery-model"]
        );
        let sonnet = &totals["claude-sonnet-4-5"];
        assert_eq!((sonnet.calls, sonnet.tokens.input), (2, 11));
        assert!((sonnet.cost_usd.unwrap() - 11.0 * 3.0 / 1e6).abs() < 1e-12);
        assert_eq!(totals["mystery-model"].cost_usd, None);
        assert_eq!(totals["claude-haiku-4-5"].tokens.input, 1000);
    }

    #[test]
    fn a_transcript_replaced_by_a_rename_is_read_anew() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.jsonl");
        let call = |id: &str, input: u64| {
            format!(
                "{}\n",
                json!({"type": "assistant", "message": {"id": id, "model": "m",
                    "usage": {"input_tokens": input}}})
            )
        };
        std::fs::write(&path, call("a", 1) + &call("b", 2)).unwrap();
        let mut tally = Tally::default();
        let read = |tally: &mut Tally| {
            tally
                .read_from(UsageFormat::ClaudeTranscript, path.clone())
                .unwrap()
                .total
                .input
        };
        assert_eq!(read(&mut tally), 3);
        std::fs::write(
            &path,
            std::fs::read_to_string(&path).unwrap() + &call("c", 4),
        )
        .unwrap();
        assert_eq!(read(&mut tally), 7, "an append is read on");
        // Written anew under another name and renamed over it, longer: the old offset means
        // nothing in it.
        let new = dir.path().join("session.jsonl.tmp");
        std::fs::write(
            &new,
            call("x", 100) + &call("y", 200) + &call("z", 300) + &call("w", 1),
        )
        .unwrap();
        std::fs::rename(&new, &path).unwrap();
        assert_eq!(read(&mut tally), 601);
    }
}
