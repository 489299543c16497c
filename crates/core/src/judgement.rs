//! Canary judgement: the spec's `analysis`, and the verdict on a step from the target and
//! current versions' own metrics in the step's window (`pass`, `fail`, `insufficient`, with
//! the reason in words and numbers). Pure: counts in, verdict out; the caller brings the
//! metrics and the timestamps.
//!
//! Error rates are judged with exact one-sided Clopper–Pearson bounds (stats.rs; Clopper &
//! Pearson 1934, checked against R's `binom.test`): against `maxErrorRate` the target fails
//! when its lower bound at `confidence` is above the ceiling; against the current version it
//! fails when its lower bound minus the current version's upper bound, each at half the
//! leftover probability (Bonferroni), is above `maxErrorRateIncrease` (with no calls of the
//! current version, its rate counts as 0). Conservative for small counts (1 error in 3 calls
//! is not failed), yet a fail may come before `minInvocations` (10 errors in 10 calls).

mod analysis;
mod stats;

pub use analysis::{Analysis, HoldEnd, OnInsufficientData, MAX_EXTENSION_SECONDS};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize, Serializer};

/// What CloudWatch gave for one version in the window.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionMetrics {
    pub version: String,
    /// Sum of `Invocations`.
    pub invocations: u64,
    /// Sum of `Errors`.
    pub errors: u64,
    /// p99 of `Duration`, when CloudWatch had one.
    pub p99_ms: Option<f64>,
}

impl VersionMetrics {
    /// A version with nothing counted: what unreadable metrics amount to.
    pub fn none(version: &str) -> VersionMetrics {
        VersionMetrics {
            version: version.into(),
            invocations: 0,
            errors: 0,
            p99_ms: None,
        }
    }

    /// Errors over calls, 0 with no calls, at most 1 when errors outnumber calls.
    pub fn error_rate(&self) -> f64 {
        match self.invocations {
            0 => 0.0,
            n => self.errors.min(n) as f64 / n as f64,
        }
    }

    fn p99(&self) -> Option<f64> {
        self.p99_ms.filter(|ms| ms.is_finite() && *ms > 0.0)
    }

    /// `v3` for a numbered version, the name itself otherwise (`$LATEST`).
    fn label(&self) -> String {
        match self.version.chars().all(|c| c.is_ascii_digit()) {
            true => format!("v{}", self.version),
            false => self.version.clone(),
        }
    }

    /// `41 of 1000 calls (4.1%)`.
    fn tally(&self, noun: &str) -> String {
        let n = self.invocations;
        let errors = self.errors.min(n);
        format!("{errors} of {n}{noun} ({})", rate(self.error_rate()))
    }
}

/// `v3 failed 41 of 1000 calls (4.1%) vs v2 12 of 9000 (0.13%)`, and any clamped count.
fn summary(target: &VersionMetrics, current: &VersionMetrics) -> String {
    let (t, c) = (target.label(), current.label());
    let mut s = match (target.invocations, current.invocations) {
        (0, 0) => format!("{t} had no calls, nor {c}"),
        (0, _) => format!("{t} had no calls; {c} failed {}", current.tally(" calls")),
        (_, 0) => format!("{t} failed {} vs {c} with no calls", target.tally(" calls")),
        _ => format!(
            "{t} failed {} vs {c} {}",
            target.tally(" calls"),
            current.tally("")
        ),
    };
    for m in [target, current]
        .into_iter()
        .filter(|m| m.errors > m.invocations)
    {
        s += &format!(
            " ({} counted {} errors in {} calls: taken as {})",
            m.label(),
            m.errors,
            m.invocations,
            m.invocations
        );
    }
    s
}

impl Serialize for VersionMetrics {
    /// As in `lastJudgement`: the counts with their `errorRate`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Shown<'a> {
            version: &'a str,
            invocations: u64,
            errors: u64,
            error_rate: f64,
            p99_ms: Option<f64>,
        }
        Shown {
            version: &self.version,
            invocations: self.invocations,
            errors: self.errors,
            error_rate: self.error_rate(),
            p99_ms: self.p99_ms,
        }
        .serialize(s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Insufficient,
}

/// The judgement of one step's window against `analysis`, with the reason in words and numbers.
pub fn judge(
    analysis: &Analysis,
    target: &VersionMetrics,
    current: &VersionMetrics,
) -> (Verdict, String) {
    let alpha = analysis.alpha();
    let c = current.label();
    let confidence = percent(1.0 - alpha);
    let mut findings = Vec::new();

    if let Some(ceiling) = analysis.max_error_rate {
        if stats::lower_bound(target.errors, target.invocations, alpha) > ceiling {
            findings.push(format!(
                "at {confidence} confidence the error rate is above the {} ceiling",
                percent(ceiling)
            ));
        }
    }
    // With no calls of the current version its rate is taken as 0, known exactly: the limit
    // of the rule below, so an absent baseline is never judged more harshly than a perfect one.
    let margin = analysis.max_error_rate_increase;
    let low = stats::lower_bound(target.errors, target.invocations, alpha / 2.0);
    if current.invocations == 0 {
        if low > margin {
            findings.push(format!(
                "with no calls of {c} to compare, at {confidence} confidence the error rate \
                 is above {} alone",
                percent(margin)
            ));
        }
    } else {
        let high = stats::upper_bound(current.errors, current.invocations, alpha / 2.0);
        if low - high > margin {
            findings.push(format!(
                "at {confidence} confidence the increase is above {} points",
                points(margin)
            ));
        }
    }
    let mut latency = None;
    if let (Some(ratio), Some(t_p99), Some(c_p99)) =
        (analysis.max_latency_ratio, target.p99(), current.p99())
    {
        let enough = analysis.min_invocations;
        if target.invocations >= enough && current.invocations >= enough {
            let (limit, shown) = (
                c_p99 * ratio,
                format!("p99 {} vs {} ms", ms(t_p99), ms(c_p99)),
            );
            if t_p99 > limit {
                findings.push(format!("{shown}, above {ratio}× ({} ms)", ms(limit)));
            } else {
                latency = Some(format!("{shown} within {ratio}×"));
            }
        }
    }

    let summary = summary(target, current);
    if !findings.is_empty() {
        return (Verdict::Fail, format!("{summary}: {}", findings.join("; ")));
    }
    if target.invocations < analysis.min_invocations {
        let why = format!(
            "{} of the {} calls needed, no clear failure yet",
            target.invocations, analysis.min_invocations
        );
        return (Verdict::Insufficient, format!("{summary}: {why}"));
    }
    let mut why = format!("within limits at {confidence} confidence");
    if let Some(latency) = latency {
        why += &format!("; {latency}");
    }
    (Verdict::Pass, format!("{summary}: {why}"))
}

/// The state's `lastJudgement`: the verdict and the evidence it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Judgement {
    pub verdict: Verdict,
    pub reason: String,
    /// RFC 3339, as the caller's clock gave it.
    pub at: String,
    pub window: Window,
    pub target: VersionMetrics,
    pub current: VersionMetrics,
}

/// The metrics' window, RFC 3339: from `stepStartedAt` to the judgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: String,
    pub end: String,
}

impl Judgement {
    pub fn new(
        analysis: &Analysis,
        target: VersionMetrics,
        current: VersionMetrics,
        at: String,
        window: Window,
    ) -> Judgement {
        let (verdict, reason) = judge(analysis, &target, &current);
        Judgement {
            verdict,
            reason,
            at,
            window,
            target,
            current,
        }
    }
}

impl Window {
    /// RFC 3339 to the second, as the rest of the state is written.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Window {
        let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        Window {
            start: at(start),
            end: at(end),
        }
    }
}

impl Judgement {
    /// One line for a progress display: `v3 2/500 errors (0.4%) vs v2 0.3%, p99 41 vs 38 ms`.
    pub fn line(&self) -> String {
        let (t, c) = (&self.target, &self.current);
        let mut line = format!(
            "{} {}/{} errors ({}) vs {} {}",
            t.label(),
            t.errors.min(t.invocations),
            t.invocations,
            rate(t.error_rate()),
            c.label(),
            rate(c.error_rate())
        );
        if let (Some(tp), Some(cp)) = (t.p99(), c.p99()) {
            line += &format!(", p99 {} vs {} ms", ms(tp), ms(cp));
        }
        line
    }
}

/// An observed rate as a percentage to two significant digits: 4.1%, 0.13%, 0%.
fn rate(r: f64) -> String {
    let pct = r * 100.0;
    let decimals = match pct {
        p if p <= 0.0 || p >= 10.0 => 0,
        p => (1.0 - p.log10().floor()).clamp(1.0, 12.0) as usize,
    };
    format!("{}%", trim(format!("{pct:.decimals$}")))
}

/// A configured fraction as a percentage: 0.95 → 95%, 0.025 → 2.5%.
fn percent(f: f64) -> String {
    format!("{}%", trim(format!("{:.3}", f * 100.0)))
}

/// A margin in percentage points, at least one decimal: 0.01 → 1.0.
fn points(f: f64) -> String {
    let s = trim(format!("{:.3}", f * 100.0));
    if s.contains('.') {
        s
    } else {
        s + ".0"
    }
}

fn ms(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}")
    } else {
        trim(format!("{v:.1}"))
    }
}

fn trim(s: String) -> String {
    match s.contains('.') {
        true => s.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => s,
    }
}

#[cfg(test)]
mod tests;
