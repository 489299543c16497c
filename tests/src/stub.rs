//! A recording HTTP stub for the awsJson1.1 services no emulator has
//! (CodeDeploy, CodePipeline).
//!
//! [`RecordingStub`] listens on a free loopback port, answers each request from
//! a table keyed by operation name (the part of `X-Amz-Target` after the last
//! `.`), `200 {}` by default, and records every request for the test to assert
//! on. Answers can be changed while it runs. It serves HTTP/1.1 with keep-alive
//! on plain threads, one per connection, and stops on drop.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use aws_config::SdkConfig;
use serde_json::{json, Value};

/// One request the stub received.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// The `X-Amz-Target` header, e.g. `CodeDeploy_20141006.GetDeployment`.
    pub target: String,
    /// The JSON body (`null` when empty or not JSON).
    pub body: Value,
}

impl Recorded {
    /// The operation name: the part of the target after the last `.`.
    pub fn operation(&self) -> &str {
        operation(&self.target)
    }
}

#[derive(Default)]
struct State {
    answers: HashMap<String, (u16, Value)>,
    requests: Vec<Recorded>,
    connections: Vec<TcpStream>,
}

struct Shared {
    state: Mutex<State>,
    stopping: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the stub's recordings.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running stub; see the module docs.
pub struct RecordingStub {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl RecordingStub {
    /// Starts a stub answering `(operation, status, body)` from `answers`.
    pub fn start<'a>(answers: impl IntoIterator<Item = (&'a str, u16, Value)>) -> RecordingStub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stub's port");
        let port = listener.local_addr().expect("stub address").port();
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            stopping: AtomicBool::new(false),
        });
        let mut stub = RecordingStub {
            port,
            shared: Arc::clone(&shared),
            acceptor: None,
        };
        for (op, status, body) in answers {
            stub.respond(op, status, body);
        }
        stub.acceptor = Some(
            thread::Builder::new()
                .name(format!("stub-{port}"))
                .spawn(move || accept_loop(&listener, &shared))
                .expect("spawn the stub's thread"),
        );
        stub
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SDK configuration pointing at this stub (see [`crate::sdk_config`]).
    pub fn sdk_config(&self) -> SdkConfig {
        crate::sdk_config(&self.endpoint())
    }

    /// The variable pointing one service of the SDK's default chain here, e.g.
    /// `env_for("CODEDEPLOY")` → `AWS_ENDPOINT_URL_CODEDEPLOY=http://…`.
    pub fn env_for(&self, service: &str) -> (String, String) {
        (
            format!("AWS_ENDPOINT_URL_{}", service.to_ascii_uppercase()),
            self.endpoint(),
        )
    }

    /// From now on, answer `operation` with `status` and the JSON `body`.
    pub fn respond(&self, operation: &str, status: u16, body: Value) {
        self.shared
            .lock()
            .answers
            .insert(operation.to_owned(), (status, body));
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// The bodies of the requests for `operation` so far, in arrival order.
    pub fn calls(&self, operation: &str) -> Vec<Value> {
        let state = self.shared.lock();
        state
            .requests
            .iter()
            .filter(|r| r.operation() == operation)
            .map(|r| r.body.clone())
            .collect()
    }

    /// Forgets the recorded requests (answers are kept).
    pub fn clear(&self) {
        self.shared.lock().requests.clear();
    }
}

impl Drop for RecordingStub {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the acceptor, then unblock every connection thread.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for connection in self.shared.lock().connections.drain(..) {
            let _ = connection.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        if let Ok(clone) = stream.try_clone() {
            shared.lock().connections.push(clone);
        }
        let shared = Arc::clone(shared);
        let _ = thread::Builder::new()
            .name("stub-connection".into())
            .spawn(move || {
                if let Err(e) = serve_connection(stream, &shared) {
                    if !shared.stopping.load(Ordering::SeqCst) {
                        eprintln!("recording stub: connection error: {e}");
                    }
                }
            });
    }
}

/// Serves requests on one connection until the client closes it.
fn serve_connection(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader)? {
        let (status, body) = answer(shared, request);
        let body = body.to_string();
        write!(
            writer,
            "HTTP/1.1 {status} {}\r\nContent-Type: application/x-amz-json-1.1\r\n\
             Content-Length: {}\r\nx-amzn-RequestId: stub-request\r\n\r\n{body}",
            reason(status),
            body.len()
        )?;
        writer.flush()?;
    }
    Ok(())
}

fn answer(shared: &Shared, request: Recorded) -> (u16, Value) {
    let mut state = shared.lock();
    let reply = state.answers.get(request.operation()).cloned();
    state.requests.push(request);
    reply.unwrap_or((200, json!({})))
}

/// Reads one request (headers and a `Content-Length` or chunked body);
/// `None` when the client closed the connection between requests.
fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Recorded>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let (mut target, mut length, mut chunked) = (String::new(), 0usize, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "x-amz-target" => target = value.to_owned(),
            "content-length" => length = value.parse().map_err(invalid)?,
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let body = if chunked {
        read_chunked(reader)?
    } else {
        read_exact_vec(reader, length)?
    };
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok(Some(Recorded { target, body }))
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size_hex = line.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size_hex, 16).map_err(invalid)?;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                    return Ok(body);
                }
            }
        }
        body.extend(read_exact_vec(reader, size)?);
        line.clear();
        reader.read_line(&mut line)?; // CRLF after the chunk
    }
}

fn read_exact_vec(reader: &mut impl Read, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; len];
    reader.read_exact(&mut buf)?;
    Ok(buf)
}

fn invalid(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

fn operation(target: &str) -> &str {
    target.rsplit('.').next().unwrap_or(target)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Stub",
    }
}
