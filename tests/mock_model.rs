//! A mock Anthropic Messages API for driving the real Claude Code CLI in tests, on the shared
//! loopback server of [`crate::mock_http`] (HTTP/1.1 with keep-alive): replies scripted by
//! directives written in the prompt (`[[say: TEXT]]`, `[[bash: CMD]]`, `[[tool: NAME {json}]]`,
//! `[[sleep: SECS]]`, `[[error: CODE]]`, `[[usage: IN OUT CACHE_READ CACHE_WRITE [CACHE_WRITE_1H]]]`).

use crate::mock_http::{lock, Api, Request, Response, Shared};
use orch_sim::directive::Directives;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Longest text echoed back from the prompt when no reply is scripted.
const ECHO_CUT: usize = 60;
/// Size of one `text_delta` when a text block is streamed.
const DELTA_CHARS: usize = 24;

crate::mock_http::mock_type!(
    /// A running mock Messages API server on `127.0.0.1:<ephemeral>`.
    ///
    /// Main-turn requests (those that carry a non-empty `tools`) are answered from directives in
    /// the text of the last user message (all its text blocks), read by [`orch_sim::directive`]
    /// (the first of each kind counts):
    ///
    /// - `[[say: TEXT]]`: reply TEXT;
    /// - `[[bash: CMD]]`: call the `Bash` tool with CMD; the next request, carrying the tool
    ///   result, gets `MOCK: bash finished: <result text>`;
    /// - `[[tool: NAME {json}]]`: call the tool NAME with that JSON input (e.g. `[[tool:
    ///   Skill {"skill": "orch"}]]`); the next request gets `MOCK: <name> finished: <result
    ///   text>`;
    /// - `[[sleep: SECS]]`: wait before answering (combines with the others);
    /// - `[[error: CODE]]`: answer HTTP CODE (400..=599, else ignored) with an Anthropic error
    ///   body and `x-should-retry: false`. Claude Code 2.1.197 gives up at once on 400, 401,
    ///   429, 500 and 503 (`-p` exits 1) but keeps retrying 529 with back-off regardless of the
    ///   header;
    /// - `[[usage: IN OUT CACHE_READ CACHE_WRITE [CACHE_WRITE_1H]]]`: report exactly that
    ///   usage, the cache write split by lifetime as the API does
    ///   (`cache_creation.ephemeral_5m_input_tokens` and `ephemeral_1h_input_tokens` beside
    ///   the total; combines with the others; else an estimate from the sizes).
    ///
    /// Without a directive: the next queued reply ([`MockModel::push_reply`]), else
    /// `MOCK REPLY #n: you said: <first line of the prompt>`. Side requests (no `tools`:
    /// session titles and the like) get a fixed answer, ignore directives and never consume
    /// the queue. Dropping the mock stops the server ([`crate::mock_http::MockServer`]).
    MockModel,
    State,
    Api {
        serve,
        base: "",
        keep_alive: true,
        user_text: last_user_text,
    }
);

/// What the mock keeps beside the records of [`Shared`].
#[derive(Default)]
pub struct State {
    /// Replies queued by [`MockModel::push_reply`], oldest first.
    queue: Mutex<VecDeque<String>>,
    /// How many prompts were echoed so far (the `n` of `MOCK REPLY #n`).
    echoes: AtomicUsize,
    /// While set, every request is answered as the API answers an account over its limit
    /// ([`MockModel::limit`]): this message.
    limit: Mutex<Option<String>>,
    /// How many requests were answered so.
    limited: AtomicUsize,
}

impl MockModel {
    /// Switches the account's limit on (`Some(message)`) or off: while on, every request gets
    /// HTTP 429 with a `rate_limit_error` body carrying `message`, `x-should-retry: false`,
    /// `retry-after` and `anthropic-ratelimit-unified-status: rejected`, as the API answers an
    /// account over its limit.
    pub fn limit(&self, message: Option<&str>) {
        *lock(&self.state().limit) = message.map(str::to_owned);
    }

    /// How many requests the limit answered.
    pub fn limited(&self) -> usize {
        self.state().limited.load(Ordering::SeqCst)
    }

    /// Queues a reply for the next main-turn request whose prompt has no directive.
    pub fn push_reply(&self, text: &str) {
        lock(&self.state().queue).push_back(text.to_owned());
    }
}

/// A fresh id for a reply: `<prefix>_mock_<n>`.
fn next_id(shared: &Shared<State>, prefix: &str) -> String {
    let n = shared.ids.fetch_add(1, Ordering::SeqCst) + 1;
    format!("{prefix}_mock_{n:04}")
}

/// An Anthropic error body with `status` and `x-should-retry: false`.
fn error(status: u16, message: &str) -> Response {
    let kind = match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    Response::json(
        status,
        &json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
    .with_header("x-should-retry", "false")
}

/// Answers one request, with the `request-id` header the real API sends.
fn serve(shared: &Shared<State>, request: &Request) -> Response {
    route(shared, request).with_header("request-id", "req_mock")
}

fn route(shared: &Shared<State>, request: &Request) -> Response {
    let method = request.method.as_str();
    let path = request.path.as_str();
    match (method, path) {
        ("HEAD" | "GET", "/") => Response::bytes(200, "text/plain", b"mock model ok\n".to_vec()),
        ("POST", "/v1/messages") => match serde_json::from_slice::<Value>(&request.body) {
            Ok(body) => messages(shared, &body),
            Err(e) => error(400, &format!("mock: body is not JSON: {e}")),
        },
        ("POST", "/v1/messages/count_tokens") => Response::json(
            200,
            &json!({"input_tokens": estimate_tokens(request.body.len())}),
        ),
        ("GET", "/v1/models") => Response::json(
            200,
            &json!({
                "data": [model_info("claude-mock")],
                "has_more": false,
                "first_id": "claude-mock",
                "last_id": "claude-mock",
            }),
        ),
        ("GET", _) if path.starts_with("/v1/models/") => {
            Response::json(200, &model_info(&path["/v1/models/".len()..]))
        }
        _ => error(404, &format!("mock: no route for {method} {path}")),
    }
}

fn model_info(id: &str) -> Value {
    json!({
        "type": "model",
        "id": id,
        "display_name": "Claude Mock",
        "created_at": "2025-01-01T00:00:00Z",
    })
}

fn estimate_tokens(bytes: usize) -> usize {
    (bytes / 4).max(1)
}

/// What to answer to one `/v1/messages` request.
enum Reply {
    Text(String),
    ToolUse { name: String, input: Value },
    Error(u16),
}

/// The HTTP status an `[[error: CODE]]` asks for: CODE when it is one of 400..=599.
fn error_status(directives: &Directives) -> Option<u16> {
    directives
        .error()?
        .parse()
        .ok()
        .filter(|code| (400..600).contains(code))
}

/// The last message with role `user` in a Messages API request body.
fn last_user_message(body: &Value) -> Option<&Value> {
    body["messages"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
}

/// The content blocks of a message (a string content counts as one text block).
fn blocks(message: &Value) -> Vec<Value> {
    match &message["content"] {
        Value::String(text) => vec![json!({"type": "text", "text": text})],
        Value::Array(blocks) => blocks.clone(),
        _ => Vec::new(),
    }
}

/// All `text` blocks of the last user message of a request body, joined by newlines (system
/// reminders included). Handy in [`MockModel::wait_request`] predicates.
pub fn last_user_text(body: &Value) -> String {
    let Some(message) = last_user_message(body) else {
        return String::new();
    };
    blocks(message)
        .iter()
        .filter(|b| b["type"] == "text")
        .filter_map(|b| b["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every text of a request's `messages`: string contents and `text` blocks, in order. Claude
/// Code 2.1.197 lists skills in a `system` message with string content, 2.1.332 in a text
/// block of a `user` message.
pub fn message_texts(body: &Value) -> Vec<String> {
    let mut texts = Vec::new();
    for message in body["messages"].as_array().into_iter().flatten() {
        match &message["content"] {
            Value::String(text) => texts.push(text.clone()),
            Value::Array(blocks) => texts.extend(
                blocks
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .filter_map(|b| b["text"].as_str().map(str::to_owned)),
            ),
            _ => {}
        }
    }
    texts
}

/// The text of a `tool_result` block (string content or text blocks), trimmed at the end.
fn tool_result_text(block: &Value) -> String {
    let text = match &block["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    text.trim_end().to_owned()
}

/// The name of the tool that the `tool_use` block with `id` (in an earlier assistant message)
/// called.
fn tool_name(body: &Value, id: &str) -> Option<String> {
    body["messages"]
        .as_array()?
        .iter()
        .filter(|m| m["role"] == "assistant")
        .flat_map(blocks)
        .find(|b| b["type"] == "tool_use" && b["id"] == id)
        .and_then(|b| b["name"].as_str().map(str::to_owned))
}

fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

/// Decides the answer to a main-turn request (one that carries `tools`).
fn plan_main(shared: &Shared<State>, body: &Value) -> (Reply, Option<Duration>) {
    let message = last_user_message(body).cloned().unwrap_or(Value::Null);
    let message_blocks = blocks(&message);
    let directives = Directives::parse(&last_user_text(body));
    let typed: Vec<&str> = message_blocks
        .iter()
        .filter(|b| b["type"] == "text")
        .filter_map(|b| b["text"].as_str())
        .filter(|t| !t.trim_start().starts_with("<system-reminder>"))
        .collect();
    let own = Directives::parse(&typed.join("\n"));
    let scripted = error_status(&own).is_some()
        || own.bash().is_some()
        || own.tool().is_some()
        || own.say().is_some();
    // A tool result answers the tool call, unless the user's own text came with it (a prompt
    // typed after a rejected tool call arrives in the same user message) and says what to do.
    let result = message_blocks.iter().find(|b| b["type"] == "tool_result");
    if let Some(result) = result.filter(|_| !scripted) {
        let id = result["tool_use_id"].as_str().unwrap_or("");
        let name = tool_name(body, id).unwrap_or_else(|| "tool".into());
        let text = format!(
            "MOCK: {} finished: {}",
            name.to_lowercase(),
            tool_result_text(result)
        );
        return (Reply::Text(text), None);
    }
    let reply = if let Some(code) = error_status(&directives) {
        Reply::Error(code)
    } else if let Some(command) = directives.bash() {
        Reply::ToolUse {
            name: "Bash".into(),
            input: json!({"command": command, "description": "mock-requested command"}),
        }
    } else if let Some((name, input)) = directives.tool() {
        Reply::ToolUse {
            name: name.to_string(),
            input: input.clone(),
        }
    } else if let Some(text) = directives.say() {
        Reply::Text(text.to_string())
    } else {
        let queued = lock(&shared.state.queue).pop_front();
        match queued {
            Some(text) => Reply::Text(text),
            None => {
                let echoes = shared.state.echoes.fetch_add(1, Ordering::SeqCst) + 1;
                // The prompt as typed: system reminders are text blocks of their own.
                let prompt = message_blocks
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .filter_map(|b| b["text"].as_str())
                    .find(|t| !t.trim_start().starts_with("<system-reminder>"))
                    .unwrap_or("");
                let first_line = prompt.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                Reply::Text(format!(
                    "MOCK REPLY #{}: you said: {}",
                    echoes,
                    cut(first_line.trim(), ECHO_CUT)
                ))
            }
        }
    };
    (reply, directives.sleep())
}

/// Decides the answer to a side request (no `tools`): never scripted, never from the queue.
fn plan_side(body: &Value) -> Reply {
    if body["output_config"]["format"]["type"] == "json_schema" {
        Reply::Text(json!({"title": "Mock session"}).to_string())
    } else {
        Reply::Text("Mock side reply.".into())
    }
}

fn messages(shared: &Shared<State>, body: &Value) -> Response {
    if let Some(message) = lock(&shared.state.limit).clone() {
        shared.state.limited.fetch_add(1, Ordering::SeqCst);
        return error(429, &message)
            .with_header("retry-after", "60")
            .with_header("anthropic-ratelimit-unified-status", "rejected");
    }
    let main = body
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| !tools.is_empty());
    let (reply, sleep) = if main {
        lock(&shared.main).push(body.clone());
        plan_main(shared, body)
    } else {
        lock(&shared.side).push(body.clone());
        (plan_side(body), None)
    };
    if let Some(duration) = sleep {
        shared.sleep(duration);
    }
    let content = match reply {
        Reply::Error(code) => {
            return error(code, &format!("mock error {code} (requested by directive)"))
        }
        Reply::Text(text) => vec![json!({"type": "text", "text": text})],
        Reply::ToolUse { name, input } => vec![
            json!({"type": "text", "text": "I will run a command."}),
            json!({"type": "tool_use", "id": next_id(shared, "toolu"), "name": name, "input": input}),
        ],
    };
    let stop_reason = if content.iter().any(|b| b["type"] == "tool_use") {
        "tool_use"
    } else {
        "end_turn"
    };
    let model = body["model"].as_str().unwrap_or("claude-mock");
    // Exact numbers when the prompt asks (`[[usage: ...]]`), else an estimate.
    let directives = main.then(|| Directives::parse(&last_user_text(body)));
    let asked = directives.as_ref().and_then(Directives::usage);
    let write_1h = directives.as_ref().map_or(0, Directives::cache_write_1h);
    let input_tokens = asked.map_or(estimate_tokens(body.to_string().len()), |u| u[0] as usize);
    let output_tokens = asked.map_or(
        estimate_tokens(Value::Array(content.clone()).to_string().len()),
        |u| u[1] as usize,
    );
    let (cache_read, cache_write) = asked.map_or((0, 0), |u| (u[2], u[3]));
    let cache_creation = json!({"ephemeral_5m_input_tokens": cache_write - write_1h,
                                "ephemeral_1h_input_tokens": write_1h});
    let id = next_id(shared, "msg");
    if body["stream"] != true {
        return Response::json(
            200,
            &json!({
                "id": id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                          "cache_creation_input_tokens": cache_write,
                          "cache_creation": cache_creation,
                          "cache_read_input_tokens": cache_read},
            }),
        );
    }
    let mut events = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1,
                          "cache_creation_input_tokens": cache_write,
                          "cache_creation": cache_creation,
                          "cache_read_input_tokens": cache_read},
            }}),
        ),
        ("ping", json!({"type": "ping"})),
    ];
    for (index, block) in content.iter().enumerate() {
        let (start, deltas) = if block["type"] == "tool_use" {
            let mut start = block.clone();
            start["input"] = json!({});
            let input = block["input"].to_string();
            let deltas = pieces(&input, 3)
                .into_iter()
                .map(|p| json!({"type": "input_json_delta", "partial_json": p}))
                .collect::<Vec<_>>();
            (start, deltas)
        } else {
            let text = block["text"].as_str().unwrap_or("");
            let count = text.chars().count().div_ceil(DELTA_CHARS).max(1);
            let deltas = pieces(text, count)
                .into_iter()
                .map(|p| json!({"type": "text_delta", "text": p}))
                .collect();
            (json!({"type": "text", "text": ""}), deltas)
        };
        events.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        for delta in deltas {
            events.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
        }
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
    }
    events.push((
        "message_delta",
        json!({"type": "message_delta",
               "delta": {"stop_reason": stop_reason, "stop_sequence": null},
               "usage": {"output_tokens": output_tokens}}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
    Response::events(
        events
            .into_iter()
            .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
            .collect(),
    )
}

/// Splits `text` into at most `count` non-empty pieces on char boundaries.
fn pieces(text: &str, count: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    let size = chars.len().div_ceil(count.max(1));
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock_http::{read_line, MAX_HEAD};
    use std::io::{BufReader, Read, Write};
    use std::net::TcpStream;
    use std::time::Instant;

    /// A minimal HTTP/1.1 client holding one connection open, to check the mock's wire format.
    struct Client {
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    }

    struct Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Answer {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }

        fn json(&self) -> Value {
            serde_json::from_slice(&self.body).expect("answer body is JSON")
        }

        /// The server-sent events of the body, as (event name, data).
        fn events(&self) -> Vec<(String, Value)> {
            let text = String::from_utf8(self.body.clone()).unwrap();
            text.split("\n\n")
                .filter(|e| !e.trim().is_empty())
                .map(|e| {
                    let name = e.lines().find_map(|l| l.strip_prefix("event: ")).unwrap();
                    let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
                    (name.to_owned(), serde_json::from_str(data).unwrap())
                })
                .collect()
        }
    }

    impl Client {
        fn connect(mock: &MockModel) -> Client {
            let addr = mock.base_url().trim_start_matches("http://").to_owned();
            let conn = TcpStream::connect(addr).unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            Client {
                reader: BufReader::new(conn.try_clone().unwrap()),
                writer: conn,
            }
        }

        fn send(&mut self, method: &str, path: &str, body: Option<&Value>) -> Answer {
            let body = body.map(Value::to_string).unwrap_or_default();
            let head = format!(
                "{method} {path} HTTP/1.1\r\nhost: mock\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            self.writer.write_all(head.as_bytes()).unwrap();
            self.writer.write_all(body.as_bytes()).unwrap();
            self.read_answer(method == "HEAD")
        }

        fn send_chunked(&mut self, path: &str, body: &Value) -> Answer {
            let body = body.to_string();
            let (a, b) = body.split_at(body.len() / 2);
            let wire = format!(
                "POST {path} HTTP/1.1\r\nhost: mock\r\ntransfer-encoding: chunked\r\n\r\n\
                 {:x}\r\n{a}\r\n{:X};ext=1\r\n{b}\r\n0\r\n\r\n",
                a.len(),
                b.len()
            );
            self.writer.write_all(wire.as_bytes()).unwrap();
            self.read_answer(false)
        }

        fn read_answer(&mut self, head_only: bool) -> Answer {
            let status_line = read_line(&mut self.reader, MAX_HEAD).unwrap().unwrap();
            let status = status_line
                .split_whitespace()
                .nth(1)
                .unwrap()
                .parse()
                .unwrap();
            let mut headers = Vec::new();
            loop {
                let line = read_line(&mut self.reader, MAX_HEAD).unwrap().unwrap();
                if line.is_empty() {
                    break;
                }
                let (n, v) = line.split_once(':').unwrap();
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
            let mut answer = Answer {
                status,
                headers,
                body: Vec::new(),
            };
            if head_only {
                return answer;
            }
            if answer.header("transfer-encoding") == Some("chunked") {
                loop {
                    let size = read_line(&mut self.reader, 100).unwrap().unwrap();
                    let size = usize::from_str_radix(&size, 16).unwrap();
                    let mut chunk = vec![0; size + 2];
                    self.reader.read_exact(&mut chunk).unwrap();
                    if size == 0 {
                        break;
                    }
                    answer.body.extend_from_slice(&chunk[..size]);
                }
            } else {
                let len: usize = answer.header("content-length").unwrap().parse().unwrap();
                answer.body.resize(len, 0);
                self.reader.read_exact(&mut answer.body).unwrap();
            }
            answer
        }
    }

    /// A main-turn request body (it has `tools`), with a system reminder before the prompt as
    /// Claude Code sends it.
    fn main_request(prompt: &str, stream: bool) -> Value {
        json!({
            "model": "claude-test-1",
            "max_tokens": 1000,
            "stream": stream,
            "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>\nAs you answer...\n</system-reminder>"},
                {"type": "text", "text": prompt},
            ]}],
        })
    }

    /// Rebuilds the content blocks and stop reason of a streamed message.
    fn assemble(events: &[(String, Value)]) -> (Vec<Value>, String) {
        let mut content: Vec<Value> = Vec::new();
        let mut partial_json = String::new();
        let mut stop_reason = String::new();
        for (name, data) in events {
            assert_eq!(
                data["type"],
                name.as_str(),
                "event name and data type agree"
            );
            match name.as_str() {
                "content_block_start" => content.push(data["content_block"].clone()),
                "content_block_delta" => {
                    let block = content.last_mut().unwrap();
                    match data["delta"]["type"].as_str().unwrap() {
                        "text_delta" => {
                            let text = block["text"].as_str().unwrap().to_owned();
                            block["text"] = json!(text + data["delta"]["text"].as_str().unwrap());
                        }
                        "input_json_delta" => {
                            partial_json.push_str(data["delta"]["partial_json"].as_str().unwrap())
                        }
                        other => panic!("unexpected delta {other}"),
                    }
                }
                "content_block_stop" if !partial_json.is_empty() => {
                    content.last_mut().unwrap()["input"] =
                        serde_json::from_str(&partial_json).unwrap();
                    partial_json.clear();
                }
                "message_delta" => {
                    stop_reason = data["delta"]["stop_reason"].as_str().unwrap().to_owned()
                }
                _ => {}
            }
        }
        (content, stop_reason)
    }

    fn text_of(message_content: &Value) -> String {
        message_content
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect()
    }

    #[test]
    fn answers_preflight_models_and_count_tokens_on_one_connection() {
        let mock = MockModel::start();
        let mut client = Client::connect(&mock);
        let head = client.send("HEAD", "/", None);
        assert_eq!(head.status, 200);
        assert_eq!(client.send("GET", "/", None).status, 200);
        let models = client.send("GET", "/v1/models", None);
        assert_eq!(models.status, 200);
        assert_eq!(models.json()["data"][0]["type"], "model");
        let model = client.send("GET", "/v1/models/claude-x?beta=true", None);
        assert_eq!(model.json()["id"], "claude-x");
        let count = client.send(
            "POST",
            "/v1/messages/count_tokens?beta=true",
            Some(&main_request("count me", false)),
        );
        assert_eq!(count.status, 200);
        assert!(count.json()["input_tokens"].as_u64().unwrap() > 0);
        let missing = client.send("GET", "/v1/nothing", None);
        assert_eq!(missing.status, 404);
        assert_eq!(missing.json()["error"]["type"], "not_found_error");
        assert!(mock.requests().is_empty(), "count_tokens is not a turn");
    }

    #[test]
    fn streams_say_directive_as_server_sent_events() {
        let mock = MockModel::start();
        let mut client = Client::connect(&mock);
        let answer = client.send(
            "POST",
            "/v1/messages?beta=true",
            Some(&main_request(
                "hi [[say: PONG-42 with a longer text to split]]",
                true,
            )),
        );
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), Some("text/event-stream"));
        let events = answer.events();
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[..3], ["message_start", "ping", "content_block_start"]);
        assert_eq!(
            names[names.len() - 3..],
            ["content_block_stop", "message_delta", "message_stop"]
        );
        assert!(
            names
                .iter()
                .filter(|n| **n == "content_block_delta")
                .count()
                > 1
        );
        assert_eq!(events[0].1["message"]["model"], "claude-test-1");
        let (content, stop_reason) = assemble(&events);
        assert_eq!(
            text_of(&json!(content)),
            "PONG-42 with a longer text to split"
        );
        assert_eq!(stop_reason, "end_turn");
        let requests = mock.requests();
        assert_eq!(requests.len(), 1);
        assert!(last_user_text(&requests[0]).contains("hi [[say: PONG-42"));
    }

    #[test]
    fn reads_chunked_request_bodies() {
        let mock = MockModel::start();
        let mut client = Client::connect(&mock);
        let answer = client.send_chunked("/v1/messages", &main_request("[[say: chunky]]", false));
        assert_eq!(answer.status, 200);
        assert_eq!(text_of(&answer.json()["content"]), "chunky");
        // The connection is still usable afterwards.
        let again = client.send(
            "POST",
            "/v1/messages",
            Some(&main_request("[[say: 2]]", false)),
        );
        assert_eq!(text_of(&again.json()["content"]), "2");
    }

    #[test]
    fn bash_directive_asks_for_tool_and_reports_its_result() {
        let mock = MockModel::start();
        let mut client = Client::connect(&mock);
        let first = main_request("run it [[bash: echo HI]]", true);
        let answer = client.send("POST", "/v1/messages?beta=true", Some(&first));
        let (content, stop_reason) = assemble(&answer.events());
        assert_eq!(stop_reason, "tool_use");
        let tool_use = content.iter().find(|b| b["type"] == "tool_use").unwrap();
        assert_eq!(tool_use["name"], "Bash");
        assert_eq!(
            tool_use["input"],
            json!({"command": "echo HI", "description": "mock-requested command"})
        );
        let mut second = first.clone();
        second["stream"] = json!(false);
        let messages = second["messages"].as_array_mut().unwrap();
        messages.push(json!({"role": "assistant", "content": content}));
        messages.push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": tool_use["id"], "content": "HI\n", "is_error": false},
            {"type": "text", "text": "<system-reminder>noise [[say: not me]]</system-reminder>"},
        ]}));
        let answer = client.send("POST", "/v1/messages?beta=true", Some(&second));
        let reply = answer.json();
        assert_eq!(text_of(&reply["content"]), "MOCK: bash finished: HI");
        assert_eq!(reply["stop_reason"], "end_turn");
        assert_eq!(mock.requests().len(), 2);
    }

    #[test]
    fn queue_serves_plain_prompts_and_side_requests_never_consume_it() {
        let mock = MockModel::start();
        mock.push_reply("queued one");
        let mut client = Client::connect(&mock);
        let title = client.send(
            "POST",
            "/v1/messages?beta=true",
            Some(&json!({
                "model": "m", "max_tokens": 10,
                "output_config": {"format": {"type": "json_schema", "schema": {}}},
                "messages": [{"role": "user", "content": "hello there [[error: 500]]"}],
            })),
        );
        assert_eq!(title.status, 200, "side requests ignore directives");
        let title: Value = serde_json::from_str(&text_of(&title.json()["content"])).unwrap();
        assert_eq!(title, json!({"title": "Mock session"}));
        let side = client.send(
            "POST",
            "/v1/messages",
            Some(&json!({"model": "m", "stream": true, "tools": [],
                         "messages": [{"role": "user", "content": "x"}]})),
        );
        assert!(!text_of(&json!(assemble(&side.events()).0)).is_empty());
        assert_eq!(mock.side_requests().len(), 2);
        assert!(mock.requests().is_empty());

        let reply = |client: &mut Client, prompt: &str| {
            let answer = client.send("POST", "/v1/messages", Some(&main_request(prompt, false)));
            text_of(&answer.json()["content"])
        };
        assert_eq!(reply(&mut client, "hello there"), "queued one");
        assert_eq!(
            reply(&mut client, "\nhello again\nsecond line"),
            "MOCK REPLY #1: you said: hello again"
        );
        let long = "x".repeat(200);
        let echoed = reply(&mut client, &long);
        assert!(
            echoed.starts_with("MOCK REPLY #2: you said: xxx"),
            "{echoed}"
        );
        assert!(echoed.len() < 120, "{echoed}");
        assert_eq!(
            reply(
                &mut client,
                "Stop hook feedback:\n[/bin/hook]: keep going [[say: again]]"
            ),
            "again"
        );
        assert_eq!(mock.requests().len(), 4);
    }

    #[test]
    fn error_directive_returns_that_status_without_retry() {
        let mock = MockModel::start();
        let mut client = Client::connect(&mock);
        let answer = client.send(
            "POST",
            "/v1/messages",
            Some(&main_request("[[error: 529]]", true)),
        );
        assert_eq!(answer.status, 529);
        assert_eq!(answer.header("x-should-retry"), Some("false"));
        assert_eq!(answer.json()["type"], "error");
        assert_eq!(answer.json()["error"]["type"], "overloaded_error");
        let answer = client.send(
            "POST",
            "/v1/messages",
            Some(&main_request("[[error: 400]]", false)),
        );
        assert_eq!(answer.status, 400);
        assert_eq!(answer.json()["error"]["type"], "invalid_request_error");
    }

    #[test]
    fn sleep_directive_delays_the_answer_and_wait_request_sees_it_early() {
        let mock = MockModel::start();
        let started = Instant::now();
        let sender = {
            let mut client = Client::connect(&mock);
            std::thread::spawn(move || {
                let body = main_request("[[sleep: 0.5]] [[say: late]]", true);
                let answer = client.send("POST", "/v1/messages", Some(&body));
                (Instant::now(), assemble(&answer.events()).0)
            })
        };
        let request = mock.wait_request(
            |r| last_user_text(r).contains("[[say: late]]"),
            Duration::from_secs(10),
        );
        let seen = Instant::now();
        assert_eq!(request["model"], "claude-test-1");
        let (answered, content) = sender.join().unwrap();
        assert_eq!(text_of(&json!(content)), "late");
        assert!(answered.duration_since(started) >= Duration::from_millis(500));
        assert!(
            seen < answered,
            "the request is logged before the delayed answer"
        );
    }

    #[test]
    #[should_panic(expected = "no matching request")]
    fn wait_request_panics_after_its_deadline() {
        let mock = MockModel::start();
        mock.wait_request(|_| true, Duration::from_millis(100));
    }

    #[test]
    fn drop_closes_idle_connections_and_stops_listening() {
        let mock = MockModel::start();
        let addr = mock.addr;
        let mut idle = Client::connect(&mock);
        assert_eq!(idle.send("GET", "/", None).status, 200);
        let mut sleeping = Client::connect(&mock);
        let sleeper = std::thread::spawn(move || {
            let body = main_request("[[sleep: 60]]", true);
            let head = format!(
                "POST /v1/messages HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}",
                body.to_string().len()
            );
            sleeping.writer.write_all(head.as_bytes()).unwrap();
            let mut rest = Vec::new();
            let _ = sleeping.reader.read_to_end(&mut rest);
        });
        mock.wait_request(|_| true, Duration::from_secs(10));
        let started = Instant::now();
        drop(mock);
        assert!(started.elapsed() < Duration::from_secs(5), "drop is prompt");
        let mut rest = Vec::new();
        assert_eq!(idle.reader.read_to_end(&mut rest).unwrap(), 0, "closed");
        sleeper.join().unwrap();
        assert!(TcpStream::connect(addr).is_err(), "no longer listening");
    }

    #[test]
    fn error_directive_wants_a_status_from_400_to_599() {
        let status = |text: &str| error_status(&Directives::parse(text));
        assert_eq!(status("[[error: 503]]"), Some(503));
        assert_eq!(status("[[error: boom]] [[error: 500]]"), None);
        assert_eq!(status("[[error: 200]]"), None);
        assert_eq!(status("[[error: 600]]"), None);
    }
}
