//! The loopback HTTP plumbing the harness mocks share (Responses API for Codex, Gemini API,
//! Chat Completions for pi): a listener on 127.0.0.1 port 0, a thread per connection running
//! the mock's own `serve`, the request log, deadline waits, and a clean stop on drop.

#![allow(dead_code)]

use serde_json::Value;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
