//! A fault-injecting HTTP proxy between our binaries and their AWS endpoint.
//!
//! [`FaultProxy`] listens on a free loopback port and forwards every request,
//! unchanged (`Host` included: SigV4 signs it), to an upstream base URL:
//! ministack or the recording stub. Pointing `AWS_ENDPOINT_URL` or one
//! service's `AWS_ENDPOINT_URL_<SERVICE>` at [`FaultProxy::url`] puts it in the
//! path of the CLI and of the functions ministack runs. It recognises each
//! request's AWS service and operation (module `protocol`) and, by the rules a test
//! sets, answers with a [`Fault`] instead: throttling or a 5xx in that
//! protocol's own shape, a dropped connection, an answer lost after the call
//! went through, latency, or an answer of the test's own. [`FaultProxy::log`] lists every call with its
//! fault and status. Plain threads, one per connection, HTTP/1.1 keep-alive to
//! the client, a fresh upstream connection per request; it stops on drop.

mod http;
mod protocol;
mod rules;
#[cfg(test)]
mod samples;

pub use rules::Matcher;

/// A CBOR body for [`Fault::Answer`] to a CloudWatch call, from its JSON shape; timestamps
/// are given as `{"$time": seconds}`. Leaked: a canned answer lives as long as the test.
pub fn cbor(json: serde_json::Value) -> &'static [u8] {
    fn value(json: serde_json::Value) -> ciborium::Value {
        use ciborium::Value as C;
        use serde_json::Value as J;
        match json {
            J::Object(map) if map.contains_key("$time") => C::Tag(
                1,
                Box::new(C::Integer(map["$time"].as_i64().unwrap_or(0).into())),
            ),
            J::Object(map) => C::Map(
                map.into_iter()
                    .map(|(k, v)| (C::Text(k), value(v)))
                    .collect(),
            ),
            J::Array(items) => C::Array(items.into_iter().map(value).collect()),
            J::String(s) => C::Text(s),
            J::Number(n) if n.is_i64() => C::Integer(n.as_i64().unwrap_or(0).into()),
            J::Number(n) => C::Float(n.as_f64().unwrap_or(f64::NAN)),
            J::Bool(b) => C::Bool(b),
            J::Null => C::Null,
        }
    }
    let mut out = Vec::new();
    ciborium::into_writer(&value(json), &mut out).expect("CBOR encodes");
    Box::leak(out.into_boxed_slice())
}

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use http::{forward, header, read_body, read_head, write_answer, Head};
use protocol::{ErrorKind, Protocol};
use rules::Rules;

/// What the proxy does to a call instead of, or around, forwarding it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The service's own throttling error; the call never reaches upstream.
    Throttle,
    /// This 5xx status with the service's error body; never reaches upstream.
    ServerError(u16),
    /// The request is read, then the connection closed unanswered.
    Drop,
    /// Forwarded and answered upstream, then the connection closed instead of
    /// the answer: the call went through, its answer is lost.
    LoseAnswer,
    /// Forwarded after this long.
    Delay(Duration),
    /// Answered here, as the service would: this status and this body, in the service's own
    /// encoding (JSON for Lambda, CBOR for CloudWatch: see [`cbor`]). Never reaches upstream;
    /// what an emulator cannot be made to say: a provisioned-concurrency allocation still
    /// `IN_PROGRESS`, a GetMetricData result CloudWatch could not finish.
    Answer(u16, &'static [u8]),
}

/// A request as the proxy read it, with its AWS service and operation.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// In order, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The signing name: `lambda`, `monitoring`, `sns`, `sqs`, `states`, `events`,
    /// `codedeploy`, `codepipeline`, `logs`.
    pub service: String,
    /// E.g. `UpdateAlias`; `Lambda:GET /2099-01-01/x` for a Lambda route not in the table.
    pub operation: String,
    protocol: Protocol,
}

impl Request {
    fn new(method: &str, target: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> Request {
        let mut request = Request {
            method: method.to_owned(),
            target: target.to_owned(),
            headers,
            body,
            service: String::new(),
            operation: String::new(),
            protocol: Protocol::RestJson,
        };
        (request.service, request.operation, request.protocol) = protocol::recognise(&request);
        request
    }

    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(&self.target, |(path, _)| path)
    }

    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, query)| query)
    }

    pub fn body_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// One call the proxy saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub service: String,
    pub operation: String,
    pub fault: Option<Fault>,
    /// The answer's status: the injected error's, else upstream's (also when
    /// [`Fault::LoseAnswer`] kept it from the client; 502 when upstream failed);
    /// `None` without an answer ([`Fault::Drop`], or still in flight).
    pub status: Option<u16>,
}

#[derive(Default)]
struct State {
    rules: Rules,
    /// Calls by id, in arrival order.
    log: Vec<(u64, Call)>,
    next_id: u64,
    connections: HashMap<u64, TcpStream>,
}

struct Shared {
    upstream: String,
    state: Mutex<State>,
    stopping: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the log.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Picks the call's fault and logs the call.
    fn decide(&self, request: &Request) -> (u64, Option<Fault>) {
        let mut state = self.lock();
        let fault = state.rules.pick(request);
        state.next_id += 1;
        let id = state.next_id;
        let call = Call {
            service: request.service.clone(),
            operation: request.operation.clone(),
            fault,
            status: None,
        };
        state.log.push((id, call));
        (id, fault)
    }

    fn record(&self, id: u64, status: u16) {
        if let Some((_, call)) = self.lock().log.iter_mut().rev().find(|(i, _)| *i == id) {
            call.status = Some(status);
        }
    }
}

/// A running proxy; see the module docs.
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy forwarding to `upstream`, e.g. `http://127.0.0.1:4566`.
    pub fn start(upstream: &str) -> FaultProxy {
        let authority = upstream
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("the fault proxy forwards to http:// only, not {upstream}"))
            .split('/')
            .next()
            .unwrap_or_default();
        let authority = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy's port");
        let port = listener.local_addr().expect("fault proxy address").port();
        let shared = Arc::new(Shared {
            upstream: authority,
            state: Mutex::default(),
            stopping: AtomicBool::new(false),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("fault-proxy-{port}"))
                .spawn(move || accept_loop(&listener, &shared))
                .expect("spawn the fault proxy's thread")
        };
        FaultProxy {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The variable pointing one service of the SDK's default chain here, e.g.
    /// `env_for("LAMBDA")` → `AWS_ENDPOINT_URL_LAMBDA=http://…`.
    pub fn env_for(&self, service: &str) -> (String, String) {
        let name = format!("AWS_ENDPOINT_URL_{}", service.to_ascii_uppercase());
        (name, self.url())
    }

    /// The next `times` calls `matcher` selects get `fault`. Rules apply in
    /// the order given, each until used up, and before the random mode.
    pub fn fail(&self, matcher: impl Into<Matcher>, fault: Fault, times: usize) {
        self.shared.lock().rules.fail(matcher.into(), fault, times);
    }

    /// From now on, `rate` (0 to 1) of the calls `matcher` selects get a fault
    /// drawn from `faults`, by a generator seeded with `seed`: the same
    /// sequence of calls gets the same faults. `max_consecutive` caps the
    /// faults in a row on one operation (`Some(2)`: flaky; `None`: an outage
    /// may last). Replaces an earlier random mode.
    pub fn random(
        &self,
        seed: u64,
        rate: f64,
        faults: &[Fault],
        matcher: impl Into<Matcher>,
        max_consecutive: Option<u32>,
    ) {
        let matcher = matcher.into();
        let mut state = self.shared.lock();
        state
            .rules
            .random(seed, rate, faults, matcher, max_consecutive);
    }

    /// Stops injecting: forgets the rules and the random mode (not the log).
    pub fn clear(&self) {
        self.shared.lock().rules.clear();
    }

    /// Every call so far, in arrival order.
    pub fn log(&self) -> Vec<Call> {
        self.shared
            .lock()
            .log
            .iter()
            .map(|(_, call)| call.clone())
            .collect()
    }

    /// Forgets the calls logged so far.
    pub fn clear_log(&self) {
        self.shared.lock().log.clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the acceptor, then unblock every connection thread.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for (_, connection) in self.shared.lock().connections.drain() {
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
        let id = {
            let mut state = shared.lock();
            state.next_id += 1;
            let id = state.next_id;
            if let Ok(clone) = stream.try_clone() {
                state.connections.insert(id, clone);
            }
            id
        };
        let shared = Arc::clone(shared);
        let _ = thread::Builder::new()
            .name("fault-proxy-connection".into())
            .spawn(move || {
                if let Err(e) = serve_connection(stream, &shared) {
                    if !shared.stopping.load(Ordering::SeqCst) {
                        eprintln!("fault proxy: connection error: {e}");
                    }
                }
                shared.lock().connections.remove(&id);
            });
    }
}

/// Serves requests on one connection until the client closes it, asks to
/// close it, or a fault closes it.
fn serve_connection(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let Some(Head { start, headers }) = read_head(&mut reader)? else {
            return Ok(());
        };
        let mut parts = start.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or("/"),
        );
        if header(&headers, "expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
            writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        let body = read_body(&mut reader, &headers, false)?;
        let request = Request::new(method, target, headers, body);
        let close = request
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let (id, fault) = shared.decide(&request);
        let answer = match fault {
            Some(Fault::Drop) => return writer.shutdown(Shutdown::Both),
            Some(Fault::Throttle) => {
                protocol::error_answer(&request, ErrorKind::Throttle, &request_id(id))
            }
            Some(Fault::ServerError(status)) => {
                protocol::error_answer(&request, ErrorKind::Server(status), &request_id(id))
            }
            Some(Fault::Delay(delay)) => {
                thread::sleep(delay);
                forward(&shared.upstream, &request)
            }
            Some(Fault::Answer(status, body)) => {
                protocol::answer(&request, status, body, &request_id(id))
            }
            Some(Fault::LoseAnswer) | None => forward(&shared.upstream, &request),
        };
        // Logged before the client hears anything, so a test sees it at once.
        shared.record(id, answer.status);
        if fault == Some(Fault::LoseAnswer) {
            return writer.shutdown(Shutdown::Both);
        }
        write_answer(&mut writer, &answer, close)?;
        if close {
            return Ok(());
        }
    }
}

fn request_id(id: u64) -> String {
    format!("00000000-0000-4000-8000-{id:012x}")
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;

    use super::http::read_answer;
    use super::samples::*;
    use super::*;

    #[test]
    fn forwards_a_call_unchanged_and_reframes_a_chunked_answer() {
        let upstream = Upstream::start();
        let proxy = FaultProxy::start(&upstream.url());
        let mut client = Client::connect(&proxy);
        let write = update_alias(r#"{"8":0.1}"#);

        let answer = client.call(&write).expect("an answer");
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, br#"{"ok":true}"#);
        assert_eq!(answer_header(&answer, "x-upstream"), Some("yes"));
        assert_eq!(answer_header(&answer, "content-length"), Some("11"));
        assert_eq!(answer_header(&answer, "transfer-encoding"), None);
        // Keep-alive: the same connection carries the next call.
        assert_eq!(
            client.call(&cbor_call("DescribeAlarms")).map(|a| a.status),
            Some(200)
        );

        let seen = upstream.seen();
        let sent = parse(&write);
        assert_eq!(
            (seen[0].method.as_str(), seen[0].target.as_str()),
            ("PUT", sent.target.as_str())
        );
        assert_eq!(seen[0].body, sent.body);
        for name in ["host", "authorization", "content-type", "content-length"] {
            assert_eq!(seen[0].header(name), sent.header(name), "{name}");
        }
        assert_eq!(
            seen[1].body,
            parse(&cbor_call("DescribeAlarms")).body,
            "binary CBOR"
        );
        let calls = proxy.log();
        assert_eq!(
            calls
                .iter()
                .map(|c| (c.operation.as_str(), c.fault, c.status))
                .collect::<Vec<_>>(),
            [
                ("UpdateAlias", None, Some(200)),
                ("DescribeAlarms", None, Some(200))
            ]
        );
    }

    #[test]
    fn honours_connection_close_and_expect_continue() {
        let upstream = Upstream::start();
        let proxy = FaultProxy::start(&upstream.url());
        let mut client = Client::connect(&proxy);
        let head = "PUT /2015-03-31/functions/f/aliases/live HTTP/1.1\r\nhost: h\r\n\
                    expect: 100-continue\r\nconnection: close\r\ncontent-length: 2\r\n\r\n";
        client.0.get_mut().write_all(head.as_bytes()).unwrap();
        let interim = read_answer(&mut client.0, "PUT").unwrap().unwrap();
        assert_eq!(interim.status, 100);

        let answer = client.call(b"{}").expect("an answer");
        assert_eq!(answer.status, 200);
        assert_eq!(answer_header(&answer, "connection"), Some("close"));
        assert_eq!(client.0.read_line(&mut String::new()).unwrap(), 0, "closed");
        let seen = upstream.seen();
        assert_eq!(
            (seen[0].body.as_slice(), seen[0].header("expect")),
            (&b"{}"[..], None)
        );
    }

    #[test]
    fn a_lost_answer_reaches_upstream_once_and_the_client_sees_a_closed_connection() {
        let upstream = Upstream::start();
        let proxy = FaultProxy::start(&upstream.url());
        proxy.fail("UpdateAlias", Fault::LoseAnswer, 1);

        assert!(send(&proxy, &update_alias("{}")).is_none());
        assert_eq!(upstream.seen().len(), 1);
        assert_eq!(proxy.log()[0].fault, Some(Fault::LoseAnswer));
        assert_eq!(
            proxy.log()[0].status,
            Some(200),
            "upstream's answer, never delivered"
        );
        assert_eq!(
            send(&proxy, &update_alias("{}")).map(|a| a.status),
            Some(200)
        );
        assert_eq!(upstream.seen().len(), 2);
    }

    #[test]
    fn a_dropped_call_never_reaches_upstream() {
        let upstream = Upstream::start();
        let proxy = FaultProxy::start(&upstream.url());
        proxy.fail("GetAlias", Fault::Drop, 1);

        assert!(send(&proxy, &get_alias()).is_none());
        assert!(upstream.seen().is_empty());
        assert_eq!(
            (proxy.log()[0].fault, proxy.log()[0].status),
            (Some(Fault::Drop), None)
        );
        assert_eq!(send(&proxy, &get_alias()).map(|a| a.status), Some(200));
    }

    #[test]
    fn delays_a_call_then_forwards_it() {
        let upstream = Upstream::start();
        let proxy = FaultProxy::start(&upstream.url());
        proxy.fail("GetAlias", Fault::Delay(Duration::from_millis(200)), 1);
        let started = std::time::Instant::now();
        assert_eq!(send(&proxy, &get_alias()).map(|a| a.status), Some(200));
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(upstream.seen().len(), 1);
    }

    #[test]
    fn answers_502_when_upstream_is_down() {
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let proxy = FaultProxy::start(&format!("http://127.0.0.1:{closed}"));
        assert_eq!(send(&proxy, &get_alias()).map(|a| a.status), Some(502));
        assert_eq!(proxy.log()[0].status, Some(502));
    }

    #[test]
    fn counts_times_exactly_under_concurrency() {
        let upstream = Upstream::start();
        let proxy = FaultProxy::start(&upstream.url());
        proxy.fail("GetAlias", Fault::Throttle, 5);
        let throttled: usize = thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        let mut client = Client::connect(&proxy);
                        (0..10)
                            .filter(|_| client.call(&get_alias()).unwrap().status == 429)
                            .count()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        assert_eq!(throttled, 5);
        assert_eq!(upstream.seen().len(), 35);
        assert_eq!(proxy.log().iter().filter(|c| c.fault.is_some()).count(), 5);
    }
}
