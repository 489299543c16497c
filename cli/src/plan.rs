//! `rollout plan`: the steps a strategy names, as a table or as DESIGN's JSON.

use rollout_core::plan::parse_hold;
use rollout_core::{InvalidField, Plan};

use crate::args::{Output, PlanArgs};
use crate::exit::{CommandError, PROMOTED};

pub fn plan(args: &PlanArgs) -> Result<i32, CommandError> {
    let bake = bake_seconds(args.bake.as_deref())?;
    let plan =
        Plan::parse(&args.strategy, bake).map_err(|e| CommandError::Invalid(e.to_string()))?;
    match args.output {
        Output::Json => out!(
            "{}",
            serde_json::to_string_pretty(&plan).expect("plan serializes")
        ),
        Output::Text => out!("{plan}"),
    }
    Ok(PROMOTED)
}

pub fn bake_seconds(bake: Option<&str>) -> Result<u64, CommandError> {
    bake.map(|b| parse_hold(b).map_err(|why| InvalidField::new("--bake", format!("{b:?} {why}"))))
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(CommandError::from)
}
