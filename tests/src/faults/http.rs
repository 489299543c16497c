//! Just enough HTTP/1.1 for the proxy: messages framed by `Content-Length`,
//! chunks or the end of the stream, and one exchange with the upstream over a
//! fresh connection with read timeouts.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::Request;

/// How long the upstream may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the upstream may stay silent (an `Invoke` may cold-start a bootstrap).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(120);

/// An HTTP answer, from upstream or made up here.
#[derive(Clone, Debug)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) reason: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

/// The upstream's answer to `request`, or a 502 saying why there is none.
pub(super) fn forward(upstream: &str, request: &Request) -> Answer {
    exchange(upstream, request).unwrap_or_else(|e| {
        eprintln!("fault proxy: upstream {upstream}: {e}");
        let body = format!("fault proxy: upstream {upstream}: {e}").into_bytes();
        Answer {
            status: 502,
            reason: reason(502).into(),
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body,
        }
    })
}

fn exchange(upstream: &str, request: &Request) -> io::Result<Answer> {
    let address = upstream
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
    let stream = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT)?;
    stream.set_read_timeout(Some(UPSTREAM_TIMEOUT))?;
    stream.set_write_timeout(Some(UPSTREAM_TIMEOUT))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    let had_length = request.header("content-length").is_some();
    for (name, value) in &request.headers {
        // The body is re-framed below; 100-continue was settled with the client.
        if !is_framing(name) && !name.eq_ignore_ascii_case("expect") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    if had_length || !request.body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", request.body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut writer = &stream;
    // One write: head and body split across two would meet Nagle and delayed ACKs.
    writer.write_all(&[head.as_bytes(), &request.body].concat())?;
    let mut reader = BufReader::new(&stream);
    loop {
        let answer = read_answer(&mut reader, &request.method)?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::UnexpectedEof, "closed without an answer")
        })?;
        // Skip interim answers (100 Continue); 101 would be a protocol switch.
        if !(100..200).contains(&answer.status) || answer.status == 101 {
            return Ok(answer);
        }
    }
}

pub(super) fn write_answer(
    writer: &mut impl Write,
    answer: &Answer,
    close: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", answer.status, answer.reason);
    for (name, value) in answer.headers.iter().filter(|(name, _)| !is_framing(name)) {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !matches!(answer.status, 204 | 304) {
        head.push_str(&format!("Content-Length: {}\r\n", answer.body.len()));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    writer.write_all(&[head.as_bytes(), &answer.body].concat())?;
    writer.flush()
}

/// An answer to a `method` request; `None` when the connection closed first.
pub(super) fn read_answer(reader: &mut impl BufRead, method: &str) -> io::Result<Option<Answer>> {
    let Some(Head { start, headers }) = read_head(reader)? else {
        return Ok(None);
    };
    let mut parts = start.splitn(3, ' ');
    let status: u16 = parts.nth(1).unwrap_or_default().parse().map_err(invalid)?;
    let reason = parts.next().unwrap_or_default().to_owned();
    let bodiless = method == "HEAD" || status < 200 || matches!(status, 204 | 304);
    let body = if bodiless {
        Vec::new()
    } else {
        read_body(reader, &headers, true)?
    };
    Ok(Some(Answer {
        status,
        reason,
        headers,
        body,
    }))
}

/// The start line and headers of a message.
pub(super) struct Head {
    pub(super) start: String,
    pub(super) headers: Vec<(String, String)>,
}

/// The head of the next message; `None` on a clean close before it.
pub(super) fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut start = String::new();
    while start.is_empty() {
        match read_line(reader)? {
            None => return Ok(None),
            Some(line) => start = line,
        }
    }
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or(io::ErrorKind::UnexpectedEof)?;
        if line.is_empty() {
            return Ok(Some(Head { start, headers }));
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
}

/// A line without its CRLF; `None` at end of stream.
fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&line).trim_end().to_owned()))
}

/// A body framed by `Content-Length` or chunks; without either, an answer's
/// body runs to the end of the stream and a request's is empty.
pub(super) fn read_body(
    reader: &mut impl BufRead,
    headers: &[(String, String)],
    answer: bool,
) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if header(headers, "transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"))
    {
        loop {
            let line = read_line(reader)?.ok_or(io::ErrorKind::UnexpectedEof)?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16).map_err(invalid)?;
            if size == 0 {
                // Trailers, if any, end with an empty line.
                while read_line(reader)?.is_some_and(|l| !l.is_empty()) {}
                return Ok(body);
            }
            reader.take(size as u64).read_to_end(&mut body)?;
            read_line(reader)?; // the CRLF after the chunk
        }
    }
    match header(headers, "content-length") {
        Some(length) => {
            let length: u64 = length.parse().map_err(invalid)?;
            reader.take(length).read_to_end(&mut body)?;
            if body.len() as u64 != length {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        None if answer => {
            reader.read_to_end(&mut body)?;
        }
        None => {}
    }
    Ok(body)
}

pub(super) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Headers about one hop's framing, which the proxy sets itself.
fn is_framing(name: &str) -> bool {
    [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
    ]
    .iter()
    .any(|n| name.eq_ignore_ascii_case(n))
}

fn invalid(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

pub(super) fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}
