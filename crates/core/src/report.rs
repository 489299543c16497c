//! The rollout report (`rollout report`): one self-contained HTML page (inline CSS and SVG, no
//! script, nothing fetched) with the timeline of a rollout, built from CloudWatch and the
//! alias alone: the weight steps (`LambdaRollout/TrafficWeight`), each version's error rate
//! and p99 (`AWS/Lambda` by `ExecutedVersion`), the guarding alarms' state changes, the
//! canary verdicts (`LambdaRollout/CanaryVerdict`) and the outcome the alias's marker records.
//! Pure: the caller reads CloudWatch and the alias; every text from them is escaped here.

mod svg;

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::marker::Marker;
use crate::printable;

/// One datapoint of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub at: DateTime<Utc>,
    pub value: f64,
}

/// What Lambda reported for one version called through the alias, per minute.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VersionSeries {
    pub version: String,
    pub invocations: Vec<Point>,
    pub errors: Vec<Point>,
    pub p99_ms: Vec<Point>,
}

/// One `StateUpdate` from an alarm's history.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmChange {
    pub alarm: String,
    pub at: DateTime<Utc>,
    pub from: String,
    pub to: String,
    pub reason: String,
}

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInput {
    pub function: String,
    pub alias: String,
    /// The rollout the window was chosen for, if one was.
    pub rollout_id: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `TrafficWeight`, percent of traffic on the rollout's new version.
    pub weight: Vec<Point>,
    /// `CanaryVerdict`, 1 for a failed judgement.
    pub verdict: Vec<Point>,
    pub versions: Vec<VersionSeries>,
    /// The alarms whose history was read.
    pub alarms: Vec<String>,
    pub changes: Vec<AlarmChange>,
    /// The marker of the rollout the report is about, when the alias still carries it.
    pub outcome: Option<Marker>,
    /// False when the alias no longer looks as the marker says (moved by hand since).
    pub outcome_current: bool,
    /// The alias as it is now, in words (`1`, `1 (90%) + 2 (10%)`).
    pub alias_now: String,
    pub generated_at: DateTime<Utc>,
    /// When the alias is a member of a release set: its name and every member its ring
    /// reaches, each where it stands now.
    pub set: Option<(String, Vec<SetMemberNow>)>,
}

/// One member of a release set as the report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SetMemberNow {
    /// `orders-api:live`
    pub label: String,
    pub from_version: String,
    pub to_version: String,
    /// Its alias now, in words.
    pub alias_now: String,
    pub status: String,
}

/// The weight's changes: the first point, then each point whose value differs from the one
/// before (a driver republishes the same weight while a step holds).
pub fn weight_steps(weight: &[Point]) -> Vec<Point> {
    let mut sorted = weight.to_vec();
    sorted.sort_by_key(|p| p.at);
    let mut steps: Vec<Point> = Vec::new();
    for p in sorted {
        if steps
            .last()
            .is_none_or(|last| (last.value - p.value).abs() >= 0.005)
        {
            steps.push(p);
        }
    }
    steps
}

/// A version's error rate in percent for each minute that had calls.
pub fn error_rates(series: &VersionSeries) -> Vec<Point> {
    series
        .invocations
        .iter()
        .filter(|calls| calls.value > 0.0)
        .map(|calls| {
            let errors = series
                .errors
                .iter()
                .filter(|e| e.at == calls.at)
                .map(|e| e.value)
                .sum::<f64>();
            Point {
                at: calls.at,
                value: 100.0 * errors.min(calls.value) / calls.value,
            }
        })
        .collect()
}

/// Per-minute values drawn in the middle of their minute (CloudWatch stamps them with its
/// start), so that a short rollout's minute is drawn where it happened.
fn mid_minute(points: Vec<Point>) -> Vec<Point> {
    points
        .into_iter()
        .map(|p| Point {
            at: p.at + chrono::Duration::seconds(30),
            ..p
        })
        .collect()
}

/// Calls, errors and the highest minute's p99 of a version over the whole window.
fn totals(series: &VersionSeries) -> (f64, f64, Option<f64>) {
    // Folded from +0.0: `Sum` of no f64 is -0.0, which the table would print as "-0".
    let sum = |points: &[Point]| points.iter().fold(0.0, |total, p| total + p.value);
    let p99 = series.p99_ms.iter().map(|p| p.value).reduce(f64::max);
    (sum(&series.invocations), sum(&series.errors), p99)
}

/// Text safe inside HTML elements and attribute values; control and bidirectional characters
/// (from an alarm reason or an alias description) are shown in their visible form, as on a
/// terminal, never passed on for the browser to obey.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if printable::is_hidden(c) => out.push_str(&printable::visible(c)),
            c => out.push(c),
        }
    }
    out
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn percent(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    format!("{rounded} %")
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2933;margin:0;background:#f5f7fa}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 8px}
.sub{color:#52606d;margin:0 0 16px}
section{background:#fff;border:1px solid #d9e2ec;border-radius:6px;padding:16px;margin:0 0 16px}
.outcome{border-left:6px solid #9aa5b1}.outcome.succeeded{border-left-color:#2f9e44}
.outcome.rolledback,.outcome.failed{border-left-color:#d64545}.outcome.aborted{border-left-color:#f0b429}
.outcome.inprogress{border-left-color:#2680c2}
.status{font-weight:700;font-size:18px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0 0}dt{color:#52606d}dd{margin:0}
ol.steps{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:0 0 12px}
ol.steps li{background:#e6f0fa;border-radius:4px;padding:2px 8px}ol.steps time{color:#52606d;margin-right:6px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{color:#52606d;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}td.nowrap{white-space:nowrap}
.state-ALARM{color:#d64545;font-weight:700}.state-OK{color:#2f9e44;font-weight:700}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;color:#52606d;margin:4px 0 0}.swatch{display:inline-block;width:12px;height:3px;vertical-align:middle;margin-right:4px}
.warn{color:#b44d12}
footer{color:#52606d;font-size:12px;text-align:center;padding:8px}
svg{display:block;width:100%;height:auto}
";

/// The report page.
pub fn render(input: &ReportInput) -> String {
    let resource = format!("{}:{}", input.function, input.alias);
    let title = match &input.rollout_id {
        Some(id) => format!("{resource}, rollout {id}"),
        None => format!("{resource}, rollouts"),
    };
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>\n\
         <h1>{}</h1><p class=\"sub\">From {} to {}</p>\n",
        escape(&title),
        escape(&title),
        time(input.start),
        time(input.end),
    );
    html.push_str(&outcome_section(input));
    html.push_str(&set_section(input));
    html.push_str(&steps_section(input));
    html.push_str(&versions_section(input));
    html.push_str(&alarms_section(input));
    html.push_str(&verdict_section(input));
    let _ = write!(
        html,
        "<footer>Built from CloudWatch (LambdaRollout/TrafficWeight, LambdaRollout/CanaryVerdict, \
         AWS/Lambda by ExecutedVersion, alarm history) and the alias alone, at {}.</footer>\n\
         </main></body></html>\n",
        time(input.generated_at)
    );
    html
}

fn outcome_section(input: &ReportInput) -> String {
    let now = format!("<dt>alias now</dt><dd>{}</dd>", escape(&input.alias_now));
    let Some(m) = &input.outcome else {
        return format!(
            "<section id=\"outcome\" class=\"outcome\"><h2>Outcome</h2>\
             <p>The alias records no outcome for this window.</p><dl>{now}</dl></section>\n"
        );
    };
    let status = m.status.as_str();
    let mut fields = format!(
        "<dt>rollout</dt><dd>{}</dd><dt>versions</dt><dd>{} → {}</dd>",
        escape(&m.rollout_id),
        escape(&m.from_version),
        escape(&m.to_version)
    );
    if let Some(w) = m.weight {
        let _ = write!(
            fields,
            "<dt>traffic left on {}</dt><dd>{}</dd>",
            escape(&m.to_version),
            percent(w * 100.0)
        );
    }
    for (key, value) in [("by", &m.by), ("why", &m.why)] {
        if let Some(value) = value {
            let _ = write!(
                fields,
                "<dt>{key}</dt><dd id=\"{key}\">{}</dd>",
                escape(value)
            );
        }
    }
    let stale = match input.outcome_current {
        true => "",
        false => "<p class=\"warn\">The alias no longer matches this record (moved since?).</p>",
    };
    format!(
        "<section id=\"outcome\" class=\"outcome {}\"><h2>Outcome</h2>\
         <p class=\"status\">{}</p>{stale}<dl>{fields}{now}</dl></section>\n",
        status.to_ascii_lowercase(),
        escape(status)
    )
}

/// Every member of the set the alias belongs to, a line each.
fn set_section(input: &ReportInput) -> String {
    let Some((name, members)) = &input.set else {
        return String::new();
    };
    let mut html = format!(
        "<section id=\"set\"><h2>Release set {} ({} members)</h2><ul class=\"members\">",
        escape(name),
        members.len()
    );
    for m in members {
        let _ = write!(
            html,
            "<li class=\"member\" data-status=\"{}\">{}: {} → {}, now {} ({})</li>",
            escape(&m.status),
            escape(&m.label),
            escape(&m.from_version),
            escape(&m.to_version),
            escape(&m.alias_now),
            escape(&m.status)
        );
    }
    html.push_str("</ul></section>\n");
    html
}

fn target_version(input: &ReportInput) -> Option<&str> {
    input.outcome.as_ref().map(|m| m.to_version.as_str())
}

fn steps_section(input: &ReportInput) -> String {
    let steps = weight_steps(&input.weight);
    let on = match target_version(input) {
        Some(v) => format!("Traffic on version {}", escape(v)),
        None => "Traffic on the new version".to_string(),
    };
    let mut html = format!("<section id=\"steps\"><h2>{on}</h2>");
    if steps.is_empty() {
        html.push_str("<p>No TrafficWeight in this window.</p>");
    } else {
        html.push_str("<ol class=\"steps\">");
        for (i, s) in steps.iter().enumerate() {
            let arrow = if i == 0 { "" } else { "→ " };
            let _ = write!(
                html,
                "<li class=\"step\" data-percent=\"{}\">{arrow}<time>{}</time>{}</li>",
                (s.value * 100.0).round() / 100.0,
                s.at.format("%H:%M:%S"),
                percent(s.value)
            );
        }
        html.push_str("</ol>");
    }
    let marks = marks(input);
    html.push_str(&svg::chart(&svg::Chart {
        id: "weight-chart",
        unit: "%",
        start: input.start,
        end: input.end,
        y_max: Some(100.0),
        series: vec![svg::Series {
            label: "weight".into(),
            color: TARGET_COLOR,
            points: steps,
            step: true,
        }],
        marks: &marks,
    }));
    html.push_str(&mark_legend(&marks));
    html.push_str("</section>\n");
    html
}

const TARGET_COLOR: &str = "#e8590c";
const CURRENT_COLOR: &str = "#1c7ed6";
const OTHER_COLOR: &str = "#868e96";

fn color(input: &ReportInput, version: &str) -> &'static str {
    match &input.outcome {
        Some(m) if m.to_version == version => TARGET_COLOR,
        Some(m) if m.from_version == version => CURRENT_COLOR,
        _ => OTHER_COLOR,
    }
}

/// Alarm changes and failed verdicts, as vertical marks on every chart.
fn marks(input: &ReportInput) -> Vec<svg::Mark> {
    let alarms = input.changes.iter().map(|c| svg::Mark {
        at: c.at,
        color: if c.to == "ALARM" {
            "#d64545"
        } else {
            "#2f9e44"
        },
        label: format!("{}: {} → {}", c.alarm, c.from, c.to),
    });
    let verdicts = input
        .verdict
        .iter()
        .filter(|v| v.value >= 1.0)
        .map(|v| svg::Mark {
            at: v.at,
            color: "#7048e8",
            label: "canary verdict: fail".into(),
        });
    alarms.chain(verdicts).collect()
}

fn mark_legend(marks: &[svg::Mark]) -> String {
    if marks.is_empty() {
        return String::new();
    }
    let mut html = String::from("<div class=\"legend\">");
    for m in marks {
        let _ = write!(
            html,
            "<span><span class=\"swatch\" style=\"background:{}\"></span>{} {}</span>",
            m.color,
            m.at.format("%H:%M:%S"),
            escape(&m.label)
        );
    }
    html.push_str("</div>");
    html
}

fn versions_section(input: &ReportInput) -> String {
    let marks = marks(input);
    let series = |points: &dyn Fn(&VersionSeries) -> Vec<Point>| -> Vec<svg::Series> {
        input
            .versions
            .iter()
            .map(|v| svg::Series {
                label: format!("version {}", v.version),
                color: color(input, &v.version),
                points: mid_minute(points(v)),
                step: false,
            })
            .collect()
    };
    let mut html =
        String::from("<section id=\"versions\"><h2>Error rate by version (%, per minute)</h2>");
    html.push_str(&svg::chart(&svg::Chart {
        id: "error-rate-chart",
        unit: "%",
        start: input.start,
        end: input.end,
        y_max: None,
        series: series(&error_rates),
        marks: &marks,
    }));
    html.push_str("<h2>p99 duration by version (ms, per minute)</h2>");
    html.push_str(&svg::chart(&svg::Chart {
        id: "p99-chart",
        unit: "ms",
        start: input.start,
        end: input.end,
        y_max: None,
        series: series(&|v| v.p99_ms.clone()),
        marks: &marks,
    }));
    html.push_str(
        "<table id=\"version-totals\"><tr><th>version</th><th>calls</th><th>errors</th>\
         <th>error rate</th><th>highest minute p99</th></tr>",
    );
    for v in &input.versions {
        let (calls, errors, p99) = totals(v);
        let rate = match calls > 0.0 {
            true => percent(100.0 * errors.min(calls) / calls),
            false => "–".into(),
        };
        let p99 = p99.map_or("–".into(), |ms| format!("{ms:.1} ms"));
        let _ = write!(
            html,
            "<tr class=\"version\" data-version=\"{0}\"><td><span class=\"swatch\" style=\"background:{1}\"></span>{0}</td>\
             <td class=\"num\">{calls}</td><td class=\"num\">{errors}</td><td class=\"num\">{rate}</td><td class=\"num\">{p99}</td></tr>",
            escape(&v.version),
            color(input, &v.version)
        );
    }
    html.push_str("</table></section>\n");
    html
}

fn alarms_section(input: &ReportInput) -> String {
    let mut html = String::from("<section id=\"alarms\"><h2>Alarms</h2>");
    match input.alarms.is_empty() {
        true => html.push_str(
            "<p>No alarm guards this alias (none names it in its dimensions, none was given).</p>",
        ),
        false => {
            let names: Vec<String> = input.alarms.iter().map(|a| escape(a)).collect();
            let _ = write!(html, "<p>Watched: {}</p>", names.join(", "));
        }
    }
    if input.changes.is_empty() {
        html.push_str("<p>No state changes in this window.</p>");
    } else {
        html.push_str(
            "<table id=\"alarm-changes\"><tr><th>time</th><th>alarm</th><th>change</th><th>reason</th></tr>",
        );
        let mut changes = input.changes.clone();
        changes.sort_by_key(|c| c.at);
        for c in &changes {
            let _ = write!(
                html,
                "<tr class=\"alarm-change\" data-alarm=\"{0}\" data-from=\"{1}\" data-to=\"{2}\">\
                 <td class=\"nowrap\">{3}</td><td class=\"nowrap\">{0}</td><td class=\"nowrap\"><span class=\"state-{1}\">{1}</span> → <span class=\"state-{2}\">{2}</span></td><td>{4}</td></tr>",
                escape(&c.alarm),
                escape(&c.from),
                escape(&c.to),
                c.at.format("%H:%M:%S"),
                escape(&c.reason)
            );
        }
        html.push_str("</table>");
    }
    html.push_str("</section>\n");
    html
}

fn verdict_section(input: &ReportInput) -> String {
    let fails: Vec<&Point> = input.verdict.iter().filter(|v| v.value >= 1.0).collect();
    let text = match (input.verdict.is_empty(), fails.as_slice()) {
        (true, _) => "No CanaryVerdict in this window (the rollout was not judged, or judged by alarms only).".to_string(),
        (false, []) => format!("{} verdicts, none failed.", input.verdict.len()),
        (false, fails) => {
            let times: Vec<String> = fails.iter().map(|f| f.at.format("%H:%M:%S").to_string()).collect();
            format!("Failed at {}.", times.join(", "))
        }
    };
    format!(
        "<section id=\"verdict\"><h2>Canary verdict</h2><p>{}</p></section>\n",
        escape(&text)
    )
}

#[cfg(test)]
mod tests;
