//! Smoke tests of the harness itself: the current Rust SDK against ministack
//! and against the recording stub, and ministack's lifetime (reset, drop, and
//! death with its test process). Each test owns its emulator.

mod cloudwatch;
mod codedeploy;
mod lambda;
mod notifications;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rollout_testkit::Ministack;

#[tokio::test]
async fn reset_clears_the_emulator() {
    let stack = Ministack::start().await;
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk_config());
    sqs.create_queue()
        .queue_name("before-reset")
        .send()
        .await
        .expect("create_queue");
    stack.reset();
    let queues = sqs.list_queues().send().await.expect("list_queues");
    assert!(queues.queue_urls().is_empty(), "{:?}", queues.queue_urls());
}

#[tokio::test]
async fn ministack_stops_when_dropped() {
    let stack = Ministack::start().await;
    let port = stack.port();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(stack);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens after drop"
    );
}

/// Env var that lets [`hold_ministack_until_killed`] run (only as a child of the test below).
const HOLD: &str = "INTEGRATION_TESTS_HOLD_MINISTACK";

#[test]
fn ministack_dies_with_a_killed_test_process() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "hold_ministack_until_killed",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(HOLD, "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("re-run this test binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let mut reported = |key: &str| {
        lines
            .find_map(|line| line.strip_prefix(key).map(str::to_owned))
            .expect("the child reports its ministack")
    };
    let port: u16 = reported("MINISTACK_PORT=").parse().unwrap();
    let log = reported("MINISTACK_LOG=");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());

    child.kill().expect("SIGKILL the test process"); // no destructor runs
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "ministack outlived its test process"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::remove_file(log).expect("the log of a killed test stays behind");
}

#[test]
#[ignore = "helper process for ministack_dies_with_a_killed_test_process"]
fn hold_ministack_until_killed() {
    if std::env::var_os(HOLD).is_none() {
        return;
    }
    let stack = Ministack::start_blocking();
    println!("MINISTACK_PORT={}", stack.port());
    println!("MINISTACK_LOG={}", stack.log_path().display());
    std::thread::sleep(Duration::from_secs(120));
}
