//! A mock of OpenAI's Chat Completions API on 127.0.0.1 (port 0), the wire API pi uses for a
//! provider with `"api": "openai-completions"` (docs/observed.md, 3.3), for
//! driving the real pi CLI offline (std + serde_json only).
//!
//! `POST /v1/chat/completions` answers as SSE: one chunk with the whole reply, one with
//! `finish_reason: "stop"`, one with `usage`, then `[DONE]`. The usage is 10 prompt and 5
//! completion tokens, or what a `[[usage: IN OUT CACHE_READ CACHE_WRITE]]` in the last user
//! message asks: `prompt_tokens` IN + CACHE_READ + CACHE_WRITE, `completion_tokens` OUT, and in
//! `prompt_tokens_details` `cache_write_tokens` CACHE_WRITE and `cached_tokens` CACHE_READ +
//! CACHE_WRITE (the written tokens among the cached ones, as OpenRouter reports them: pi 0.73
//! takes them out again). The reply is `X` from a
//! `[[say: X]]` in the last user message, else `echo: <text>`
//! ([`crate::mock_openai::reply_to`]). A `[[bash: CMD]]` in the last user message is answered
//! with a call of pi's `bash` tool running `CMD` instead, and the tool's result with the text
//! `tool said: <result>`. While a limit is on ([`crate::mock_http::MockServer::limit`]), a
//! completion gets its answer instead (an API key's: [`crate::mock_openai::rate_limit`]).
//! `GET /v1/models` gets an empty list, anything else a 404. Every
//! connection is closed after one answer.

#![allow(dead_code)]

use crate::mock_http::{lock, Api, Request, Response, Shared};
use crate::mock_openai::reply_to;
use orch_sim::directive::Directives;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

crate::mock_http::mock_type!(
    /// A running mock Chat Completions API for pi; stopped on drop.
    MockChat,
    (),
    Api {
        serve,
        base: "/v1",
        keep_alive: false,
        user_text: last_user_text,
    }
);

/// The text of the last `user` message of a Chat Completions body (string content, or its
/// `text` parts joined), or `""`.
pub fn last_user_text(body: &Value) -> String {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    match messages.iter().rev().find(|m| m["role"] == "user") {
        Some(message) => content_text(&message["content"]),
        None => String::new(),
    }
}

/// A message's content: the string, or its `text` parts joined.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// What the mock answers: text, or a call of the `bash` tool.
enum Answer {
    Text(String),
    Bash(String),
}

fn serve(shared: &Shared, request: &Request) -> Response {
    let (method, path) = (request.method.as_str(), request.path.as_str());
    match (method, path) {
        ("POST", "/v1/chat/completions") => {
            if let Some(limited) = shared.limit_answer() {
                return limited;
            }
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let model = body["model"].as_str().unwrap_or("mock-model").to_string();
            let messages = body["messages"].as_array().cloned().unwrap_or_default();
            let usage = usage(&last_user_text(&body));
            let answer = match messages.last() {
                Some(last) if last["role"] == "tool" => {
                    Answer::Text(format!("tool said: {}", content_text(&last["content"])))
                }
                _ => {
                    let prompt = last_user_text(&body);
                    match Directives::parse(&prompt).bash() {
                        Some(command) => Answer::Bash(command.to_string()),
                        None => Answer::Text(reply_to(&prompt)),
                    }
                }
            };
            lock(&shared.main).push(body);
            let n = shared.ids.fetch_add(1, Ordering::SeqCst);
            Response::events(events(
                &format!("chatcmpl-mock-{n}"),
                &model,
                &answer,
                usage,
            ))
        }
        ("GET", "/v1/models") => Response::json(200, &json!({"object": "list", "data": []})),
        _ => Response::json(
            404,
            &json!({"error": {"message": format!("no route {method} {path}")}}),
        ),
    }
}

/// The `usage` of a reply to `prompt`: its `[[usage: ...]]`, else 10 prompt and 5 completion
/// tokens.
fn usage(prompt: &str) -> Value {
    let Some([input, output, cache_read, cache_write]) = Directives::parse(prompt).usage() else {
        return json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15});
    };
    let prompt_tokens = input + cache_read + cache_write;
    json!({"prompt_tokens": prompt_tokens, "completion_tokens": output,
           "total_tokens": prompt_tokens + output,
           "prompt_tokens_details": {"cached_tokens": cache_read + cache_write,
                                     "cache_write_tokens": cache_write}})
}

/// One assistant message (`answer`) as Chat Completions chunks, ending with `usage`, then
/// `[DONE]`: the server-sent events.
fn events(id: &str, model: &str, answer: &Answer, usage: Value) -> Vec<String> {
    let chunk = |choices: Value, usage: Value| {
        json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": model,
               "choices": choices, "usage": usage})
    };
    let (delta, finish) = match answer {
        Answer::Text(text) => (json!({"role": "assistant", "content": text}), "stop"),
        Answer::Bash(command) => (
            json!({"role": "assistant", "tool_calls": [{"index": 0, "id": format!("call-{id}"),
                "type": "function", "function": {"name": "bash",
                "arguments": json!({"command": command}).to_string()}}]}),
            "tool_calls",
        ),
    };
    let events = [
        chunk(
            json!([{"index": 0, "delta": delta, "finish_reason": null}]),
            Value::Null,
        ),
        chunk(
            json!([{"index": 0, "delta": {}, "finish_reason": finish}]),
            Value::Null,
        ),
        chunk(json!([]), usage),
    ];
    let mut events: Vec<String> = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    events.push("data: [DONE]\n\n".to_string());
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    #[test]
    fn serves_a_chat_completion_stream() {
        let mock = MockChat::start();
        let mut conn = TcpStream::connect(mock.addr).unwrap();
        let body = json!({"stream": true, "model": "m", "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": [{"type": "text", "text": "x [[say: OK]]"}]}]})
        .to_string();
        write!(
            conn,
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"));
        assert!(answer.contains("\"content\":\"OK\""));
        assert!(answer.ends_with("data: [DONE]\n\n"));
        assert_eq!(last_user_text(&mock.requests()[0]), "x [[say: OK]]");
    }

    #[test]
    fn usage_directive_counts_cache_writes_among_cached_tokens() {
        assert_eq!(
            usage("x [[usage: 700 30 200 9]]"),
            json!({"prompt_tokens": 909, "completion_tokens": 30, "total_tokens": 939,
                   "prompt_tokens_details": {"cached_tokens": 209, "cache_write_tokens": 9}})
        );
        assert_eq!(usage("x")["prompt_tokens"], 10);
    }
}
