//! `rollout plan`: the steps a strategy names, as a table or as DESIGN's JSON.

use rollout_core::plan::parse_hold;
use rollout_core::{Analysis, InvalidField, Plan};

use crate::args::{Output, PlanArgs};
use crate::exit::{CommandError, PROMOTED};

pub fn plan(args: &PlanArgs, output: Output) -> Result<i32, CommandError> {
    let bake = bake_seconds(args.bake.as_deref())?;
    let plan = Plan::parse(&args.strategy, bake).map_err(InvalidField::from)?;
    let analysis = analysis_arg(args.analysis.as_deref())?;
    match output {
        Output::Json => {
            let mut shown = serde_json::to_value(&plan).expect("plan serializes");
            if let Some(analysis) = &analysis {
                shown["analysis"] = serde_json::to_value(analysis).expect("analysis serializes");
            }
            out!(
                "{}",
                serde_json::to_string_pretty(&shown).expect("plan serializes")
            )
        }
        Output::Text => {
            out!("{plan}");
            if let Some(analysis) = &analysis {
                out!("{}", analysis.describe());
            }
        }
    }
    Ok(PROMOTED)
}

pub fn bake_seconds(bake: Option<&str>) -> Result<u64, CommandError> {
    bake.map(|b| parse_hold(b).map_err(|why| InvalidField::new("--bake", format!("{b:?} {why}"))))
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(CommandError::from)
}

/// `--analysis`: the spec's `analysis` object as JSON, or `@FILE` holding it; every error
/// names the field inside it (`analysis.confidence`).
pub fn analysis_arg(arg: Option<&str>) -> Result<Option<Analysis>, CommandError> {
    match analysis_value(arg)? {
        Some(value) => Ok(Some(Analysis::from_json(&value)?)),
        None => Ok(None),
    }
}

/// `--analysis` as the JSON it gives (inline, or `@FILE`), not yet checked.
pub fn analysis_value(arg: Option<&str>) -> Result<Option<serde_json::Value>, CommandError> {
    let Some(arg) = arg else {
        return Ok(None);
    };
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| InvalidField::new("--analysis", format!("cannot read {path}: {e}")))?,
        None => arg.to_string(),
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        InvalidField::new(
            "--analysis",
            format!("must be a JSON object like {{\"minInvocations\": 50}} or @FILE: {e}"),
        )
    })?;
    Ok(Some(value))
}
