//! A mock of the Gemini API on 127.0.0.1 (port 0) for driving the real Gemini CLI offline
//! (`GOOGLE_GEMINI_BASE_URL`; std + serde_json only).
//!
//! `POST /v1beta/models/<model>:streamGenerateContent?alt=sse` answers with one SSE `data:`
//! chunk: `candidates[0].content.parts[0].text` and `finishReason: "STOP"`, which is what Gemini
//! CLI 0.61 needs (docs/observed.md, 3.2). The reply is `X` from a
//! `[[say: X]]` in the last user text, else `echo: <text>`; a `[[bash: CMD]]` there is answered
//! with a call of `run_shell_command` instead, and the call's response with the text
//! `tool said: <response>`. Each reply reports 10 prompt and 5 candidate tokens in its
//! `usageMetadata`, or what a `[[usage: IN OUT CACHE_READ CACHE_WRITE]]` in the last user text
//! asks: `promptTokenCount` IN + CACHE_READ (Gemini counts the cached tokens in the prompt),
//! `cachedContentTokenCount` CACHE_READ, `candidatesTokenCount` OUT; CACHE_WRITE has no
//! field there and is left out. `:generateContent` (the CLI's side
//! requests, e.g. summarising the session) gets the same reply as plain JSON and is logged
//! apart; `:countTokens` a count; while a limit is on
//! ([`crate::mock_http::MockServer::limit`]), both generate calls get it instead
//! ([`quota`]); `GET /v1beta/models` an empty list; anything else a 404.

#![allow(dead_code)]

use crate::mock_http::{lock, Api, Request, Response, Shared};
use crate::mock_openai::reply_to;
use orch_sim::directive::Directives;
use serde_json::{json, Value};

crate::mock_http::mock_type!(
    /// A running mock Gemini API for Gemini CLI; stopped on drop.
    MockGemini,
    (),
    Api {
        serve,
        base: "",
        keep_alive: false,
        user_text: last_user_text,
    }
);

/// The text of the last `user` content of a Gemini request body (its `text` parts joined), or
/// `""`.
pub fn last_user_text(body: &Value) -> String {
    let contents = body["contents"].as_array().cloned().unwrap_or_default();
    contents
        .iter()
        .rev()
        .filter(|c| c["role"].as_str().unwrap_or("user") == "user")
        .map(|c| {
            c["parts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .find(|text| !text.is_empty())
        .unwrap_or_default()
}

/// The answer to a streamed request: `tool said: ...` after a function response, a
/// `run_shell_command` call for `[[bash: CMD]]`, else [`reply_to`] as text.
fn answer(body: &Value) -> Value {
    let last_parts = body["contents"]
        .as_array()
        .and_then(|c| c.last())
        .and_then(|c| c["parts"].as_array())
        .cloned()
        .unwrap_or_default();
    if let Some(done) = last_parts
        .iter()
        .find(|p| p.get("functionResponse").is_some())
    {
        return json!({"text": format!("tool said: {}", done["functionResponse"]["response"])});
    }
    let prompt = last_user_text(body);
    match Directives::parse(&prompt).bash() {
        Some(command) => json!({"functionCall": {"name": "run_shell_command",
                                                 "args": {"command": command}}}),
        None => json!({"text": reply_to(&prompt)}),
    }
}

/// The `usageMetadata` of a reply to `prompt`: its `[[usage: ...]]`, else 10 prompt and 5
/// candidate tokens.
fn usage_metadata(prompt: &str) -> Value {
    let [input, output, cache_read, _] = Directives::parse(prompt).usage().unwrap_or([10, 5, 0, 0]);
    let mut usage = json!({"promptTokenCount": input + cache_read,
                           "candidatesTokenCount": output,
                           "totalTokenCount": input + cache_read + output});
    if cache_read > 0 {
        usage["cachedContentTokenCount"] = json!(cache_read);
    }
    usage
}

/// One `GenerateContentResponse` carrying `part`, with the usage asked in `prompt`.
fn with_part(part: Value, prompt: &str) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [part]},
                        "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage_metadata(prompt),
        "modelVersion": "gemini-2.5-flash",
    })
}

/// How the Gemini API answers a key over its per-minute quota, the quota `left` from
/// lifting: 429 `RESOURCE_EXHAUSTED` with a `QuotaFailure` and a `RetryInfo` whose
/// `retryDelay` is the seconds left.
pub fn quota(left: std::time::Duration) -> Response {
    let seconds = left.as_millis().div_ceil(1000);
    Response::json(
        429,
        &json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": format!("You exceeded your current quota, please check your plan and \
                billing details. Please retry in {seconds}s."),
            "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                    "quotaValue": "10"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                 "retryDelay": format!("{seconds}s")}]}}),
    )
}

/// How the Gemini API answers a key over its daily quota: 429 `RESOURCE_EXHAUSTED` with a
/// `QuotaFailure` whose `quotaId` names a day (`...PerDay...`), which Gemini CLI 0.61 takes
/// for a quota it cannot wait out (`TerminalQuotaError`: "You have exhausted your daily quota
/// on this model."), and a `RetryInfo` of the time `left`.
pub fn daily_quota(left: std::time::Duration) -> Response {
    let seconds = left.as_millis().div_ceil(1000);
    Response::json(
        429,
        &json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": format!("You exceeded your current quota, please check your plan and \
                billing details. Please retry in {seconds}s."),
            "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                    "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                    "quotaValue": "250"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                 "retryDelay": format!("{seconds}s")}]}}),
    )
}

fn serve(shared: &Shared, request: &Request) -> Response {
    let path = request.path.as_str();
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let method = path.rsplit_once(':').map_or("", |(_, m)| m);
    if matches!(method, "streamGenerateContent" | "generateContent") {
        if let Some(limited) = shared.limit_answer() {
            return limited;
        }
    }
    match (request.method.as_str(), method) {
        ("POST", "streamGenerateContent") => {
            let part = answer(&body);
            let reply = with_part(part, &last_user_text(&body));
            lock(&shared.main).push(body);
            Response::events(vec![format!("data: {reply}\r\n\r\n")])
        }
        ("POST", "generateContent") => {
            let prompt = last_user_text(&body);
            let reply = with_part(json!({"text": reply_to(&prompt)}), &prompt);
            lock(&shared.side).push(body);
            Response::json(200, &reply)
        }
        ("POST", "countTokens") => Response::json(200, &json!({"totalTokens": 10})),
        ("GET", _) if path.starts_with("/v1beta/models") => {
            Response::json(200, &json!({"models": []}))
        }
        _ => Response::json(
            404,
            &json!({"error": {"code": 404, "message": format!("no route {} {path}",
                request.method)}}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    #[test]
    fn serves_a_gemini_stream() {
        let mock = MockGemini::start();
        let mut conn = TcpStream::connect(mock.addr).unwrap();
        let body = json!({"contents": [
            {"role": "user", "parts": [{"text": "x [[say: OK]]"}]},
        ]})
        .to_string();
        write!(
            conn,
            "POST /v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse HTTP/1.1\r\n\
             host: x\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"));
        assert!(answer.contains("data: {"));
        assert!(answer.contains("\"text\":\"OK\""));
        assert_eq!(mock.requests().len(), 1);
    }

    #[test]
    fn usage_directive_counts_the_cache_in_the_prompt() {
        assert_eq!(
            usage_metadata("x [[usage: 700 30 200 9]]"),
            json!({"promptTokenCount": 900, "cachedContentTokenCount": 200,
                   "candidatesTokenCount": 30, "totalTokenCount": 930})
        );
        assert_eq!(usage_metadata("x")["promptTokenCount"], 10);
    }
}
