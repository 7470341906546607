//! A mock of the Gemini API on 127.0.0.1 (port 0) for driving the real Gemini CLI offline
//! (`GOOGLE_GEMINI_BASE_URL`; std + serde_json only).
//!
//! `POST /v1beta/models/<model>:streamGenerateContent?alt=sse` answers with one SSE `data:`
//! chunk: `candidates[0].content.parts[0].text` and `finishReason: "STOP"`, which is what Gemini
//! CLI 0.61 needs (shared/reference/harnesses/observed.md). The reply is `X` from a
//! `[[say: X]]` in the last user text, else `echo: <text>`. `:generateContent` (the CLI's side
//! requests, e.g. summarising the session) gets the same reply as plain JSON and is logged
//! apart; `:countTokens` a count; `GET /v1beta/models` an empty list; anything else a 404.

#![allow(dead_code)]

use crate::mock_openai::{read_request, reply_to, write_json};
use serde_json::{json, Value};
use std::io::{self, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running mock; stopped on drop.
pub struct MockGemini {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// Bodies of `streamGenerateContent` requests, oldest first.
    main: Mutex<Vec<Value>>,
    /// Bodies of `generateContent` requests.
    side: Mutex<Vec<Value>>,
    /// `METHOD PATH` of every request.
    log: Mutex<Vec<String>>,
}

impl MockGemini {
    /// Starts the mock on a free loopback port.
    pub fn start() -> MockGemini {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let accept = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if accept.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let shared = Arc::clone(&accept);
                std::thread::spawn(move || {
                    let _ = serve(&shared, conn);
                });
            }
        });
        MockGemini {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// The value for `GOOGLE_GEMINI_BASE_URL`: `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bodies of the `streamGenerateContent` requests so far.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.main.lock().unwrap().clone()
    }

    /// `METHOD PATH` of every request so far.
    pub fn log(&self) -> Vec<String> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Waits for a `streamGenerateContent` request whose body satisfies `pred`.
    pub fn wait_request(&self, pred: impl Fn(&Value) -> bool, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(body) = self.requests().into_iter().find(|b| pred(b)) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "no matching request; seen: {:?}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for MockGemini {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

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

/// One `GenerateContentResponse` carrying `text`.
fn response(text: &str) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                          "totalTokenCount": 15},
        "modelVersion": "gemini-2.5-flash",
    })
}

fn serve(shared: &Shared, conn: TcpStream) -> io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let request = read_request(&mut reader)?;
    let mut out = conn;
    shared
        .log
        .lock()
        .unwrap()
        .push(format!("{} {}", request.method, request.path));
    let path = request.path.split('?').next().unwrap_or("");
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let method = path.rsplit_once(':').map_or("", |(_, m)| m);
    match (request.method.as_str(), method) {
        ("POST", "streamGenerateContent") => {
            let text = reply_to(&last_user_text(&body));
            shared.main.lock().unwrap().push(body);
            write!(
                out,
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
                 connection: close\r\n\r\ndata: {}\r\n\r\n",
                response(&text)
            )?;
            out.flush()
        }
        ("POST", "generateContent") => {
            let text = reply_to(&last_user_text(&body));
            shared.side.lock().unwrap().push(body);
            write_json(&mut out, 200, &response(&text))
        }
        ("POST", "countTokens") => write_json(&mut out, 200, &json!({"totalTokens": 10})),
        ("GET", _) if path.starts_with("/v1beta/models") => {
            write_json(&mut out, 200, &json!({"models": []}))
        }
        _ => write_json(
            &mut out,
            404,
            &json!({"error": {"code": 404, "message": format!("no route {} {path}",
                request.method)}}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

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
}
