//! A webhook receiver on a loopback port, as a team's endpoint would be: it records every POST
//! (headers and body) and answers as the test says — 200, an error status, or never.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;

/// How the receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    Status(u16),
    /// Reads the request and keeps the connection open without a word.
    Never,
}

/// One POST as received.
#[derive(Clone, Debug)]
pub struct Post {
    pub path: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Post {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

pub struct WebhookReceiver {
    port: u16,
    posts: Arc<Mutex<Vec<Post>>>,
}

impl WebhookReceiver {
    pub fn start(reply: Reply) -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let posts = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&posts);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = Arc::clone(&seen);
                thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut writer = stream;
                    // Keep-alive: several POSTs may come on one connection.
                    while let Some(post) = read_post(&mut reader) {
                        seen.lock().unwrap().push(post);
                        match reply {
                            Reply::Never => {
                                thread::sleep(std::time::Duration::from_secs(600));
                                return;
                            }
                            Reply::Status(code) => {
                                let answer = format!(
                                    "HTTP/1.1 {code} X\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"
                                );
                                if writer.write_all(answer.as_bytes()).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        WebhookReceiver { port, posts }
    }

    /// `http://127.0.0.1:PORT/hooks/secret-token`: the path stands for a credential.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/secret-token", self.port)
    }

    pub fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }
}

fn read_post(reader: &mut impl BufRead) -> Option<Post> {
    let mut start = String::new();
    if reader.read_line(&mut start).ok()? == 0 {
        return None;
    }
    let path = start.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Post {
        path,
        headers,
        body,
    })
}
