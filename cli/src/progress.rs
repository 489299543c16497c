//! What `rollout run` shows while it works: a progress bar on a terminal, one plain line per
//! event otherwise (and on stderr when stdout carries JSON); with `-q` only how it ended.

use std::io::IsTerminal;
use std::time::Duration;

use chrono::{Local, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rollout_core::plan::{format_percent, format_seconds};
use rollout_core::printable::printable;
use rollout_core::state::Control;
use rollout_core::{Plan, Provisioning, Rollout, Status};

pub struct Progress {
    plan: Plan,
    bar: Option<ProgressBar>,
    to_stderr: bool,
    /// `-q`: no bar and no progress lines, only the final one.
    quiet: bool,
    /// (step, status, provisioned concurrency) last shown, so each event is told once.
    shown: Option<(usize, Status, Option<Provisioning>)>,
    /// (step, verdict) of the last judgement shown, so a line comes when it changes.
    judged: Option<(usize, rollout_core::Verdict)>,
    /// The operator's word last shown (paused, resumed, promoted), so each is told once.
    controlled: Option<Control>,
}

impl Progress {
    pub fn new(plan: Plan, to_stderr: bool, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(plan.total_seconds().max(1));
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        Progress {
            plan,
            bar,
            to_stderr,
            quiet,
            shown: None,
            judged: None,
            controlled: None,
        }
    }

    fn line(&self, text: String) {
        let text = stamped(&text);
        match &self.bar {
            Some(bar) => bar.println(text),
            None if self.to_stderr => eprintln!("{text}"),
            None => out!("{text}"),
        }
    }

    /// One line of its own (e.g. `waiting for version 3 to be Active: …`).
    pub fn note(&self, text: &str) {
        if !self.quiet {
            self.line(text.to_string());
        }
    }

    /// Tells a new step or an end, once, and a judgement whenever its verdict changes.
    pub fn show(&mut self, rollout: &Rollout) {
        if self.quiet {
            if rollout.status.is_terminal() {
                self.show_step(rollout);
            }
            return;
        }
        // The judgement first: it is why the step moved (or the rollout ended).
        if let Some(j) = &rollout.last_judgement {
            let key = (rollout.step_index, j.verdict);
            if self.judged != Some(key) || rollout.status.is_terminal() {
                self.judged = Some(key);
                let verdict = serde_json::to_value(j.verdict).unwrap_or_default();
                self.line(format!(
                    "judged {}: {}",
                    verdict.as_str().unwrap_or("?"),
                    j.line()
                ));
            }
        }
        self.show_control(rollout);
        self.show_step(rollout);
    }

    /// An operator's pause, resume or promote, once each, as this run takes it.
    fn show_control(&mut self, rollout: &Rollout) {
        if rollout.control == self.controlled || rollout.status.is_terminal() {
            return;
        }
        self.controlled = rollout.control;
        let at = format!(
            "{} on {} (step {}/{})",
            format_percent(rollout.weight),
            rollout.spec.target_version,
            rollout.step_index + 1,
            self.plan.steps.len()
        );
        let text = match rollout.control {
            Some(Control::Paused) => {
                format!("paused by an operator at {at}; alarms are still watched (rollout resume to go on)")
            }
            Some(Control::Resumed) => format!("resumed by an operator at {at}"),
            Some(Control::Promoted) => {
                format!("promoted by an operator at {at}: the hold ends now")
            }
            Some(Control::PromotedFull) => {
                format!("promoted by an operator at {at}: straight to 100 %")
            }
            None => return,
        };
        self.line(text);
    }

    fn show_step(&mut self, rollout: &Rollout) {
        let key = (
            rollout.step_index,
            rollout.status,
            rollout.provisioned_concurrency,
        );
        if self.shown == Some(key) {
            return;
        }
        let first = self.shown.is_none();
        let same_step = self
            .shown
            .is_some_and(|(step, ..)| step == rollout.step_index);
        self.shown = Some(key);
        let spec = &rollout.spec;
        let (from, to) = (
            spec.current_version.as_deref().unwrap_or("?"),
            &spec.target_version,
        );
        let step = format!("step {}/{}", rollout.step_index + 1, self.plan.steps.len());
        let text = match rollout.status {
            Status::InProgress => {
                // What is left of the hold: all of it after a shift, less on a resumed run.
                let hold = rollout.next_step_at.map_or(0, |at| {
                    ((at - Utc::now()).num_milliseconds().max(0) as u64).div_ceil(1000)
                });
                let verb = if first {
                    format!("started {} {from} -> {to}:", rollout.rollout_id)
                } else if same_step {
                    "provisioned concurrency READY:".into()
                } else {
                    "shifted:".into()
                };
                let what = match rollout.provisioned_concurrency {
                    // Its hold starts once the new weights are allocated.
                    Some(Provisioning::Allocating) => format!(
                        "waiting up to {} for its provisioned concurrency to be READY",
                        format_seconds(hold)
                    ),
                    _ if rollout.weight >= 1.0 => format!("baking {}", format_seconds(hold)),
                    _ => format!("holding {}", format_seconds(hold)),
                };
                format!(
                    "{verb} {} on {to} ({step}), {what}",
                    format_percent(rollout.weight)
                )
            }
            status => format!(
                "{}: {}",
                status.as_str(),
                rollout.reason.as_deref().unwrap_or_default()
            ),
        };
        self.line(text);
    }

    /// What draws the bar while a step holds, apart from the rest of the display.
    pub fn ticker(&self) -> Ticker {
        Ticker {
            bar: self.bar.clone(),
            total_seconds: self.plan.total_seconds(),
            steps: self.plan.steps.len(),
        }
    }

    pub fn interrupted(&self, rollout: &Rollout) {
        self.line(format!("interrupted: {}", resume_hint(rollout)));
        self.finish(rollout);
    }

    /// After SIGTERM: the alias is left as it is, people have been told.
    pub fn terminated(&self, rollout: &Rollout) {
        self.line(format!("terminated (SIGTERM): {}", resume_hint(rollout)));
        self.finish(rollout);
    }

    /// After a runtime error: where the alias was left, and how to go on.
    pub fn line_for_resume(&self, rollout: &Rollout) {
        self.line(resume_hint(rollout));
        self.finish(rollout);
    }

    pub fn finish(&self, _rollout: &Rollout) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// One progress line, timed: a reason replayed from a marker (an alarm's StateReason through
/// alarm-rollback's why=) is shown with its escapes visible, on its one line.
fn stamped(text: &str) -> String {
    format!("[{}] {}", Local::now().format("%H:%M:%S"), printable(text))
}

fn resume_hint(rollout: &Rollout) -> String {
    let spec = &rollout.spec;
    format!(
        "the alias is left as it is ({} on {}). Resume by running the same `rollout run` \
         again, or put it back with: rollout abort --function {} --alias {}",
        format_percent(rollout.weight),
        spec.target_version,
        spec.function_name,
        spec.alias
    )
}

/// The progress bar's clock hand: a clone of the bar, for the waits between checks.
pub struct Ticker {
    bar: Option<ProgressBar>,
    total_seconds: u64,
    steps: usize,
}

impl Ticker {
    /// Waits `wait`, keeping the bar's position and message current.
    pub async fn tick_for(&self, rollout: &Rollout, wait: Duration) {
        let Some(bar) = &self.bar else {
            return tokio::time::sleep(wait).await;
        };
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let now = Utc::now();
            let elapsed = (now - rollout.started_at).num_seconds().max(0) as u64;
            let left = rollout
                .next_step_at
                .map_or(0, |at| (at - now).num_seconds().max(0) as u64);
            bar.set_position(elapsed.min(self.total_seconds));
            let judged = rollout
                .last_judgement
                .as_ref()
                .map(|j| format!(" · {}", j.line()))
                .unwrap_or_default();
            let next = match rollout.control {
                Some(Control::Paused) => "paused".to_string(),
                _ => format!("next in {}", format_seconds(left)),
            };
            let message = format!(
                "step {}/{} · {} on {} · {next}{judged}",
                rollout.step_index + 1,
                self.steps,
                format_percent(rollout.weight),
                rollout.spec.target_version,
            );
            bar.set_message(printable(&message).into_owned());
            let step = deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .min(Duration::from_millis(250));
            if step.is_zero() {
                return;
            }
            tokio::time::sleep(step).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_replayed_alarm_reason_is_shown_with_escapes_made_visible() {
        let line = super::stamped(
            "RolledBack: alarm orders-errors went to ALARM: \u{1b}[2J\u{1b}]8;;http://x\u{7}\
             see\u{202e}gol\n[12:00:00] Succeeded",
        );
        assert!(
            !line.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{line:?}"
        );
        assert!(
            line.ends_with(
                "ALARM: \\u001b[2J\\u001b]8;;http://x\\u0007see\\u202egol\\u000a[12:00:00] Succeeded"
            ),
            "{line}"
        );
    }
}
