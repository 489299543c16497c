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

/// One call, tried again on what a state machine retries (AWS unavailable, a notification
/// that failed after the aliases were safe), as `random` drives one alias.
async fn again_and_again<F>(mut call: F) -> Result<SetStepped, DriveError>
where
    F: AsyncFnMut() -> Result<SetStepped, DriveError>,
{
    let mut last = None;
    for _ in 0..8 {
        match call().await {
            Ok(stepped) if stepped.warning.is_none() => return Ok(stepped),
            Ok(stepped) => last = Some(Ok(stepped)),
            Err(DriveError::Alias(e)) if e.is_transient() => last = Some(Err(DriveError::Alias(e))),
            Err(other) => return Err(other),
        }
    }
    last.expect("tried at least once")
}

#[tokio::test]
async fn seeded_random_faults_never_leave_a_member_of_a_set_split_or_an_alert_lost() {
    const SETS: usize = 4;
    let f = Faulty::new().await;
    for i in 0..SETS {
        for m in MEMBERS {
            f.function(&format!("s{i}-{m}")).await;
        }
    }
    let faults = [
        Fault::Throttle,
        Fault::ServerError(503),
        Fault::Drop,
        Fault::LoseAnswer,
    ];
    f.proxy
        .random(0x5e75_2026, 0.3, &faults, Matcher::any(), Some(4));
    let (mut stranded, mut lost, mut ended) = (0, 0, Vec::new());
    for i in 0..SETS {
        let members: Vec<_> = MEMBERS
            .iter()
            .map(|m| json!({"functionName": format!("s{i}-{m}"), "alias": "live", "targetVersion": "2"}))
            .collect();
        let spec: SetSpec = serde_json::from_value(json!({"set": format!("set{i}"),
            "members": members, "strategy": "20%:1m,50%:1m",
            "alarms": [format!("s{i}-worker-errors")], "notificationTopicArn": f.world.topic_arn}))
        .unwrap();
        let id = rollout_usecases::driver::new_rollout_id(t(i as i64 * 1000));
        let mut set = match again_and_again(async || {
            with_sets(&f, async |sets| {
                sets.start(
                    &spec,
                    id.clone(),
                    t(0),
                    &ReadyWait::up_to(Duration::from_secs(30)),
                )
                .await
            })
            .await
        })
        .await
        {
            Ok(stepped) => stepped.set,
            Err(e) => {
                eprintln!("set{i}: refused: {e}");
                continue;
            }
        };
        let mut now = 0;
        while !set.status.is_terminal() {
            now += 60;
            if i % 2 == 0 && set.step_index == 1 {
                f.world
                    .set_alarm(&format!("s{i}-worker-errors"), StateValue::Alarm)
                    .await;
            }
            let input = set.clone();
            set = match again_and_again(async || step(&f, &input, now).await).await {
                Ok(stepped) => stepped.set,
                Err(e) => panic!("set{i}: a step failed for good: {e}"),
            };
        }
        ended.push(set);
    }
    f.proxy.clear();
    let kept = kept(&f.world.notifications().await);
    for set in &ended {
        for m in &set.members {
            let alias = f.world.alias(&m.spec.function_name).await;
            if alias.routing.is_some() {
                eprintln!("{}: left split: {alias:?}", m.spec.function_name);
                stranded += 1;
            }
        }
        let owed = match set.status {
            Status::Succeeded => "rollout.succeeded",
            Status::RolledBack => "rollout.rolled_back",
            _ => "rollout.failed",
        };
        let told = kept
            .iter()
            .filter(|n| n["set"] == set.set.as_str() && n["event"] == owed)
            .count();
        if told != 1 {
            eprintln!("{}: {owed} kept {told} times", set.set);
            lost += 1;
        }
    }
    let statuses: Vec<_> = ended.iter().map(|s| s.status).collect();
    println!("fault suite, sets: {statuses:?}, {stranded} members stranded, {lost} alerts lost");
    assert_eq!(ended.len(), SETS, "every set started");
    assert_eq!(stranded, 0);
    assert_eq!(lost, 0);
    assert_eq!(
        statuses,
        [
            Status::RolledBack,
            Status::Succeeded,
            Status::RolledBack,
            Status::Succeeded
        ]
    );
}
