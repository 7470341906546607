//! A mock of OpenAI's Responses API on 127.0.0.1 (port 0) for driving the real Codex CLI
//! offline (std + serde_json only).
//!
//! `POST /v1/responses` answers as SSE with the events Codex 0.169 needs
//! (docs/observed.md, 3.1): `response.created`, `response.output_item.added`,
//! `response.output_text.delta`, `response.output_item.done`, `response.completed`. The reply is
//! `X` from a `[[say: X]]` in the last user message (read by [`orch_sim::directive`]), else
//! `echo: <text>` (its first 60 characters). Codex's hidden title-generation request gets a
//! short title and is logged apart.
//! While a limit is on ([`crate::mock_http::MockServer::limit`]), `POST /v1/responses` gets
//! the provider's answer instead: [`usage_limit`] (a ChatGPT plan's) or [`rate_limit`] (an API
//! key's).
//! `GET /v1/models` gets an empty list; anything else (e.g. a WebSocket upgrade) a quick 404.
//! Every connection is closed after one answer.

#![allow(dead_code)]

use crate::mock_http::{lock, Api, Request, Response, Shared};
use orch_sim::directive::Directives;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

/// The start of the prompt Codex's TUI sends to name a thread.
const TITLE_PREFIX: &str = "Generate a concise, single-line task title";

crate::mock_http::mock_type!(
    /// A running mock Responses API for Codex; stopped on drop.
    MockOpenAi,
    (),
    Api {
        serve,
        base: "/v1",
        keep_alive: false,
        user_text: last_user_text,
    }
);

/// The text of the last `user` message of a Responses request body (its `input_text` parts
/// joined), or `""`.
pub fn last_user_text(body: &Value) -> String {
    let items = body["input"].as_array().cloned().unwrap_or_default();
    let Some(message) = items.iter().rev().find(|item| {
        item["role"] == "user" && item["type"].as_str().unwrap_or("message") == "message"
    }) else {
        return String::new();
    };
    match &message["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The reply to a prompt: `X` from its `[[say: X]]`, else `echo: <prompt>` cut to its first 60
/// characters (a long echo of repetitive text makes Gemini CLI 0.61 report a loop and send a
/// request of its own).
pub fn reply_to(prompt: &str) -> String {
    match Directives::parse(prompt).say() {
        Some(text) => text.to_string(),
        None => format!(
            "echo: {}",
            prompt.trim().chars().take(60).collect::<String>()
        ),
    }
}

/// Seconds to a reset `left` away, rounded up.
fn secs(left: std::time::Duration) -> u64 {
    left.as_millis().div_ceil(1000) as u64
}

/// Unix seconds `left` from now, rounded up.
fn unix_after(left: std::time::Duration) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    (now + left).as_millis().div_ceil(1000) as u64
}

/// How the ChatGPT backend answers a plan over its usage limit, the reset `left` away: 429,
/// `error.type: usage_limit_reached` with `resets_at` (Unix s) and `resets_in_seconds`, and
/// the `x-codex-primary-*` headers Codex reads its rate limits from (a window used up to
/// 100%, reset at `resets_at`).
pub fn usage_limit(left: std::time::Duration) -> Response {
    let at = unix_after(left);
    Response::json(
        429,
        &json!({"error": {"type": "usage_limit_reached",
            "message": "The usage limit has been reached", "plan_type": "plus",
            "resets_at": at, "resets_in_seconds": secs(left)}}),
    )
    .with_header("x-codex-primary-used-percent", "100")
    .with_header("x-codex-primary-window-minutes", "300")
    .with_header("x-codex-primary-reset-at", &at.to_string())
    .with_header(
        "x-codex-primary-reset-after-seconds",
        &secs(left).to_string(),
    )
}

/// How OpenAI's API answers a key over its rate limit, the reset `left` away: 429 with
/// `error.code: rate_limit_exceeded` (`type: requests`), the `try again in Ns` in its message
/// and the `x-ratelimit-*-requests` headers, no `retry-after`.
pub fn rate_limit(left: std::time::Duration) -> Response {
    Response::json(
        429,
        &json!({"error": {"message": format!("Rate limit reached for mock-model in \
            organization org-mock on requests per min (RPM): Limit 3, Used 3, Requested 1. \
            Please try again in {}s.", secs(left)),
            "type": "requests", "param": null, "code": "rate_limit_exceeded"}}),
    )
    .with_header("x-ratelimit-limit-requests", "3")
    .with_header("x-ratelimit-remaining-requests", "0")
    .with_header("x-ratelimit-reset-requests", &format!("{}s", secs(left)))
}

fn serve(shared: &Shared, request: &Request) -> Response {
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/v1/responses") => {
            if let Some(limited) = shared.limit_answer() {
                return limited;
            }
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let prompt = last_user_text(&body);
            let last = body["input"].as_array().and_then(|i| i.last()).cloned();
            let answer = if prompt.starts_with(TITLE_PREFIX) {
                lock(&shared.side).push(body);
                Answer::Text("Mock title".to_string())
            } else {
                lock(&shared.main).push(body);
                match last {
                    Some(item) if item["type"] == "function_call_output" => Answer::Text(format!(
                        "tool said: {}",
                        item["output"]
                            .as_str()
                            .unwrap_or(&item["output"].to_string())
                    )),
                    _ => match Directives::parse(&prompt).bash() {
                        Some(command) => Answer::Exec(command.to_string()),
                        None => Answer::Text(reply_to(&prompt)),
                    },
                }
            };
            let n = shared.ids.fetch_add(1, Ordering::SeqCst);
            Response::events(events(&format!("resp_{n}"), &format!("msg_{n}"), &answer))
        }
        ("GET", "/v1/models") => Response::json(200, &json!({"object": "list", "data": []})),
        _ => Response::json(
            404,
            &json!({"error": {"message": format!("no route {} {}", request.method, request.path)}}),
        ),
    }
}

/// What the mock answers: a message, or a call of Codex's `exec_command` tool.
enum Answer {
    Text(String),
    Exec(String),
}

/// One answer as the Responses API's server-sent events.
fn events(id: &str, item: &str, answer: &Answer) -> Vec<String> {
    let message = |content: Value| {
        json!({"type": "message", "id": item, "role": "assistant", "status": "completed",
               "content": content})
    };
    let output = match answer {
        Answer::Text(text) => vec![
            json!({"type": "response.output_item.added", "output_index": 0,
                   "item": message(json!([]))}),
            json!({"type": "response.output_text.delta", "item_id": item, "output_index": 0,
                   "content_index": 0, "delta": text}),
            json!({"type": "response.output_item.done", "output_index": 0,
                   "item": message(json!([{"type": "output_text", "text": text,
                                           "annotations": []}]))}),
        ],
        Answer::Exec(command) => {
            let call = |arguments: &str| {
                json!({"type": "function_call", "id": item, "call_id": format!("call_{item}"),
                       "name": "exec_command", "arguments": arguments, "status": "completed"})
            };
            vec![
                json!({"type": "response.output_item.added", "output_index": 0,
                       "item": call("")}),
                json!({"type": "response.output_item.done", "output_index": 0,
                       "item": call(&json!({"cmd": command}).to_string())}),
            ]
        }
    };
    let mut events = vec![json!({"type": "response.created", "response": {"id": id}})];
    events.extend(output);
    events.extend([
        json!({"type": "response.completed", "response": {"id": id, "usage": {
               "input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
               "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
               "total_tokens": 15}}}),
    ]);
    events
        .iter()
        .map(|event| {
            format!(
                "event: {}\ndata: {event}\n\n",
                event["type"].as_str().unwrap()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    #[test]
    fn say_directive_picks_the_reply() {
        assert_eq!(reply_to("hi [[say: CODEX-OK]]"), "CODEX-OK");
        assert_eq!(reply_to("hello"), "echo: hello");
        let body = json!({"input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<env/>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]},
        ]});
        assert_eq!(last_user_text(&body), "go");
    }

    #[test]
    fn serves_a_response_stream() {
        let mock = MockOpenAi::start();
        let mut conn = TcpStream::connect(mock.addr).unwrap();
        let body = json!({"stream": true, "input": [{"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "x [[say: OK]]"}]}]})
        .to_string();
        write!(
            conn,
            "POST /v1/responses HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"));
        assert!(answer.contains("event: response.completed"));
        assert!(answer.contains("\"text\":\"OK\""));
        assert_eq!(mock.requests().len(), 1);
    }
}
