//! The channels besides SNS, as their users meet them: AWS Chatbot's custom notifications on
//! an SNS topic a Chatbot configuration would subscribe to (read here from an SQS queue on
//! that topic), and a webhook on a local HTTP server, signed with a Secrets Manager secret.
//! The real `rollout` command, the real SDK, ministack.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use rollout_testkit::fixture::{binary, kept};
use rollout_testkit::webhook::{Reply, WebhookReceiver};
use serde_json::Value;

use crate::Setup;

/// `rollout run` of orders 1 → 2 on `strategy`, watching `orders-errors`, with `extra` flags.
fn spawn_run(
    s: &Setup,
    strategy: &str,
    extra: &[&str],
) -> std::thread::JoinHandle<std::process::Output> {
    let mut args: Vec<String> = [
        "run",
        "--function",
        "orders",
        "--alias",
        "live",
        "--to",
        "2",
        "--strategy",
        strategy,
        "--alarm",
        "orders-errors",
        "--topic",
        &s.world.topic_arn,
        "--poll",
        "1s",
    ]
    .iter()
    .chain(extra)
    .map(|a| a.to_string())
    .collect();
    args.retain(|a| !a.is_empty());
    let env: Vec<(String, String)> = s
        .stack
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    std::thread::spawn(move || {
        std::process::Command::new(binary("rollout"))
            .args(&args)
            .envs(env)
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run rollout")
    })
}

async fn with_alarm(name: &str) -> Setup {
    let s = Setup::new(name).await;
    s.world.alarm("orders-errors", "orders", None).await;
    s
}

#[tokio::test]
async fn a_rollback_reaches_chatbot_as_one_thread_with_the_command_to_resume() {
    let s = with_alarm("orders").await;
    let (chatbot_topic, queue) = s.world.subscribed_queue("chatbot").await;
    let run = spawn_run(&s, "10%:1h", &["--chatbot-topic", &chatbot_topic]);
    s.world.until_split("orders").await;
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let out = tokio::task::spawn_blocking(|| run.join().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rollout_id = s.world.notifications().await[0]["rolloutId"].clone();
    let messages = s.world.messages(&queue).await;
    let kinds: Vec<&str> = messages
        .iter()
        .map(|m| m["metadata"]["eventType"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["rollout.started", "rollout.rolled_back"]);
    for m in &messages {
        // AWS's custom-notification format.
        assert_eq!(
            (m["version"].as_str(), m["source"].as_str()),
            (Some("1.0"), Some("custom"))
        );
        assert_eq!(m["content"]["textType"], "client-markdown");
        assert!(m["content"]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        assert!(m["content"]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()));
        assert_eq!(
            m["metadata"]["threadId"], rollout_id,
            "one thread per rollout"
        );
    }
    let steps = messages[1]["content"]["nextSteps"].to_string();
    assert!(
        steps.contains("rollout run --function orders --alias live --to 2 --from 1"),
        "{steps}"
    );
    assert!(messages[1]["content"]["description"]
        .as_str()
        .unwrap()
        .contains("orders-errors"));
}

#[tokio::test]
async fn a_webhook_gets_every_event_once_signed_with_the_secret() {
    let s = with_alarm("orders").await;
    let secrets = aws_sdk_secretsmanager::Client::new(&s.stack.sdk_config());
    let secret_arn = secrets
        .create_secret()
        .name("rollout-webhook")
        .secret_string("whsec_local_test")
        .send()
        .await
        .expect("create_secret")
        .arn()
        .expect("arn")
        .to_string();
    let hook = WebhookReceiver::start(Reply::Status(200));
    let run = spawn_run(
        &s,
        "10%:1s,50%:1s",
        &[
            "--webhook",
            &hook.url(),
            "--webhook-secret-arn",
            &secret_arn,
        ],
    );
    let out = tokio::task::spawn_blocking(|| run.join().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let posts = hook.posts();
    let sns = kept(&s.world.notifications().await);
    let ids = |events: Vec<Value>| -> Vec<String> {
        events
            .iter()
            .map(|e| e["eventId"].as_str().unwrap().to_string())
            .collect()
    };
    let posted = ids(posts.iter().map(|p| p.json()).collect());
    assert_eq!(posted, ids(sns), "every event once, as on SNS");
    let now = chrono::Utc::now().timestamp();
    for post in &posts {
        assert_eq!(post.path, "/hooks/secret-token");
        assert_eq!(post.header("content-type"), Some("application/json"));
        let verified = rollout_aws::webhook::verify(
            b"whsec_local_test",
            post.header("x-rollout-timestamp").expect("timestamp"),
            post.header("x-rollout-signature").expect("signature"),
            &post.body,
            now,
        );
        assert_eq!(verified, Ok(()), "{post:?}");
        assert!(post.json()["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("orders:live")));
    }
}

#[tokio::test]
async fn a_webhook_that_fails_or_never_answers_holds_up_no_rollback() {
    for reply in [Reply::Status(500), Reply::Never] {
        let s = with_alarm("orders").await;
        let hook = WebhookReceiver::start(reply);
        let run = spawn_run(&s, "10%:1h", &["--webhook", &hook.url()]);
        s.world.until_split("orders").await;
        s.world.set_alarm("orders-errors", StateValue::Alarm).await;
        let breached = Instant::now();
        // The alias is back within a few checks and the webhook's bound (5 s of tries, a
        // POST cut at 3 s), whatever the webhook does.
        loop {
            if s.world.alias("orders").await.routing.is_none() {
                break;
            }
            assert!(
                breached.elapsed() < Duration::from_secs(12),
                "{reply:?}: not rolled back"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let out = tokio::task::spawn_blocking(|| run.join().unwrap())
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{reply:?}: {stderr}");
        // Told on SNS at once; the webhook given up within its bound, with a warning that
        // names it without its credential path.
        assert!(breached.elapsed() < Duration::from_secs(20), "{reply:?}");
        assert_eq!(
            s.world.events().await,
            ["rollout.started", "rollout.rolled_back"]
        );
        assert!(
            stderr.contains("could not be sent to the webhook http://127.0.0.1:"),
            "{reply:?}: {stderr}"
        );
        assert!(
            !stderr.contains("secret-token"),
            "the URL is a credential: {stderr}"
        );
    }
}
