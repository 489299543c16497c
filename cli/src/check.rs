//! `rollout check`: every pre-flight check of `rollout run` and the alias's wiring, without
//! changing anything; exit 0 when clear (warnings allowed), 2 on any refusal.

use rollout_usecases::check::{check as check_rollout, Level, Report};
use rollout_usecases::readiness::ReadyWait;

use crate::args::{as_flags, CheckArgs, Global, Output};
use crate::exit::as_flags_in;
use crate::exit::{CommandError, INVALID, PROMOTED};

pub async fn check(args: &CheckArgs, global: &Global) -> Result<i32, CommandError> {
    if let Some(set) = &args.target.set {
        return crate::run_set::check_set(set, &args.target, global).await;
    }
    let spec = args.target.spec(None, None);
    spec.validate().map_err(as_flags)?;
    let wait_limit = args.target.wait_ready()?;
    let adapters = crate::aws::adapters(global).await?;
    let driver = adapters.driver("rollout-cli", &[], None);
    let json = global.output == Output::Json;
    let tell = |line: &str| {
        if global.quiet {
            return;
        }
        if json {
            eprintln!("{line}");
        } else {
            out!("{line}");
        }
    };
    let ready = ReadyWait {
        limit: wait_limit,
        on_wait: &tell,
    };
    let report = check_rollout(&driver, &adapters.triggers, &spec, &ready)
        .await
        .map_err(as_flags_in)?;
    match global.output {
        Output::Json => out!(
            "{}",
            serde_json::to_string_pretty(&report).expect("the report serializes")
        ),
        Output::Text => print_text(&report),
    }
    Ok(if report.clear { PROMOTED } else { INVALID })
}

fn print_text(report: &Report) {
    out!(
        "{}:{} -> version {}",
        report.function_name,
        report.alias,
        report.target_version
    );
    for finding in &report.findings {
        let level = match finding.level {
            Level::Pass => "ok",
            Level::Warning => "WARNING",
            Level::Refusal => "REFUSED",
        };
        out!("  {level:<8} {}: {}", finding.check, finding.message);
        if let Some(fix) = &finding.fix {
            out!("  {:<8} fix: {fix}", "");
        }
    }
    out!("{}", report.verdict);
}
