//! The proxy's test kit: requests as the AWS Rust SDK writes them (lowercase
//! names, SigV4, `content-length`), a stand-in upstream and a keep-alive client.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::http::{header, read_answer, read_body, read_head, Answer, Head};
use super::{FaultProxy, Request};

pub(super) fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let Some(Head { start, headers }) = read_head(reader)? else {
        return Ok(None);
    };
    let body = read_body(reader, &headers, false)?;
    let mut parts = start.split_whitespace();
    let (method, target) = (parts.next().unwrap(), parts.next().unwrap());
    Ok(Some(Request::new(method, target, headers, body)))
}

pub(super) fn parse(raw: &[u8]) -> Request {
    read_request(&mut &raw[..]).unwrap().expect("a request")
}

pub(super) fn sdk_request(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut raw = format!("{method} {target} HTTP/1.1\r\nhost: 127.0.0.1:4566\r\n");
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    [raw.as_bytes(), body].concat()
}

pub(super) fn sigv4(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/{service}/aws4_request, \
             SignedHeaders=content-length;host;x-amz-date, Signature=0badc0de"
    )
}

pub(super) fn lambda_call(method: &str, target: &str, body: &str) -> Vec<u8> {
    let auth = sigv4("lambda");
    let mut headers = vec![("authorization", auth.as_str())];
    if !body.is_empty() {
        headers.push(("content-type", "application/json"));
    }
    sdk_request(method, target, &headers, body.as_bytes())
}

pub(super) fn get_alias() -> Vec<u8> {
    lambda_call("GET", "/2015-03-31/functions/orders-api/aliases/live", "")
}

pub(super) fn update_alias(weights: &str) -> Vec<u8> {
    let body = format!(
        r#"{{"FunctionVersion":"7","RevisionId":"r1","RoutingConfig":{{"AdditionalVersionWeights":{weights}}}}}"#
    );
    lambda_call(
        "PUT",
        "/2015-03-31/functions/orders-api/aliases/live",
        &body,
    )
}

pub(super) fn cbor_call(operation: &str) -> Vec<u8> {
    // {"AlarmNames": ["high-errors"]}
    let body = [
        &[0xa1, 0x6a][..],
        b"AlarmNames",
        &[0x81, 0x6b],
        b"high-errors",
    ]
    .concat();
    let target = format!("/service/GraniteServiceVersion20100801/operation/{operation}");
    let auth = sigv4("monitoring");
    let headers = [
        ("content-type", "application/cbor"),
        ("smithy-protocol", "rpc-v2-cbor"),
        ("accept", "application/cbor"),
        ("x-amzn-query-mode", "true"),
        ("authorization", &auth),
    ];
    sdk_request("POST", &target, &headers, &body)
}

pub(super) fn query_call(service: &str, form: &str) -> Vec<u8> {
    let auth = sigv4(service);
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("authorization", &auth),
    ];
    sdk_request("POST", "/", &headers, form.as_bytes())
}

pub(super) fn publish() -> Vec<u8> {
    query_call(
            "sns",
            "Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aalerts&Message=hi",
        )
}

pub(super) fn json_call(service: &str, target: &str) -> Vec<u8> {
    let auth = sigv4(service);
    let version = if matches!(service, "sqs" | "states") {
        "1.0"
    } else {
        "1.1"
    };
    let content_type = format!("application/x-amz-json-{version}");
    let mut headers = vec![
        ("content-type", content_type.as_str()),
        ("x-amz-target", target),
        ("authorization", &auth),
    ];
    if service == "sqs" {
        headers.push(("x-amzn-query-mode", "true"));
    }
    sdk_request("POST", "/", &headers, b"{}")
}

pub(super) fn answer_header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    header(&answer.headers, name)
}

const CHUNKED_OK: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
    X-Upstream: yes\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"ok\"\r\n6\r\n:true}\r\n0\r\n\r\n";

/// A stand-in upstream: answers every request with [`CHUNKED_OK`] and keeps it.
pub(super) struct Upstream {
    port: u16,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Upstream {
    pub(super) fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    while let Ok(Some(request)) = read_request(&mut reader) {
                        log.lock().unwrap().push(request);
                        writer.write_all(CHUNKED_OK.as_bytes()).unwrap();
                    }
                });
            }
        });
        Upstream { port, seen }
    }

    pub(super) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(super) fn seen(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }
}

/// One keep-alive client connection.
pub(super) struct Client(pub(super) BufReader<TcpStream>);

impl Client {
    pub(super) fn connect(proxy: &FaultProxy) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client(BufReader::new(stream))
    }

    /// The answer, or `None` when the proxy closed the connection unanswered.
    pub(super) fn call(&mut self, raw: &[u8]) -> Option<Answer> {
        self.0.get_mut().write_all(raw).unwrap();
        read_answer(&mut self.0, "POST").ok().flatten()
    }
}

pub(super) fn send(proxy: &FaultProxy, raw: &[u8]) -> Option<Answer> {
    Client::connect(proxy).call(raw)
}
