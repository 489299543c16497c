//! One hook invocation: discover, check (cut off in time, panics caught), answer CodeDeploy,
//! then notify. The answer goes out whatever happened before it.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use serde_json::Value;
use tokio::time::Instant;

use super::checks::{self, Verdict};
use super::{appspec, AppSpecTarget, Budget, Hook, HookError, HookKind, HookReport, HookSettings};
use crate::announce::Announcer;
use crate::failure::Failure;
use crate::patience::{read_alarms, Patience};

/// A hook retries a throttled alarm read briefly: its checks are cut off by its deadline.
const HOOK_PATIENCE: Patience = Patience {
    reads: Duration::from_secs(10),
    rollback: Duration::from_secs(0),
    first_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(2),
};
use crate::ports::Answered;
use crate::readiness::{self, ReadyWait};
use rollout_core::{EventKind, Notification};

/// Why the checks reached no verdict; the hook answers `Failed` and returns an error.
struct Unchecked {
    error_type: &'static str,
    reason: String,
}

impl Unchecked {
    fn new(error_type: &'static str, reason: impl Into<String>) -> Unchecked {
        Unchecked {
            error_type,
            reason: reason.into(),
        }
    }
}

impl Hook {
    /// The function's whole job for one event: `deadline_ms` is the invocation's deadline
    /// as Lambda gives it (milliseconds since the epoch).
    pub async fn answer(&self, event: Value, deadline_ms: u64) -> Result<Value, Failure> {
        let report = self
            .answer_by(event, super::deadline_from_epoch_millis(deadline_ms))
            .await?;
        Ok(serde_json::to_value(report).expect("the report serializes"))
    }

    /// Answers one lifecycle hook event; `deadline` is when Lambda ends the invocation.
    pub async fn answer_by(
        &self,
        event: Value,
        deadline: Instant,
    ) -> Result<HookReport, HookError> {
        let event = super::parse_event(event).map_err(HookError::InvalidInput)?;
        let id = event.deployment_id.as_str();
        let margin = self
            .settings
            .as_ref()
            .map_or(Duration::from_secs(10), |s| s.margin);
        let budget = Budget::new(Instant::now(), deadline, margin);
        let mut target = None;
        let outcome = self.check(id, budget, &mut target).await;
        let (passed, reason, alarms) = match &outcome {
            Ok(verdict) => (verdict.passed(), verdict.reason(), verdict.alarms.clone()),
            Err(unchecked) => (false, unchecked.reason.clone(), Vec::new()),
        };
        let judgement = outcome.as_ref().ok().and_then(|v| v.judgement.clone());
        let status = if passed { "Succeeded" } else { "Failed" };
        tracing::info!(deployment_id = id, hook = self.kind.as_str(), status, %reason, "verdict");

        let answered = self
            .deployments
            .report(id, &event.lifecycle_event_hook_execution_id, passed)
            .await;
        let answered = match answered {
            Ok(answered) => answered,
            Err(source) => {
                let why = format!("could not answer CodeDeploy {status} ({reason}): {source}");
                // People hear of it now: until CodeDeploy has an answer the deployment waits.
                let _ = self
                    .notify(id, target.as_ref(), false, why, (alarms, judgement))
                    .await;
                return Err(HookError::Unanswered { status, source });
            }
        };
        let notified = match answered {
            Answered::Now => {
                let evidence = (alarms.clone(), judgement);
                self.notify(id, target.as_ref(), passed, reason.clone(), evidence)
                    .await
            }
            // An earlier attempt answered; its alert may not have gone out (the usual reason
            // for a retry): tell it again as CodeDeploy recorded it, under the same eventId.
            Answered::Already => {
                tracing::warn!(deployment_id = id, "CodeDeploy already had an answer");
                let evidence = (alarms.clone(), judgement);
                self.notify_earlier(id, target.as_ref(), passed, &reason, evidence)
                    .await
            }
        };
        if let Err(Unchecked { error_type, reason }) = outcome {
            return Err(HookError::Unchecked { error_type, reason });
        }
        let notified =
            notified.map_err(|message| HookError::NotificationFailed { status, message })?;
        Ok(HookReport {
            deployment_id: id.to_string(),
            hook: self.kind.as_str(),
            status,
            reason,
            target,
            alarms,
            answered_now: answered == Answered::Now,
            notified,
        })
    }

    /// Discovery, then the checks of this kind of hook; `target` is filled in once known.
    async fn check(
        &self,
        id: &str,
        budget: Budget,
        target: &mut Option<AppSpecTarget>,
    ) -> Result<Verdict, Unchecked> {
        let settings = self.settings.as_ref().map_err(|e| {
            Unchecked::new(
                "InvalidConfiguration",
                format!("the hook's configuration is invalid: {e}"),
            )
        })?;
        let found = guarded(budget.checks_by, self.discover(id)).await?;
        *target = Some(found.clone());
        match self.kind {
            HookKind::PreTraffic => {
                guarded(
                    budget.checks_by,
                    self.pre_traffic(settings, &found, budget.bake_by),
                )
                .await
            }
            HookKind::PostTraffic => {
                guarded(
                    budget.checks_by,
                    self.post_traffic(settings, &found, budget.bake_by),
                )
                .await
            }
        }
    }

    async fn discover(&self, id: &str) -> Result<AppSpecTarget, Unchecked> {
        let content = self.deployments.appspec(id).await.map_err(|e| {
            Unchecked::new(
                "DiscoveryFailed",
                format!("could not read the deployment: {e}"),
            )
        })?;
        appspec::parse(&content).map_err(|e| {
            Unchecked::new("DiscoveryFailed", format!("the deployment's AppSpec: {e}"))
        })
    }

    /// The target version (waited for until `wait_by` while `Pending`), the alarms, and the
    /// smoke test.
    async fn pre_traffic(
        &self,
        settings: &HookSettings,
        target: &AppSpecTarget,
        wait_by: Instant,
    ) -> Result<Verdict, Unchecked> {
        let (function, version) = (&target.function_name, &target.target_version);
        let mut verdict = Verdict::default();
        let wait = ReadyWait::up_to(wait_by.saturating_duration_since(Instant::now()));
        let seen = readiness::wait_until_ready(self.aliases.as_ref(), function, version, &wait)
            .await
            .map_err(|e| Unchecked::new("AwsError", e.to_string()))?;
        let target_check =
            checks::target_version(function, version, &seen.version, seen.waited.as_secs());
        let invocable = target_check.is_ok();
        verdict.record(target_check);
        verdict.alarms = read_alarms(&*self.alarms, &settings.alarm_names, &HOOK_PATIENCE).await;
        verdict.record(checks::alarms(&verdict.alarms));
        if invocable && settings.smoke_test() {
            let payload = settings
                .smoke_payload
                .clone()
                .unwrap_or_else(|| Value::Object(Default::default()));
            let answer = self
                .invoker
                .invoke(function, version, &payload)
                .await
                .map_err(|e| Unchecked::new("AwsError", format!("smoke test: Lambda {e}")))?;
            verdict.record(checks::smoke(
                version,
                answer.function_error.as_deref(),
                &answer.payload,
                settings.smoke_expect.as_ref(),
            ));
        }
        Ok(verdict)
    }

    /// Reads the alarms every `poll` until the bake ends, failing at the first that fires;
    /// then, with `ANALYSIS`, judges the target version's own metrics over the bake.
    async fn post_traffic(
        &self,
        settings: &HookSettings,
        target: &AppSpecTarget,
        bake_by: Instant,
    ) -> Result<Verdict, Unchecked> {
        let analysis = match &settings.analysis {
            Some(Err(e)) => {
                return Err(Unchecked::new(
                    "InvalidConfiguration",
                    format!("the hook's configuration is invalid: {e}"),
                ))
            }
            Some(Ok(analysis)) => Some(analysis),
            None => None,
        };
        let names = &settings.alarm_names;
        let mut verdict = Verdict::default();
        if names.is_empty() && analysis.is_none() {
            verdict.record(Ok("no alarms named, nothing to watch".into()));
            return Ok(verdict);
        }
        let bake = Duration::from_secs(settings.bake_seconds);
        let start = Instant::now();
        let started_at = chrono::Utc::now();
        let end = (start + bake).min(bake_by);
        loop {
            verdict.alarms = read_alarms(&*self.alarms, names, &HOOK_PATIENCE).await;
            if let Err(failure) = checks::alarms(&verdict.alarms) {
                let after = start.elapsed().as_secs();
                verdict.record(Err(format!(
                    "{failure} ({after}s into a {}s bake)",
                    bake.as_secs()
                )));
                return Ok(verdict);
            }
            let now = Instant::now();
            if now >= end {
                break;
            }
            tokio::time::sleep_until((now + settings.poll).min(end)).await;
        }
        let watched = (end - start).as_secs();
        if !names.is_empty() {
            verdict.record(Ok(if end < start + bake {
                format!(
                    "no alarm in ALARM for {watched}s (the {}s bake was cut to fit the invocation's timeout)",
                    bake.as_secs()
                )
            } else {
                format!("no alarm in ALARM during a {watched}s bake")
            }));
        }
        if let Some(analysis) = analysis {
            let judged = self.judge(analysis, target, started_at).await;
            verdict.record(checks::judgement(analysis, &judged));
            verdict.judgement = Some(judged);
        }
        Ok(verdict)
    }

    /// The target version's metrics over the bake, judged: after 100 % there is no split,
    /// so the current version's calls (if any) are compared and the absolute limits apply.
    async fn judge(
        &self,
        analysis: &rollout_core::Analysis,
        target: &AppSpecTarget,
        since: chrono::DateTime<chrono::Utc>,
    ) -> rollout_core::Judgement {
        use rollout_core::judgement::Window;
        use rollout_core::{Judgement, VersionMetrics};
        let now = chrono::Utc::now();
        let query = crate::ports::MetricsQuery {
            function: rollout_core::validate::short_function_name(&target.function_name).into(),
            alias: target.alias.clone(),
            target: target.target_version.clone(),
            current: target.current_version.clone(),
            start: since,
            end: now,
        };
        let window = Window::new(since, now);
        match self.metrics.versions(&query).await {
            Ok((t, c)) => Judgement::new(analysis, t, c, window.end.clone(), window),
            Err(e) => {
                let mut j = Judgement::new(
                    analysis,
                    VersionMetrics::none(&query.target),
                    VersionMetrics::none(&query.current),
                    window.end.clone(),
                    window,
                );
                j.reason = format!("the metrics could not be read ({e}): counted as too few calls");
                j
            }
        }
    }

    /// Re-sends the alert of the answer an earlier attempt gave, as CodeDeploy recorded it
    /// (the same eventId: a subscriber drops it if the first went out). This attempt's reason
    /// and evidence go with it only when its verdict is the same; when CodeDeploy does not
    /// say, nothing is sent (an alert that may be false is worse than a duplicate).
    async fn notify_earlier(
        &self,
        id: &str,
        target: Option<&AppSpecTarget>,
        passed: bool,
        reason: &str,
        evidence: (
            Vec<rollout_core::AlarmVerdict>,
            Option<rollout_core::Judgement>,
        ),
    ) -> Result<bool, String> {
        let earlier = match self
            .deployments
            .earlier_answer(id, self.kind.lifecycle_event())
            .await
        {
            Ok(Some(earlier)) => earlier,
            Ok(None) => return Ok(false),
            Err(e) => {
                tracing::warn!(deployment_id = id, error = %e, "could not read the earlier answer");
                return Ok(false);
            }
        };
        if earlier == passed {
            return self
                .notify(id, target, passed, reason.to_string(), evidence)
                .await;
        }
        let status = if earlier { "Succeeded" } else { "Failed" };
        let why = format!("an earlier attempt answered CodeDeploy {status}");
        self.notify(id, target, earlier, why, (Vec::new(), None))
            .await
    }

    /// Sends `hook.succeeded` or `hook.failed` on every channel configured (the SNS one to
    /// `NOTIFICATION_TOPIC_ARN`); whether there was any to send it on.
    async fn notify(
        &self,
        id: &str,
        target: Option<&AppSpecTarget>,
        passed: bool,
        reason: String,
        (alarms, judgement): (
            Vec<rollout_core::AlarmVerdict>,
            Option<rollout_core::Judgement>,
        ),
    ) -> Result<bool, String> {
        let topic = self
            .settings
            .as_ref()
            .ok()
            .and_then(|s| s.topic_arn.clone());
        if self.channels.is_empty() {
            return Ok(false);
        }
        let (kind, status) = if passed {
            (EventKind::HookSucceeded, "Succeeded")
        } else {
            (EventKind::HookFailed, "Failed")
        };
        let (function, alias, versions) = match target {
            Some(t) => (
                t.function_name.as_str(),
                t.alias.as_str(),
                (t.current_version.as_str(), t.target_version.as_str()),
            ),
            None => ("unknown", "unknown", ("?", "?")),
        };
        // Before traffic the target has none of it; after, all of it.
        let weight = match self.kind {
            HookKind::PreTraffic => 0.0,
            HookKind::PostTraffic => 1.0,
        };
        let notification = Notification::new(
            kind,
            id,
            function,
            alias,
            versions,
            weight,
            status,
            Some(reason),
            alarms,
            chrono::Utc::now(),
            self.kind.source(),
        )
        .judged(judgement);
        let mut notification = notification;
        notification.topic_arn = topic;
        let channels = self.channels.iter().map(|c| c.as_ref()).collect();
        match Announcer::new(channels, HOOK_PATIENCE)
            .announce(&notification)
            .await
        {
            None => Ok(true),
            Some(failures) => {
                tracing::error!(deployment_id = id, %failures, "notification failed");
                Err(failures)
            }
        }
    }
}

/// Runs `work` until `by`, turning a panic or running out of time into [`Unchecked`].
async fn guarded<T>(
    by: Instant,
    work: impl Future<Output = Result<T, Unchecked>>,
) -> Result<T, Unchecked> {
    match tokio::time::timeout_at(by, AssertUnwindSafe(work).catch_unwind()).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(Unchecked::new(
            "Panicked",
            format!("the checks panicked: {}", panic_message(panic.as_ref())),
        )),
        Err(_) => Err(Unchecked::new(
            "Timeout",
            "the checks did not finish in the time the invocation allows",
        )),
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
