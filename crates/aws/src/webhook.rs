//! The webhook channel: each event POSTed as JSON (the event, plus `text` for a Slack incoming
//! webhook) to one URL, `https://` only (plain `http://` only to a loopback address, for local
//! tests). With a secret (Secrets Manager, read once, on the first event), every POST is signed:
//! `X-Rollout-Timestamp` (Unix seconds) and `X-Rollout-Signature: sha256=<hex HMAC-SHA256 of
//! timestamp + "." + body>`; [`verify`] is how a receiver checks one. Each POST is cut at 3 s and
//! each event at 5 s, tries included (every step waits for its announcement: a dead endpoint
//! must not hold up the next check); a 5xx, 408, 429, a timeout or a dropped connection may pass
//! and is tried again by the announcer within that, any other 4xx is not. The URL is a credential (Slack's are): only its scheme and
//! host are ever shown.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rollout_core::Notification;
use rollout_usecases::ports::{CallFailed, Channel};
use sha2::Sha256;
use tokio::sync::OnceCell;

/// How long one POST may take, connection included.
const POST_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one event may take, its tries included: a dead webhook holds up a driver's next
/// check (and a rollback) by this much at most.
const EVENT_BOUND: Duration = Duration::from_secs(5);
/// How old a signed request a receiver accepts (see [`verify`]): a captured request cannot be
/// replayed later than this.
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

pub struct WebhookChannel {
    url: String,
    secret: Option<SecretSource>,
    /// Built on the first event, not at cold start (it reads the trust store).
    client: OnceCell<HttpsClient>,
}

/// Where the signing secret comes from, read once.
struct SecretSource {
    arn: String,
    client: aws_sdk_secretsmanager::Client,
    value: OnceCell<Vec<u8>>,
}

impl WebhookChannel {
    /// A webhook to `url` (already checked: `settings::check_webhook_url`), signed with the
    /// secret `secret_arn` names when there is one.
    pub fn new(
        url: String,
        secret_arn: Option<String>,
        secrets: impl FnOnce() -> aws_sdk_secretsmanager::Client,
    ) -> Self {
        WebhookChannel {
            url,
            secret: secret_arn.map(|arn| SecretSource {
                arn,
                client: secrets(),
                value: OnceCell::new(),
            }),
            client: OnceCell::new(),
        }
    }

    /// The URL as it may be shown: scheme and host, never the path or query (a credential).
    pub fn shown(&self) -> String {
        shown_url(&self.url)
    }

    async fn client(&self) -> Result<&HttpsClient, CallFailed> {
        self.client
            .get_or_try_init(|| async {
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_native_roots()
                    .map_err(|e| CallFailed {
                        operation: "POST",
                        message: format!("no trust store to reach the webhook: {e}"),
                        transient: false,
                    })?
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok(Client::builder(TokioExecutor::new()).build(https))
            })
            .await
    }

    async fn secret(&self) -> Result<Option<&[u8]>, CallFailed> {
        let Some(source) = &self.secret else {
            return Ok(None);
        };
        let value = source
            .value
            .get_or_try_init(|| async {
                let answer = source
                    .client
                    .get_secret_value()
                    .secret_id(&source.arn)
                    .send()
                    .await
                    .map_err(|e| crate::call_failed("GetSecretValue", &e))?;
                match (answer.secret_string(), answer.secret_binary()) {
                    (Some(text), _) if !text.is_empty() => Ok(text.as_bytes().to_vec()),
                    (_, Some(blob)) if !blob.as_ref().is_empty() => Ok(blob.as_ref().to_vec()),
                    _ => Err(CallFailed {
                        operation: "GetSecretValue",
                        message: format!("the secret {} is empty", source.arn),
                        transient: false,
                    }),
                }
            })
            .await?;
        Ok(Some(value))
    }
}

#[async_trait]
impl Channel for WebhookChannel {
    fn failure(&self) -> String {
        format!(
            "the event could not be sent to the webhook {}",
            self.shown()
        )
    }

    fn bound(&self) -> Option<Duration> {
        Some(EVENT_BOUND)
    }

    fn best_effort(&self) -> bool {
        true
    }

    async fn send(&self, notification: &Notification) -> Result<(), CallFailed> {
        let failed = |message: String, transient: bool| CallFailed {
            operation: "POST",
            message,
            transient,
        };
        let body = notification.webhook_body();
        let mut request = http::Request::post(&self.url)
            .header("content-type", "application/json")
            .header("user-agent", "lambda-rollout");
        if let Some(secret) = self.secret().await? {
            let timestamp = chrono::Utc::now().timestamp();
            request = request
                .header("X-Rollout-Timestamp", timestamp.to_string())
                .header(
                    "X-Rollout-Signature",
                    format!("sha256={}", sign(secret, timestamp, &body)),
                );
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| failed(format!("the request could not be built: {e}"), false))?;
        let client = self.client().await?;
        let answer = match tokio::time::timeout(POST_TIMEOUT, client.request(request)).await {
            Err(_) => {
                return Err(failed(
                    format!("no answer within {}s", POST_TIMEOUT.as_secs()),
                    true,
                ))
            }
            // The connection failed or dropped: the error may carry the URL, which is not shown.
            Ok(Err(e)) => {
                let kind = if e.is_connect() {
                    "could not connect"
                } else {
                    "the connection failed"
                };
                return Err(failed(kind.to_string(), true));
            }
            Ok(Ok(answer)) => answer,
        };
        let status = answer.status();
        match status.as_u16() {
            200..=299 => Ok(()),
            code => Err(failed(
                format!("answered {status}"),
                code >= 500 || code == 408 || code == 429,
            )),
        }
    }
}

/// The signature of one POST: hex HMAC-SHA256, keyed by the secret, of the timestamp (Unix
/// seconds, as sent in `X-Rollout-Timestamp`), a dot, and the body exactly as sent.
pub fn sign(secret: &[u8], timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How a receiver checks a POST: the signature must be this secret's for this timestamp and
/// body (compared in constant time), and the timestamp within
/// [`SIGNATURE_TOLERANCE_SECONDS`] of the receiver's clock `now` (a captured request replayed
/// later is refused; within the window, drop repeats by `eventId`). Why it is refused, if it is.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
) -> Result<(), &'static str> {
    let at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| "the timestamp is not Unix seconds")?;
    if (now - at).abs() > SIGNATURE_TOLERANCE_SECONDS {
        return Err("the timestamp is too old or in the future: a replay?");
    }
    let hex = signature
        .trim()
        .strip_prefix("sha256=")
        .ok_or("the signature is not sha256=<hex>")?;
    let given: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<_>>()
        .ok_or("the signature is not hex")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.trim().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| "the signature does not match")
}

/// `https://hooks.slack.com/…`: the scheme and host of a URL, never its path or query.
pub fn shown_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    format!("{scheme}://{host}/…")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";
    const BODY: &str = r#"{"event":"rollout.rolled_back","eventId":"r-1/1/rollout.rolled_back"}"#;

    #[test]
    fn a_signature_made_here_verifies_at_the_receiver() {
        let signature = format!("sha256={}", sign(SECRET, 1_800_000_000, BODY));
        assert_eq!(
            verify(
                SECRET,
                "1800000000",
                &signature,
                BODY.as_bytes(),
                1_800_000_030
            ),
            Ok(())
        );
    }

    #[test]
    fn a_forged_or_replayed_signature_is_refused() {
        let at = 1_800_000_000;
        let good = format!("sha256={}", sign(SECRET, at, BODY));
        let now = at + 10;
        // Another secret, another body, another timestamp with the same signature.
        let forged = format!("sha256={}", sign(b"guessed", at, BODY));
        assert!(verify(SECRET, "1800000000", &forged, BODY.as_bytes(), now).is_err());
        let tampered = BODY.replace("rolled_back", "succeeded");
        assert!(verify(SECRET, "1800000000", &good, tampered.as_bytes(), now).is_err());
        assert!(verify(SECRET, "1800000001", &good, BODY.as_bytes(), now).is_err());
        // The same request captured and sent again an hour later.
        assert_eq!(
            verify(SECRET, "1800000000", &good, BODY.as_bytes(), at + 3600),
            Err("the timestamp is too old or in the future: a replay?")
        );
        for malformed in ["", "sha1=00", "sha256=zz", "sha256=abc"] {
            assert!(verify(SECRET, "1800000000", malformed, BODY.as_bytes(), now).is_err());
        }
    }

    #[test]
    fn a_webhook_url_is_shown_without_its_path_or_credentials() {
        assert_eq!(
            shown_url("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            shown_url("http://user:pw@127.0.0.1:8080/x?token=1"),
            "http://127.0.0.1:8080/…"
        );
    }
}
