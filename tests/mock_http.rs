//! The loopback HTTP plumbing the harness mocks share (Responses API for Codex, Gemini API,
//! Chat Completions for pi): a listener on 127.0.0.1 port 0, a thread per connection running
//! the mock's own `serve`, the request log, deadline waits, and a clean stop on drop.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{self, BufRead, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One HTTP request as read by [`read_request`].
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Reads one HTTP/1.1 request (body by `content-length`, or chunked).
pub fn read_request(reader: &mut impl BufRead) -> io::Result<Request> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    Ok(Request {
        method,
        path,
        headers,
        body,
    })
}

/// Writes a JSON response with `status` and closes the exchange.
pub fn write_json(out: &mut impl Write, status: u16, value: &Value) -> io::Result<()> {
    let body = value.to_string();
    let reason = if status == 200 { "OK" } else { "Not Found" };
    write!(
        out,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    )?;
    out.flush()
}

/// Writes the head of a server-sent-events response (the events follow, then the close).
pub fn write_sse_head(out: &mut impl Write) -> io::Result<()> {
    write!(
        out,
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
         connection: close\r\n\r\n"
    )
}

/// What a mock's `serve` records.
#[derive(Default)]
pub struct Shared {
    pub stop: AtomicBool,
    /// A counter for ids in replies.
    pub ids: AtomicU64,
    /// Bodies of the main (model turn) requests, oldest first.
    pub main: Mutex<Vec<Value>>,
    /// Bodies of side requests (titles and the like).
    pub side: Mutex<Vec<Value>>,
    /// `METHOD PATH` of every request.
    pub log: Mutex<Vec<String>>,
}

/// A running mock server; stopped on drop.
pub struct MockServer {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockServer {
    /// Starts a server on a free loopback port that answers each connection with `serve`.
    pub fn start(serve: fn(&Shared, TcpStream) -> io::Result<()>) -> MockServer {
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
        MockServer {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Bodies of the main requests so far.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.main.lock().unwrap().clone()
    }

    /// Bodies of the side requests so far.
    pub fn side_requests(&self) -> Vec<Value> {
        self.shared.side.lock().unwrap().clone()
    }

    /// `METHOD PATH` of every request so far.
    pub fn log(&self) -> Vec<String> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Waits for a main request whose body satisfies `pred`; panics with the log on timeout.
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

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Declares a mock type over [`MockServer`]: `mock_type!(Name, serve_fn, "/base/path")` gives
/// `Name::start()`, `Name::base_url()` (the URL to configure the CLI with) and, through
/// `Deref`, every [`MockServer`] method (`requests`, `log`, `wait_request`...).
macro_rules! mock_type {
    ($name:ident, $serve:path, $base:expr) => {
        /// A running mock; stopped on drop.
        pub struct $name($crate::mock_http::MockServer);

        impl std::ops::Deref for $name {
            type Target = $crate::mock_http::MockServer;
            fn deref(&self) -> &$crate::mock_http::MockServer {
                &self.0
            }
        }

        impl $name {
            /// Starts the mock on a free loopback port.
            pub fn start() -> $name {
                $name($crate::mock_http::MockServer::start($serve))
            }

            /// The base URL to configure the CLI with.
            pub fn base_url(&self) -> String {
                self.0.url($base)
            }
        }
    };
}
pub(crate) use mock_type;
