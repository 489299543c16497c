//! Lambda through ministack: a `provided.al2023` shell bootstrap really runs,
//! versions publish, aliases honour `RevisionId`, and routing config
//! round-trips (and is only cleared by an explicit empty map).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::operation::update_alias::UpdateAliasError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{AliasRoutingConfiguration, FunctionCode, Runtime, State};
use aws_sdk_lambda::Client;
use rollout_testkit::lambda_zip::{bootstrap_zip, echo_bootstrap};
use rollout_testkit::Ministack;
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::000000000000:role/lambda-role";

/// Creates `name` and publishes version 1 (tag `one`) and 2 (tag `two`).
async fn function_with_two_versions(lambda: &Client, name: &str) {
    let code = FunctionCode::builder()
        .zip_file(Blob::new(bootstrap_zip(&echo_bootstrap("one"))))
        .build();
    lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role(ROLE)
        .code(code)
        .send()
        .await
        .expect("create_function");
    let v1 = lambda.publish_version().function_name(name).send().await;
    lambda
        .update_function_code()
        .function_name(name)
        .zip_file(Blob::new(bootstrap_zip(&echo_bootstrap("two"))))
        .send()
        .await
        .expect("update_function_code");
    let v2 = lambda.publish_version().function_name(name).send().await;
    let versions = (v1.expect("publish v1"), v2.expect("publish v2"));
    assert_eq!(
        (versions.0.version(), versions.1.version()),
        (Some("1"), Some("2"))
    );
}

async fn alias(
    lambda: &Client,
    name: &str,
) -> aws_sdk_lambda::operation::get_alias::GetAliasOutput {
    lambda
        .get_alias()
        .function_name(name)
        .name("live")
        .send()
        .await
        .expect("get_alias")
}

fn routing(weights: &[(&str, f64)]) -> AliasRoutingConfiguration {
    let weights = weights.iter().map(|&(v, w)| (v.to_owned(), w)).collect();
    AliasRoutingConfiguration::builder()
        .set_additional_version_weights(Some(weights))
        .build()
}

#[tokio::test]
async fn published_versions_run_their_own_bootstrap() {
    let stack = Ministack::start().await;
    let lambda = Client::new(&stack.sdk_config());
    function_with_two_versions(&lambda, "orders").await;

    for (version, tag) in [("1", "one"), ("2", "two")] {
        let out = lambda
            .invoke()
            .function_name("orders")
            .qualifier(version)
            .payload(Blob::new(r#"{"ping":1}"#))
            .send()
            .await
            .expect("invoke");
        assert_eq!(out.function_error(), None);
        let answer: Value =
            serde_json::from_slice(out.payload().expect("payload").as_ref()).unwrap();
        let expected = json!({"echo": {"ping": 1}, "version": version, "tag": tag});
        assert_eq!(answer, expected);

        wait_until_active(&lambda, "orders", version).await;
    }
}

/// Like AWS, ministack reports a new version `Pending` and flips it to
/// `Active` shortly after (0.5 s); readiness checks must poll.
async fn wait_until_active(lambda: &Client, name: &str, version: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let config = lambda
            .get_function_configuration()
            .function_name(name)
            .qualifier(version)
            .send()
            .await
            .expect("get_function_configuration");
        match config.state() {
            Some(State::Active) => return,
            state if Instant::now() > deadline => panic!("{name}:{version} stuck in {state:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[tokio::test]
async fn alias_updates_need_the_current_revision_id() {
    let stack = Ministack::start().await;
    let lambda = Client::new(&stack.sdk_config());
    function_with_two_versions(&lambda, "orders").await;
    lambda
        .create_alias()
        .function_name("orders")
        .name("live")
        .function_version("1")
        .send()
        .await
        .expect("create_alias");
    let read = alias(&lambda, "orders").await;
    assert_eq!(read.function_version(), Some("1"));
    let first_revision = read.revision_id().expect("a RevisionId").to_owned();

    let updated = lambda
        .update_alias()
        .function_name("orders")
        .name("live")
        .function_version("1")
        .routing_config(routing(&[("2", 0.1)]))
        .revision_id(&first_revision)
        .send()
        .await
        .expect("update_alias with the current RevisionId");
    assert_ne!(updated.revision_id(), Some(first_revision.as_str()));

    let stale = lambda
        .update_alias()
        .function_name("orders")
        .name("live")
        .function_version("2")
        .revision_id(&first_revision)
        .send()
        .await
        .expect_err("a stale RevisionId must be refused")
        .into_service_error();
    assert!(
        matches!(stale, UpdateAliasError::PreconditionFailedException(_)),
        "{stale:?}"
    );
    assert_eq!(stale.code(), Some("PreconditionFailedException"));
    let after = alias(&lambda, "orders").await;
    assert_eq!(after.function_version(), Some("1"), "nothing changed");
    assert_eq!(after.revision_id(), updated.revision_id());
}

#[tokio::test]
async fn alias_routing_round_trips_and_clears_only_when_emptied() {
    let stack = Ministack::start().await;
    let lambda = Client::new(&stack.sdk_config());
    function_with_two_versions(&lambda, "orders").await;
    lambda
        .create_alias()
        .function_name("orders")
        .name("live")
        .function_version("1")
        .routing_config(routing(&[("2", 0.3)]))
        .send()
        .await
        .expect("create_alias with routing");
    let weights = |out: &aws_sdk_lambda::operation::get_alias::GetAliasOutput| {
        out.routing_config()
            .and_then(|r| r.additional_version_weights())
            .cloned()
            .unwrap_or_default()
    };
    let expected = HashMap::from([("2".to_owned(), 0.3)]);
    assert_eq!(weights(&alias(&lambda, "orders").await), expected);

    // Like AWS, an update without RoutingConfig keeps the weights...
    let update = || lambda.update_alias().function_name("orders").name("live");
    update().function_version("1").send().await.expect("update");
    assert_eq!(weights(&alias(&lambda, "orders").await), expected);

    // ...and only an explicitly empty map removes them.
    update()
        .function_version("1")
        .routing_config(routing(&[]))
        .send()
        .await
        .expect("update with empty routing");
    assert_eq!(weights(&alias(&lambda, "orders").await), HashMap::new());
}

/// What every entry point must wait for: a version just published is `Pending` (with its
/// reason) until half a second after the update it was published from, here, as on AWS for
/// a moment (SnapStart: minutes). On a loaded host the first look may come too late to see
/// it; then the half second has passed.
#[tokio::test]
async fn a_fresh_version_is_pending_for_a_moment_with_its_reason() {
    let stack = Ministack::start().await;
    let lambda = Client::new(&stack.sdk_config());
    function_with_two_versions(&lambda, "orders").await;
    wait_until_active(&lambda, "orders", "2").await;
    let updated = Instant::now();
    lambda
        .update_function_code()
        .function_name("orders")
        .zip_file(Blob::new(bootstrap_zip(&echo_bootstrap("three"))))
        .send()
        .await
        .expect("update_function_code");
    lambda
        .publish_version()
        .function_name("orders")
        .send()
        .await
        .expect("publish 3");
    let first = lambda
        .get_function_configuration()
        .function_name("orders")
        .qualifier("3")
        .send()
        .await
        .expect("get_function_configuration");
    match first.state() {
        Some(State::Pending) => assert!(first.state_reason_code().is_some(), "{first:?}"),
        state => assert!(
            updated.elapsed() >= Duration::from_millis(400),
            "{state:?} at once, after {:?}",
            updated.elapsed()
        ),
    }
    wait_until_active(&lambda, "orders", "3").await;
    let pending_for = updated.elapsed();
    eprintln!("version 3 was Active {pending_for:?} after UpdateFunctionCode");
    assert!(pending_for < Duration::from_secs(5), "{pending_for:?}");
}

/// The emulator's provisioned concurrency is a stub: allocated at once (`READY`) whatever
/// the alias's routing, never `IN_PROGRESS` or `FAILED`. Those answers are tested on the
/// adapter's recorded ones (rollout-aws) and the engine's decisions (rollout-core).
#[tokio::test]
async fn provisioned_concurrency_on_an_alias_is_ready_at_once() {
    let stack = Ministack::start().await;
    let lambda = Client::new(&stack.sdk_config());
    function_with_two_versions(&lambda, "orders").await;
    lambda
        .create_alias()
        .function_name("orders")
        .name("live")
        .function_version("1")
        .send()
        .await
        .expect("create_alias");
    lambda
        .put_provisioned_concurrency_config()
        .function_name("orders")
        .qualifier("live")
        .provisioned_concurrent_executions(2)
        .send()
        .await
        .expect("put_provisioned_concurrency_config");
    lambda
        .update_alias()
        .function_name("orders")
        .name("live")
        .routing_config(routing(&[("2", 0.5)]))
        .send()
        .await
        .expect("update_alias");
    let pc = lambda
        .get_provisioned_concurrency_config()
        .function_name("orders")
        .qualifier("live")
        .send()
        .await
        .expect("get_provisioned_concurrency_config");
    assert_eq!(pc.status().map(|s| s.as_str()), Some("READY"));
}
