//! Waiting for a target version to be ready to take traffic: the one loop every entry point
//! uses (`rollout run` and `rollout check`, the traffic shifter and its CodePipeline action,
//! the pre-traffic hook), each with its own bound and its own way of showing it. Whether a
//! version is ready, worth waiting for, or refused is the core's rule
//! (`PublishedVersion::readiness`); this only waits.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rollout_core::{PublishedVersion, Readiness};
use tokio::time::Instant;

use crate::ports::{AliasError, AliasStore};

/// How long `rollout run`, `rollout check` and the CodePipeline action wait for a `Pending`
/// version unless told otherwise: a SnapStart version takes minutes.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(600);

/// A fresh version is `Pending` for a moment: a few quick looks first, then the SDK's waiter
/// takes over with its own backoff (5 s and up), which suits a SnapStart version's minutes.
const QUICK_LOOKS: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_millis(1000),
];

/// How long to wait for a version, and whom to tell.
#[derive(Clone, Copy)]
pub struct ReadyWait<'a> {
    /// The longest wait; zero looks once and does not wait.
    pub limit: Duration,
    /// Told once, when the version is found not ready: `waiting for version 3 to be Active: …`.
    pub on_wait: &'a (dyn Fn(&str) + Send + Sync),
}

impl ReadyWait<'static> {
    /// Up to `limit`, told to the log only.
    pub fn up_to(limit: Duration) -> ReadyWait<'static> {
        ReadyWait {
            limit,
            on_wait: &log_wait,
        }
    }

    /// Within an invocation that ends at `deadline`, keeping `margin` (at most a quarter of
    /// the time left) to carry on once the wait is over.
    pub fn within(deadline: Instant, margin: Duration) -> ReadyWait<'static> {
        let left = deadline.saturating_duration_since(Instant::now());
        ReadyWait::up_to(left.saturating_sub(margin.min(left / 4)))
    }
}

fn log_wait(line: &str) {
    tracing::info!("{line}");
}

/// What the wait saw last, and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Waited {
    pub version: PublishedVersion,
    /// Zero when the first look found it ready (or refused, or no wait was allowed).
    pub waited: Duration,
}

/// Reads version `version` of `function` and, while it is not ready yet (`Pending`), waits
/// for it within `wait.limit`. Returns what was seen last, ready or not: the caller applies
/// the rule.
pub async fn wait_until_ready(
    aliases: &dyn AliasStore,
    function: &str,
    version: &str,
    wait: &ReadyWait<'_>,
) -> Result<Waited, AliasError> {
    let started = Instant::now();
    let not_yet =
        |seen: &PublishedVersion| matches!(seen.readiness(function, version), Readiness::NotYet(_));
    let mut seen = aliases.version(function, version).await?;
    if !not_yet(&seen) || wait.limit.is_zero() {
        return Ok(Waited {
            version: seen,
            waited: Duration::ZERO,
        });
    }
    let state = seen
        .config()
        .map_or_else(|| "missing".into(), |c| c.state_text());
    (wait.on_wait)(&format!(
        "waiting for version {version} to be Active: it is {state} (waiting up to {})",
        rollout_core::plan::format_seconds(wait.limit.as_secs())
    ));
    for look in QUICK_LOOKS {
        if started.elapsed() + look >= wait.limit {
            break;
        }
        tokio::time::sleep(look).await;
        seen = aliases.version(function, version).await?;
        if !not_yet(&seen) {
            return Ok(waited(seen, started));
        }
    }
    let left = wait.limit.saturating_sub(started.elapsed());
    if !left.is_zero() {
        seen = aliases.wait_until_active(function, version, left).await?;
    }
    Ok(waited(seen, started))
}

fn waited(version: PublishedVersion, started: Instant) -> Waited {
    Waited {
        version,
        waited: started.elapsed(),
    }
}

/// An invocation's deadline (Lambda's milliseconds since the epoch) on the runtime's clock.
pub fn deadline_from_epoch_millis(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{pending, FakeAliases};
    use rollout_core::VersionConfig;
    use std::sync::Mutex;

    #[tokio::test(start_paused = true)]
    async fn a_version_pending_for_a_moment_is_waited_for_and_the_wait_is_told_once() {
        let aliases = FakeAliases::on("1");
        aliases.script_versions([pending(), pending()]);
        let told = Mutex::new(Vec::new());
        let tell = |line: &str| told.lock().unwrap().push(line.to_string());
        let wait = ReadyWait {
            limit: Duration::from_secs(60),
            on_wait: &tell,
        };
        let seen = wait_until_ready(&aliases, "orders", "2", &wait)
            .await
            .unwrap();
        assert_eq!(
            seen.version.readiness("orders", "2"),
            Readiness::Ready("version 2 of orders is Active".into())
        );
        let told = told.into_inner().unwrap();
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(
            told[0].starts_with("waiting for version 2 to be Active: it is Pending (Creating"),
            "{}",
            told[0]
        );
        assert_eq!(aliases.version_reads(), 3, "two quick looks were enough");
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_pending_version_is_handed_to_the_sdk_waiter_within_the_limit() {
        let aliases = FakeAliases::on("1");
        aliases.script_versions(std::iter::repeat_with(pending).take(5));
        let seen = wait_until_ready(
            &aliases,
            "orders",
            "2",
            &ReadyWait::up_to(Duration::from_secs(30)),
        )
        .await
        .unwrap();
        assert!(matches!(
            seen.version.readiness("orders", "2"),
            Readiness::NotYet(_)
        ));
        assert_eq!(
            *aliases.waits.lock().unwrap(),
            [Duration::from_millis(28_250)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_wait_looks_once_and_a_refused_version_is_not_waited_for() {
        let aliases = FakeAliases::on("1");
        aliases.script_versions([pending()]);
        let seen = wait_until_ready(&aliases, "orders", "2", &ReadyWait::up_to(Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(seen.waited, Duration::ZERO);
        assert_eq!(aliases.version_reads(), 1);
        let failed = FakeAliases::on("1");
        failed.script_versions([PublishedVersion::Present(VersionConfig {
            state: "Failed".into(),
            ..VersionConfig::default()
        })]);
        wait_until_ready(
            &failed,
            "orders",
            "2",
            &ReadyWait::up_to(Duration::from_secs(60)),
        )
        .await
        .unwrap();
        assert_eq!(failed.version_reads(), 1);
    }

    #[test]
    fn an_invocation_keeps_its_margin_or_a_quarter_of_what_is_left() {
        let in_90s = Instant::now() + Duration::from_secs(90);
        let limit = ReadyWait::within(in_90s, Duration::from_secs(20)).limit;
        assert!(
            limit <= Duration::from_secs(70) && limit > Duration::from_secs(69),
            "{limit:?}"
        );
        let in_8s = Instant::now() + Duration::from_secs(8);
        let limit = ReadyWait::within(in_8s, Duration::from_secs(20)).limit;
        assert!(
            limit <= Duration::from_secs(6) && limit > Duration::from_secs(5),
            "{limit:?}"
        );
    }
}
