//! The one loopback HTTP/1.1 server of the model API mocks (Anthropic Messages for Claude Code,
//! Responses for Codex, Gemini, Chat Completions for pi): a listener on 127.0.0.1 port 0, a
//! thread per connection, requests in and [`Response`]s out, the request log, deadline waits,
//! and a stop on drop that closes every connection and joins every thread.

#![allow(dead_code)]

use serde_json::Value;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Largest request head line (request line or header) the server accepts, in bytes.
pub const MAX_HEAD: usize = 64 * 1024;

/// One HTTP request as read by [`read_request`].
pub struct Request {
    pub method: String,
    /// The request target as sent: path and query.
    pub target: String,
    /// The target without its query string.
    pub path: String,
    pub version: String,
    /// Header names in lower case, values trimmed.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client lets the connection stay open after the answer.
    fn keep_alive(&self) -> bool {
        let connection = self.header("connection").unwrap_or("").to_ascii_lowercase();
        if self.version == "HTTP/1.0" {
            connection.contains("keep-alive")
        } else {
            !connection.contains("close")
        }
    }
}

/// Reads one line ending in LF (CRLF tolerated) of at most `limit` bytes, without the line
/// ending; `None` at EOF, `InvalidData` when longer or not UTF-8.
pub fn read_line(reader: &mut impl BufRead, limit: usize) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let n = reader.take(limit as u64).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(bad_data("line too long"));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn bad_data(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// Reads one request: head, then body by `content-length` or chunked (extensions and trailers
/// allowed). Answers `expect: 100-continue` on `writer` first. `None` when the client closed
/// the connection between requests; `InvalidData` for a malformed request.
pub fn read_request(
    reader: &mut impl BufRead,
    writer: &mut impl Write,
) -> io::Result<Option<Request>> {
    let request_line = loop {
        match read_line(reader, MAX_HEAD)? {
            None => return Ok(None),
            // Tolerate stray empty lines between requests (RFC 9112 section 2.2).
            Some(line) if line.is_empty() => continue,
            Some(line) => break line,
        }
    };
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad_data("bad request line"));
    };
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, MAX_HEAD)?.ok_or_else(|| bad_data("eof in headers"))?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').ok_or_else(|| bad_data("bad header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut request = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        path: target.split('?').next().unwrap_or("").to_owned(),
        version: version.to_owned(),
        headers,
        body: Vec::new(),
    };
    if request
        .header("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let size_line = read_line(reader, 1024)?.ok_or_else(|| bad_data("eof in chunk"))?;
            let hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(hex, 16).map_err(|_| bad_data("bad chunk size"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !read_line(reader, MAX_HEAD)?
                    .ok_or_else(|| bad_data("eof in trailers"))?
                    .is_empty()
                {}
                break;
            }
            let start = request.body.len();
            request.body.resize(start + size, 0);
            reader.read_exact(&mut request.body[start..])?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(len) = request.header("content-length") {
        let len: usize = len.parse().map_err(|_| bad_data("bad content-length"))?;
        request.body.resize(len, 0);
        reader.read_exact(&mut request.body)?;
    }
    Ok(Some(request))
}

/// An answer: status, extra headers, and a whole body or server-sent events.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

/// What follows a response's head.
pub enum Body {
    /// A body of `content-type`, sent with its `content-length`.
    Bytes(&'static str, Vec<u8>),
    /// `text/event-stream`: each string is one whole event (`data: ...\n\n` and the like),
    /// written as it comes; chunked on a server that keeps connections open, else up to the
    /// close.
    Events(Vec<String>),
}

impl Response {
    /// `value` as `application/json` with `status`.
    pub fn json(status: u16, value: &Value) -> Response {
        Response::bytes(status, "application/json", value.to_string().into_bytes())
    }

    /// `bytes` of `content_type` with `status`.
    pub fn bytes(status: u16, content_type: &'static str, bytes: Vec<u8>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Bytes(content_type, bytes),
        }
    }

    /// A 200 stream of server-sent `events` (see [`Body::Events`]).
    pub fn events(events: Vec<String>) -> Response {
        Response {
            status: 200,
            headers: Vec::new(),
            body: Body::Events(events),
        }
    }

    /// The same response with the header `name: value` added.
    pub fn with_header(mut self, name: &'static str, value: &str) -> Response {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// The reason phrase of `status`.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    }
}

/// Writes `response` (without body to a `HEAD`); events are chunked when `chunked`.
fn write_response(
    out: &mut TcpStream,
    head_only: bool,
    response: Response,
    keep_alive: bool,
    chunked: bool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(if keep_alive {
        "connection: keep-alive\r\n"
    } else {
        "connection: close\r\n"
    });
    match response.body {
        Body::Bytes(content_type, bytes) => {
            head.push_str(&format!(
                "content-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
                bytes.len()
            ));
            let mut all = head.into_bytes();
            if !head_only {
                all.extend_from_slice(&bytes);
            }
            out.write_all(&all)?;
        }
        Body::Events(events) => {
            head.push_str("content-type: text/event-stream\r\ncache-control: no-cache\r\n");
            if chunked {
                head.push_str("transfer-encoding: chunked\r\n");
            }
            head.push_str("\r\n");
            out.write_all(head.as_bytes())?;
            // Each event written at once, as a real streaming server would.
            for event in events {
                if chunked {
                    out.write_all(format!("{:x}\r\n{event}\r\n", event.len()).as_bytes())?;
                } else {
                    out.write_all(event.as_bytes())?;
                }
            }
            if chunked {
                out.write_all(b"0\r\n\r\n")?;
            }
        }
    }
    out.flush()
}

/// What a mock is: how it answers, and what its CLI is configured with.
pub struct Api<S: 'static = ()> {
    /// Answers one request (it records main and side requests itself).
    pub serve: fn(&Shared<S>, &Request) -> Response,
    /// The path the CLI's base URL ends with (`""`, `"/v1"`).
    pub base: &'static str,
    /// Whether a connection stays open for more requests (as the client asks); else each is
    /// closed after one answer.
    pub keep_alive: bool,
    /// The user's text in a main request body, for the message of a failed
    /// [`MockServer::wait_request`].
    pub user_text: fn(&Value) -> String,
}

/// What a mock's `serve` shares: the records, an id counter, the stop flag, and `state`, the
/// mock's own.
#[derive(Default)]
pub struct Shared<S = ()> {
    stopping: Mutex<bool>,
    stopped: Condvar,
    /// A counter for ids in replies.
    pub ids: AtomicU64,
    /// Bodies of the main (model turn) requests, oldest first.
    pub main: Mutex<Vec<Value>>,
    /// Bodies of side requests (titles and the like).
    pub side: Mutex<Vec<Value>>,
    /// `METHOD TARGET` of every request, recorded by the server.
    pub log: Mutex<Vec<String>>,
    /// The provider's limit the mock answers with for a while ([`MockServer::limit`]).
    pub limit: Mutex<Option<Limit>>,
    /// How many requests the limit answered.
    pub limited: AtomicU64,
    /// The mock's own state.
    pub state: S,
}

/// A provider's limit answered for a time window.
pub struct Limit {
    /// When it lifts.
    pub until: Instant,
    /// The answer, given the time left until it lifts (a mock's answer as its provider's).
    pub answer: fn(Duration) -> Response,
}

/// Locks `mutex`; a panic elsewhere (say in a test thread) must not make the mock unusable
/// or turn a drop into a double panic.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S> Shared<S> {
    /// The limit's answer while a limit is on ([`MockServer::limit`]), counted; a mock's
    /// `serve` asks before it answers a model request.
    pub fn limit_answer(&self) -> Option<Response> {
        let limit = lock(&self.limit);
        let left = limit
            .as_ref()?
            .until
            .checked_duration_since(Instant::now())?;
        self.limited.fetch_add(1, Ordering::SeqCst);
        Some((limit.as_ref()?.answer)(left))
    }

    /// Whether the server is being dropped.
    pub fn stopping(&self) -> bool {
        *lock(&self.stopping)
    }

    /// Sleeps for `duration`, or less if the server is being dropped.
    pub fn sleep(&self, duration: Duration) {
        let deadline = Instant::now() + duration;
        let mut stopping = lock(&self.stopping);
        while !*stopping {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            stopping = self
                .stopped
                .wait_timeout(stopping, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// The open connections (clones, for the drop to shut them) and their threads.
#[derive(Default)]
struct Conns {
    next: usize,
    open: HashMap<usize, TcpStream>,
    workers: Vec<JoinHandle<()>>,
}

/// What the server's threads share.
struct Server<S: 'static> {
    api: Api<S>,
    shared: Shared<S>,
    conns: Mutex<Conns>,
}

/// A running mock server; stopped on drop: it stops accepting, closes open connections (a
/// [`Shared::sleep`] in progress returns) and joins its threads.
pub struct MockServer<S: 'static = ()> {
    /// Where it listens.
    pub addr: SocketAddr,
    server: Arc<Server<S>>,
    acceptor: Option<JoinHandle<()>>,
}

impl<S: Default + Send + Sync + 'static> MockServer<S> {
    /// Starts a server for `api` on a free loopback port.
    pub fn start(api: Api<S>) -> MockServer<S> {
        let listener = TcpListener::bind("127.0.0.1:0").expect("mock: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("mock: local address");
        let server = Arc::new(Server {
            api,
            shared: Shared::default(),
            conns: Mutex::new(Conns::default()),
        });
        let acceptor = {
            let server = Arc::clone(&server);
            std::thread::Builder::new()
                .name("mock-accept".into())
                .spawn(move || accept_loop(&server, &listener))
                .expect("mock: spawn acceptor")
        };
        MockServer {
            addr,
            server,
            acceptor: Some(acceptor),
        }
    }
}

impl<S> MockServer<S> {
    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The base URL to configure the CLI with.
    pub fn base_url(&self) -> String {
        self.url(self.server.api.base)
    }

    /// The mock's own state.
    pub fn state(&self) -> &S {
        &self.server.shared.state
    }

    /// Answers every model request with `answer` (given the time left) for `window` from
    /// now, as the provider answers an account over its limit; `Duration::ZERO` lifts it.
    pub fn limit(&self, window: Duration, answer: fn(Duration) -> Response) {
        *lock(&self.server.shared.limit) = Some(Limit {
            until: Instant::now() + window,
            answer,
        });
    }

    /// How many requests the limit answered.
    pub fn limited(&self) -> u64 {
        self.server.shared.limited.load(Ordering::SeqCst)
    }

    /// Bodies of the main requests so far.
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.server.shared.main).clone()
    }

    /// Bodies of the side requests so far.
    pub fn side_requests(&self) -> Vec<Value> {
        lock(&self.server.shared.side).clone()
    }

    /// `METHOD TARGET` of every request so far.
    pub fn log(&self) -> Vec<String> {
        lock(&self.server.shared.log).clone()
    }

    /// Waits for a main request whose body satisfies `pred` (or returns the first that already
    /// did); panics after `timeout`, with the user text of each main request and the log.
    pub fn wait_request(&self, pred: impl Fn(&Value) -> bool, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if let Some(body) = requests.into_iter().find(|b| pred(b)) {
                return body;
            }
            if Instant::now() >= deadline {
                let seen: Vec<String> = self
                    .requests()
                    .iter()
                    .map(|r| (self.server.api.user_text)(r).chars().take(120).collect())
                    .collect();
                panic!(
                    "mock: no matching request within {timeout:?}; user texts of the {} main \
                     requests received: {seen:#?}\nrequests: {:?}",
                    seen.len(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl<S> Drop for MockServer<S> {
    fn drop(&mut self) {
        *lock(&self.server.shared.stopping) = true;
        self.server.shared.stopped.notify_all();
        // Wake the acceptor, blocked in `accept`, so that it sees the stop and returns.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let conns = std::mem::take(&mut *lock(&self.server.conns));
        for conn in conns.open.values() {
            let _ = conn.shutdown(Shutdown::Both);
        }
        for worker in conns.workers {
            let _ = worker.join();
        }
    }
}

fn accept_loop<S: Send + Sync + 'static>(server: &Arc<Server<S>>, listener: &TcpListener) {
    for conn in listener.incoming() {
        if server.shared.stopping() {
            return;
        }
        let Ok(conn) = conn else {
            // Say out of file descriptors: do not spin.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let Ok(clone) = conn.try_clone() else {
            continue;
        };
        let mut conns = lock(&server.conns);
        conns.workers.retain(|w| !w.is_finished());
        let id = conns.next;
        conns.next += 1;
        conns.open.insert(id, clone);
        let worker = {
            let server = Arc::clone(server);
            std::thread::Builder::new()
                .name(format!("mock-conn-{id}"))
                .spawn(move || {
                    let _ = serve_connection(&server, conn);
                    lock(&server.conns).open.remove(&id);
                })
        };
        match worker {
            Ok(worker) => conns.workers.push(worker),
            Err(_) => {
                conns.open.remove(&id);
            }
        }
    }
}

/// Answers the requests of one connection until the client, the mock or the stop closes it.
fn serve_connection<S>(server: &Server<S>, conn: TcpStream) -> io::Result<()> {
    conn.set_nodelay(true)?;
    let mut writer = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    loop {
        let Some(request) = read_request(&mut reader, &mut writer)? else {
            return Ok(());
        };
        lock(&server.shared.log).push(format!("{} {}", request.method, request.target));
        let response = (server.api.serve)(&server.shared, &request);
        let keep_alive = server.api.keep_alive && request.keep_alive() && !server.shared.stopping();
        let head_only = request.method == "HEAD";
        write_response(
            &mut writer,
            head_only,
            response,
            keep_alive,
            server.api.keep_alive,
        )?;
        if !keep_alive {
            let _ = writer.shutdown(Shutdown::Both);
            return Ok(());
        }
    }
}

/// Declares a mock type over [`MockServer`]: `mock_type!(/// docs Name, State, API)` gives
/// `Name::start()` and, through `Deref`, every [`MockServer`] method (`base_url`, `requests`,
/// `log`, `wait_request`...); `State` is the mock's own state (`()` for none), `API` its
/// [`Api`].
macro_rules! mock_type {
    ($(#[$doc:meta])* $name:ident, $state:ty, $api:expr) => {
        $(#[$doc])*
        pub struct $name($crate::mock_http::MockServer<$state>);

        impl std::ops::Deref for $name {
            type Target = $crate::mock_http::MockServer<$state>;
            fn deref(&self) -> &$crate::mock_http::MockServer<$state> {
                &self.0
            }
        }

        impl $name {
            /// Starts the mock on a free loopback port.
            pub fn start() -> $name {
                $name($crate::mock_http::MockServer::start($api))
            }
        }
    };
}
pub(crate) use mock_type;
