//! Strategies and the plans they name: a strategy string in, a list of (weight, hold) steps
//! ending at 1.0 out. Pure: no I/O, no clock.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::validate::InvalidField;

/// CodeDeploy's limits for TimeBasedCanary / TimeBasedLinear intervals, in minutes.
const MAX_MINUTES: u32 = 2880;
/// A custom hold may not exceed CodeDeploy's longest interval either.
pub const MAX_HOLD_SECONDS: u64 = MAX_MINUTES as u64 * 60;
/// Weights are kept in hundredths of a percent so that no float noise reaches an alias.
const FULL: u32 = 10_000;

/// The forms a strategy may take, quoted in every parse error.
pub const ACCEPTED_FORMS: &str = "AllAtOnce, Canary{P}Percent{N}Minute(s), \
Linear{P}PercentEvery{N}Minute(s) (optionally prefixed `Lambda` or `CodeDeployDefault.Lambda`; \
P in 1..=99, N in 1..=2880), or a custom list like `1%:1m,5%:2m,25%:5m` \
(weights strictly increasing in (0,100), holds like 0s, 30s, 5m, 1h)";

/// One step of a plan: put `weight` of the traffic on the target version, then hold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub weight: f64,
    pub hold_seconds: u64,
}

/// The steps a strategy names, always ending with weight 1.0 held for the bake time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub strategy: String,
    pub steps: Vec<Step>,
}

/// A strategy that could not be parsed: the input, quoted, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid strategy {input:?}: {problem}; accepted forms: {ACCEPTED_FORMS}")]
pub struct StrategyError {
    pub input: String,
    pub problem: String,
}

impl From<StrategyError> for InvalidField {
    fn from(e: StrategyError) -> Self {
        InvalidField::new("strategy", e.to_string())
    }
}

impl Plan {
    /// Parses `strategy` and appends the final 100% step, held for `bake_seconds`.
    pub fn parse(strategy: &str, bake_seconds: u64) -> Result<Plan, StrategyError> {
        let fail = |problem: String| StrategyError {
            input: strategy.to_string(),
            problem,
        };
        let mut partial = parse_partial_steps(strategy).map_err(fail)?;
        partial.push((FULL, bake_seconds));
        Ok(Plan {
            strategy: strategy.to_string(),
            steps: partial
                .into_iter()
                .map(|(w, hold_seconds)| Step {
                    weight: fraction(w),
                    hold_seconds,
                })
                .collect(),
        })
    }

    /// Seconds from the first shift to the end of the bake time.
    pub fn total_seconds(&self) -> u64 {
        self.steps.iter().map(|s| s.hold_seconds).sum()
    }

    /// Index of the final (100%) step.
    pub fn last_index(&self) -> usize {
        self.steps.len() - 1
    }
}

/// Hundredths of a percent to a fraction; an exact integer division, so 3000 gives 0.3.
fn fraction(hundredths_of_percent: u32) -> f64 {
    f64::from(hundredths_of_percent) / f64::from(FULL)
}

/// Rounds a fraction to the precision plans use (hundredths of a percent), without noise.
pub fn round_weight(weight: f64) -> f64 {
    fraction(
        (weight * f64::from(FULL))
            .round()
            .clamp(0.0, f64::from(FULL)) as u32,
    )
}

/// The steps before 100%, as (hundredths of a percent, hold seconds).
fn parse_partial_steps(input: &str) -> Result<Vec<(u32, u64)>, String> {
    if input.trim().is_empty() {
        return Err("it is empty".into());
    }
    if input.contains('%') {
        return parse_custom(input);
    }
    let name = input
        .strip_prefix("CodeDeployDefault.")
        .map(|rest| {
            rest.strip_prefix("Lambda")
                .ok_or("the CodeDeployDefault. prefix is only for Lambda configs")
        })
        .transpose()?
        .or_else(|| input.strip_prefix("Lambda"))
        .unwrap_or(input);
    if name == "AllAtOnce" {
        return Ok(Vec::new());
    }
    if let Some(rest) = name.strip_prefix("Canary") {
        let (percent, minutes) = percent_and_minutes(rest, "Percent")?;
        return Ok(vec![(percent * 100, u64::from(minutes) * 60)]);
    }
    if let Some(rest) = name.strip_prefix("Linear") {
        let (percent, minutes) = percent_and_minutes(rest, "PercentEvery")?;
        let hold = u64::from(minutes) * 60;
        return Ok((1..)
            .map(|i| i * percent * 100)
            .take_while(|w| *w < FULL)
            .map(|w| (w, hold))
            .collect());
    }
    Err("not a known strategy name".into())
}

/// Parses `{P}{sep}{N}Minute(s)` into (P, N) within CodeDeploy's limits.
fn percent_and_minutes(rest: &str, sep: &str) -> Result<(u32, u32), String> {
    let (p, after) = rest
        .split_once(sep)
        .ok_or_else(|| format!("expected `{sep}` after the percentage"))?;
    let n = after
        .strip_suffix("Minutes")
        .or_else(|| after.strip_suffix("Minute"))
        .ok_or("expected the interval to end in `Minute` or `Minutes`")?;
    let percent = whole_number(p).filter(|p| (1..=99).contains(p));
    let percent = percent.ok_or_else(|| format!("percentage `{p}` must be 1..=99"))?;
    let minutes = whole_number(n).filter(|n| (1..=MAX_MINUTES).contains(n));
    let minutes = minutes.ok_or_else(|| format!("minutes `{n}` must be 1..={MAX_MINUTES}"))?;
    Ok((percent, minutes))
}

fn whole_number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `W%:HOLD,W%:HOLD,…` with weights strictly increasing in (0,100).
fn parse_custom(input: &str) -> Result<Vec<(u32, u64)>, String> {
    let mut steps: Vec<(u32, u64)> = Vec::new();
    for (i, item) in input.split(',').map(str::trim).enumerate() {
        let n = i + 1;
        let (w, hold) = item
            .split_once(':')
            .ok_or_else(|| format!("step {n} `{item}` must look like `W%:HOLD`"))?;
        let weight = parse_percent(w.trim())
            .ok_or_else(|| format!("step {n}: weight `{w}` must be a percentage like `5%`"))?;
        if weight == 0 || weight >= FULL {
            return Err(format!(
                "step {n}: weight `{w}` must be above 0% and below 100% (100% is always the last step)"
            ));
        }
        if let Some(&(prev, _)) = steps.last() {
            if weight <= prev {
                return Err(format!(
                    "step {n}: weight `{w}` must be greater than the step before"
                ));
            }
        }
        let hold = parse_hold(hold.trim())
            .map_err(|why| format!("step {n}: hold `{}` {why}", hold.trim()))?;
        steps.push((weight, hold));
    }
    Ok(steps)
}

/// A fraction as a percentage for people: 0.1 → `10%`, 0.055 → `5.5%`.
pub fn format_percent(weight: f64) -> String {
    let hundredths = (weight * f64::from(FULL)).round() as u32;
    let (whole, rest) = (hundredths / 100, hundredths % 100);
    match rest {
        0 => format!("{whole}%"),
        r if r % 10 == 0 => format!("{whole}.{}%", r / 10),
        r => format!("{whole}.{r:02}%"),
    }
}

/// A percentage with at most two decimals, in hundredths of a percent.
fn parse_percent(s: &str) -> Option<u32> {
    let number = s.strip_suffix('%')?;
    let (whole, decimals) = number.split_once('.').unwrap_or((number, ""));
    if decimals.len() > 2 || (number.contains('.') && decimals.is_empty()) {
        return None;
    }
    let whole = whole_number(whole)?;
    let decimals = if decimals.is_empty() {
        0
    } else {
        whole_number(decimals)? * if decimals.len() == 1 { 10 } else { 1 }
    };
    whole.checked_mul(100)?.checked_add(decimals)
}

/// A hold like `0s`, `30s`, `5m`, `1h`, or `1h30m`.
pub fn parse_hold(s: &str) -> Result<u64, String> {
    if s == "0" || s.is_empty() {
        return Err("needs a unit: s, m or h (e.g. `30s`, `5m`)".into());
    }
    let seconds = humantime::parse_duration(s)
        .map_err(|_| "must be a duration like 0s, 30s, 5m or 1h".to_string())?;
    if seconds.subsec_nanos() != 0 {
        return Err("must be a whole number of seconds".into());
    }
    let seconds = seconds.as_secs();
    if seconds > MAX_HOLD_SECONDS {
        return Err("must be at most 48h (2 days, CodeDeploy's longest interval)".into());
    }
    Ok(seconds)
}

/// Seconds as a short human duration: `90s` → `1m 30s`.
pub fn format_seconds(seconds: u64) -> String {
    humantime::format_duration(Duration::from_secs(seconds)).to_string()
}

impl fmt::Display for Plan {
    /// A table of steps with percentages and cumulative time.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "strategy: {}", self.strategy)?;
        writeln!(
            f,
            "{:>4}  {:>7}  {:>14}  {:>12}",
            "step", "traffic", "hold", "starts at"
        )?;
        let mut elapsed = 0;
        for (i, step) in self.steps.iter().enumerate() {
            let hold = if i == self.last_index() && step.hold_seconds > 0 {
                format!("{} bake", format_seconds(step.hold_seconds))
            } else {
                format_seconds(step.hold_seconds)
            };
            writeln!(
                f,
                "{:>4}  {:>7}  {:>14}  {:>12}",
                i + 1,
                format_percent(step.weight),
                hold,
                format!("+{}", format_seconds(elapsed))
            )?;
            elapsed += step.hold_seconds;
        }
        write!(f, "total: {}", format_seconds(self.total_seconds()))
    }
}

#[cfg(test)]
mod tests;
