//! How long the use cases keep trying an AWS call that failed in a way that may pass
//! (throttling, a 5xx, a dropped connection, a timeout), on top of the SDK's own few quick
//! attempts: backoff with a ceiling, until a bound. Reads during a hold give up after a short
//! bound (and then fail closed); a rollback keeps going for minutes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rollout_core::{AlarmState, AlarmVerdict, Analysis, Judgement, Rollout};
use tokio::time::Instant;

use crate::ports::{AlarmSource, MetricsQuery, MetricsSource};

/// The bounds and pace of retrying; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// How long a read (an alarm, the alias) is retried before it counts as failed.
    pub reads: Duration,
    /// How long a rollback's write is retried before traffic is reported as still split.
    pub rollback: Duration,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Patience {
            reads: Duration::from_secs(30),
            rollback: Duration::from_secs(10 * 60),
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(15),
        }
    }
}

impl Patience {
    /// A backoff that ends `bound` from now.
    pub fn backoff(&self, bound: Duration) -> Backoff {
        Backoff {
            delay: self.first_delay,
            max_delay: self.max_delay,
            until: Instant::now() + bound,
            attempts: 1,
        }
    }
}

/// The named alarms, read patiently (within `patience.reads`); what could not be read fails
/// closed, as `Unreadable`.
pub async fn read_alarms(
    source: &dyn AlarmSource,
    names: &[String],
    patience: &Patience,
) -> Vec<AlarmVerdict> {
    // No alarm named: nothing to ask (whatever the source would do with an empty list).
    if names.is_empty() {
        return Vec::new();
    }
    let mut backoff = patience.backoff(patience.reads);
    match retrying(&mut backoff, async || source.verdicts(names).await).await {
        Ok(verdicts) => verdicts,
        Err(e) => names
            .iter()
            .map(|n| AlarmVerdict::new(n.clone(), AlarmState::Unreadable(e.to_string())))
            .collect(),
    }
}

/// The judgement of `rollout`'s current step from its versions' metrics, read patiently
/// (within `patience.reads`); metrics that cannot be read count as too few calls.
pub async fn read_judgement(
    source: &dyn MetricsSource,
    rollout: &Rollout,
    analysis: &Analysis,
    patience: &Patience,
    now: DateTime<Utc>,
) -> Judgement {
    let spec = &rollout.spec;
    let query = MetricsQuery {
        function: spec.function_short_name().to_string(),
        alias: spec.alias.clone(),
        target: spec.target_version.clone(),
        current: spec.current_version.clone().unwrap_or_default(),
        start: rollout.window_start(),
        end: now,
    };
    let mut backoff = patience.backoff(patience.reads);
    match retrying(&mut backoff, async || source.versions(&query).await).await {
        Ok((target, current)) => Judgement::of(rollout, analysis, target, current, now),
        Err(e) => Judgement::unreadable(rollout, &e.to_string(), now),
    }
}

/// Whether a failure may pass if the same call is tried again (throttling, a 5xx, a dropped
/// connection, a timeout), for [`retrying`].
pub trait Transient {
    fn is_transient(&self) -> bool;
}

impl Transient for crate::ports::CallFailed {
    fn is_transient(&self) -> bool {
        self.transient
    }
}

impl Transient for crate::ports::AliasError {
    fn is_transient(&self) -> bool {
        crate::ports::AliasError::is_transient(self)
    }
}

/// The one retry loop: runs `call` until it succeeds, fails for good, or `backoff` runs out
/// (the SDK's own few quick attempts are inside each call).
pub async fn retrying<T, E: Transient + std::fmt::Display>(
    backoff: &mut Backoff,
    mut call: impl AsyncFnMut() -> Result<T, E>,
) -> Result<T, E> {
    loop {
        match call().await {
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, "AWS call failed; trying again");
                if !backoff.wait().await {
                    return Err(e);
                }
            }
            other => return other,
        }
    }
}

/// One run of retries: each [`Backoff::wait`] sleeps twice as long as the last (up to the
/// ceiling, never past the bound) and says whether another attempt is allowed.
#[derive(Debug)]
pub struct Backoff {
    delay: Duration,
    max_delay: Duration,
    until: Instant,
    attempts: u32,
}

impl Backoff {
    /// Sleeps before the next attempt; `false` (at once) when the bound has passed.
    pub async fn wait(&mut self) -> bool {
        let now = Instant::now();
        if now >= self.until {
            return false;
        }
        // A little spread, without a random source: attempts of several drivers drift apart.
        let spread = self.delay / 10 * (self.attempts % 3);
        tokio::time::sleep_until((now + self.delay + spread).min(self.until)).await;
        self.delay = (self.delay * 2).min(self.max_delay);
        self.attempts += 1;
        true
    }

    /// How many attempts were made so far (for messages).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn backs_off_until_the_bound_then_stops() {
        let patience = Patience::default();
        let start = Instant::now();
        let mut backoff = patience.backoff(Duration::from_secs(60));
        let mut waits = 0;
        while backoff.wait().await {
            waits += 1;
        }
        let took = Instant::now() - start;
        assert!(
            took >= Duration::from_secs(60) && took < Duration::from_secs(61),
            "{took:?}"
        );
        // 0.5, 1, 2, 4, 8, 15, 15, … seconds: a handful of attempts, not a busy loop.
        assert!((6..=12).contains(&waits), "{waits}");
        assert_eq!(backoff.attempts(), waits + 1);
    }
}
