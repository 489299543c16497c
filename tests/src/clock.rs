//! The clocks tests step rollouts by, moved by hand so a hold costs no wall time: a start, and
//! moments `seconds` after it.

use chrono::{DateTime, Duration, TimeZone, Utc};

/// The start of a rollout that meets real time: metrics put a moment ago are judged in its
/// windows, and a `rollout` command reads its marker by the wall clock.
pub fn t0() -> DateTime<Utc> {
    Utc::now()
}

/// `seconds` after `at`.
pub fn later(at: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    at + Duration::seconds(seconds)
}

/// `seconds` after a fixed moment (2030-03-17T17:46:40Z), for rollouts only our code steps
/// and no metric judges, as in the fault suite: a seeded run is then the same run each time,
/// its rollout ids and times included.
pub fn t(seconds: i64) -> DateTime<Utc> {
    later(Utc.timestamp_opt(1_900_000_000, 0).unwrap(), seconds)
}
