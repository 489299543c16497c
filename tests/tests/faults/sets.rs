//! Release sets through the fault proxy: a rollback that does not give up on one member
//! because another's writes are throttled, a lost answer on one member's shift, a driver
//! killed between two members' writes and its input replayed, a role that cannot be assumed.

use std::time::Duration;

use aws_sdk_cloudwatch::types::StateValue;
use rollout_aws::places::AwsPlaces;
use rollout_core::set::SetSpec;
use rollout_core::{SetRollout, Status};
use rollout_testkit::faults::{Fault, Matcher};
use rollout_testkit::fixture::kept;
use rollout_testkit::sdk_config;
use rollout_usecases::driver::DriveError;
use rollout_usecases::readiness::ReadyWait;
use rollout_usecases::set::{SetDriver, SetStepped};
use serde_json::json;

use crate::{t, Faulty};

const MEMBERS: [&str; 3] = ["api", "worker", "audit"];

/// Three functions, each with its `<name>-errors` alarm; the set watches the worker's.
async fn three(f: &Faulty) {
    for name in MEMBERS {
        f.function(name).await;
    }
}

fn spec(f: &Faulty, strategy: &str) -> SetSpec {
    let members: Vec<_> = MEMBERS
        .iter()
        .map(|f| json!({"functionName": f, "alias": "live", "targetVersion": "2"}))
        .collect();
    serde_json::from_value(
        json!({"set": "checkout", "members": members, "strategy": strategy,
        "alarms": ["worker-errors"], "notificationTopicArn": f.world.topic_arn}),
    )
    .unwrap()
}

/// The set driver over the faulted adapters, the fault suite's patience.
async fn with_sets<T>(f: &Faulty, go: impl AsyncFnOnce(&SetDriver<'_>) -> T) -> T {
    let driver = f.driver();
    let places = AwsPlaces::new(&f.adapters, &sdk_config(&f.proxy.url()));
    let sets = SetDriver {
        home: &driver,
        places: &places,
    };
    go(&sets).await
}

async fn start(f: &Faulty, spec: &SetSpec) -> Result<SetStepped, DriveError> {
    with_sets(f, async |sets| {
        sets.start(
            spec,
            "r-20300317T170000000Z".into(),
            t(0),
            &ReadyWait::up_to(Duration::from_secs(30)),
        )
        .await
    })
    .await
}

async fn step(f: &Faulty, set: &SetRollout, at: i64) -> Result<SetStepped, DriveError> {
    with_sets(f, async |sets| sets.step(set, t(at)).await).await
}

async fn standing(f: &Faulty) -> Vec<(String, Option<(String, f64)>)> {
    let mut all = Vec::new();
    for name in MEMBERS {
        let alias = f.world.alias(name).await;
        all.push((alias.version, alias.routing));
    }
    all
}

fn on(version: &str) -> (String, Option<(String, f64)>) {
    (version.into(), None)
}

/// Calls to `operation` on `function`'s routes.
fn on_function(operation: &str, function: &str) -> Matcher {
    let path = format!("/functions/{function}/");
    Matcher::operation(operation).when(move |r| r.path().contains(&path))
}

async fn kept_events(f: &Faulty) -> Vec<String> {
    kept(&f.world.notifications().await)
        .iter()
        .map(|n| n["event"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn every_member_goes_back_while_one_members_writes_are_throttled() {
    let f = Faulty::new().await;
    three(&f).await;
    let set = start(&f, &spec(&f, "Canary10Percent5Minutes"))
        .await
        .unwrap()
        .set;
    f.world.set_alarm("worker-errors", StateValue::Alarm).await;
    // Three throttles per SDK call on the audit function: the SDK alone gives up twice over.
    f.proxy
        .fail(on_function("UpdateAlias", "audit"), Fault::Throttle, 8);
    let begun = std::time::Instant::now();
    let stepped = step(&f, &set, 10).await.unwrap().set;
    assert_eq!(stepped.status, Status::RolledBack, "{:?}", stepped.reason);
    assert_eq!(standing(&f).await, vec![on("1"); 3]);
    // The others did not wait for the audit function's backoff to be back.
    let audit_done = f
        .proxy
        .log()
        .iter()
        .filter(|c| c.operation == "UpdateAlias" && c.fault.is_some())
        .count();
    assert_eq!(audit_done, 8, "every injected fault was met");
    assert!(begun.elapsed() < Duration::from_secs(60));
    assert_eq!(
        kept_events(&f).await,
        ["rollout.started", "rollout.rolled_back"]
    );
}

#[tokio::test]
async fn a_lost_answer_on_one_members_shift_is_taken_as_its_own_write() {
    let f = Faulty::new().await;
    three(&f).await;
    let set = start(&f, &spec(&f, "Canary10Percent5Minutes"))
        .await
        .unwrap()
        .set;
    f.proxy
        .fail(on_function("UpdateAlias", "worker"), Fault::LoseAnswer, 1);
    let stepped = step(&f, &set, 301).await.unwrap().set;
    assert_eq!(stepped.status, Status::Succeeded, "{:?}", stepped.reason);
    assert_eq!(standing(&f).await, vec![on("2"); 3]);
    assert_eq!(
        kept_events(&f).await,
        ["rollout.started", "rollout.succeeded"]
    );
}

#[tokio::test]
async fn a_driver_killed_between_two_members_writes_is_finished_by_its_replay() {
    let f = Faulty::new().await;
    three(&f).await;
    let set = start(&f, &spec(&f, "10%:1m,50%:1m")).await.unwrap().set;
    // The lead is written first, then the others at once: the audit function's write lands,
    // the worker's hangs, and the driver dies meanwhile.
    f.proxy.fail(
        on_function("UpdateAlias", "worker"),
        Fault::Delay(Duration::from_secs(30)),
        1,
    );
    let killed = tokio::time::timeout(Duration::from_secs(3), step(&f, &set, 61)).await;
    assert!(killed.is_err(), "the step was cut short");
    let half = standing(&f).await;
    assert_eq!(half[0], ("1".into(), Some(("2".into(), 0.5))), "{half:?}");
    assert_eq!(half[1], ("1".into(), Some(("2".into(), 0.1))), "{half:?}");
    assert_eq!(half[2], ("1".into(), Some(("2".into(), 0.5))), "{half:?}");
    // The same input again (a Step Functions retry): the step is finished, not doubled.
    let replayed = step(&f, &set, 62).await.unwrap().set;
    assert_eq!(replayed.step_index, 1, "{:?}", replayed.reason);
    assert_eq!(replayed.status, Status::InProgress);
    assert_eq!(
        standing(&f).await,
        vec![("1".into(), Some(("2".into(), 0.5))); 3]
    );
    let events = kept_events(&f).await;
    assert_eq!(events, ["rollout.started", "rollout.shifted"]);
}

#[tokio::test]
async fn a_member_whose_role_cannot_be_assumed_is_refused_before_any_write() {
    let f = Faulty::new().await;
    three(&f).await;
    let mut spec = spec(&f, "Canary10Percent5Minutes");
    spec.members[2].role_arn = Some("arn:aws:iam::222222222222:role/rollout".into());
    const DENIED: &[u8] = b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message></Error><RequestId>1</RequestId></ErrorResponse>";
    f.proxy.fail(
        Matcher::operation("AssumeRole"),
        Fault::Answer(403, DENIED),
        10,
    );
    let refused = start(&f, &spec).await.unwrap_err();
    let text = refused.to_string();
    assert!(
        matches!(&refused, DriveError::Invalid(field) if field.field == "members[2].roleArn"),
        "{text}"
    );
    assert!(text.contains("cannot be assumed"), "{text}");
    assert!(text.contains("AccessDenied"), "{text}");
    assert_eq!(standing(&f).await, vec![on("1"); 3]);
    assert!(f.world.notifications().await.is_empty());
}
