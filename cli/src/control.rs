//! `rollout pause`, `rollout resume` and `rollout promote`: an operator's word on a rollout in
//! progress, recorded on its alias (whichever driver owns it takes it on its next check) and
//! told over SNS. A request that would change nothing is refused with exit 2, touching nothing;
//! the same request again (same word and reason) once it landed is not refused: its alert,
//! which a failed publish may still owe, goes out again under the same eventId. On a member of
//! a release set, the word is the whole set's: it is written on the set's lead (member 0),
//! whose driver takes it for every member, and told once for the set.

use rollout_aws::places::AwsPlaces;
use rollout_core::engine::control::Operator;
use rollout_core::plan::format_percent;
use rollout_usecases::driver::{ControlError, ControlRequest};
use rollout_usecases::set::SetDriver;

use crate::args::{ControlArgs, Global, Output};
use crate::exit::{CommandError, PROMOTED};

pub async fn control(
    args: &ControlArgs,
    op: Operator,
    global: &Global,
) -> Result<i32, CommandError> {
    let topic = args.topic.as_deref();
    let (adapters, config) =
        crate::aws::operator_adapters(global, &args.function, &args.alias, topic).await?;
    let driver = adapters.driver("rollout-cli", &[], None);
    let places = AwsPlaces::new(&adapters, &config);
    let sets = SetDriver {
        home: &driver,
        places: &places,
    };
    let now = chrono::Utc::now();
    let alias = sets.read_home(&args.function, &args.alias).await?;
    let found = sets.found_from(&args.function, &args.alias, alias).await?;
    let done = match &found {
        Some(set) => sets.control(set, op, &args.reason, topic, now).await,
        None => {
            let request = ControlRequest {
                function: &args.function,
                alias: &args.alias,
                op,
                reason: &args.reason,
                topic,
            };
            driver.control(request, now).await
        }
    };
    let done = match done {
        Ok(done) => done,
        Err(ControlError::Refused(why)) => return Err(CommandError::Refused(why.0)),
        Err(ControlError::Drive(e)) => return Err(e.into()),
    };
    let what = match op {
        Operator::Pause => "paused: no step advances until `rollout resume`; alarms still roll it back",
        Operator::Resume => "resumed: its step advances once its hold is over",
        Operator::Promote { full: false } => "promoted: its driver ends the current hold on its next check",
        Operator::Promote { full: true } => {
            "promoted: its driver goes straight to 100 % on its next check; the bake time still applies"
        }
    };
    // A set's word is recorded on its lead: said so, and which set.
    let (name, on_lead) = match &found {
        Some(set) => (
            format!("{} ({} functions)", set.name, set.count),
            format!(
                "; recorded on its lead {}:{}",
                done.function_name, done.alias
            ),
        ),
        None => (format!("{}:{}", args.function, args.alias), String::new()),
    };
    match global.output {
        Output::Json => {
            let mut doc = serde_json::json!({
                "functionName": args.function,
                "alias": args.alias,
                "rolloutId": done.rollout_id,
                "stepIndex": done.step_index,
                "weight": done.weight,
                "control": op.control(),
                "controlId": done.control_id,
                "alreadyRecorded": done.already_recorded,
                "reason": args.reason,
                "warning": done.warning,
            });
            if let Some(set) = &found {
                doc["set"] = set.name.clone().into();
                doc["lead"] =
                    serde_json::json!({"functionName": done.function_name, "alias": done.alias});
            }
            out!("{doc:#}")
        }
        Output::Text => out!(
            "{name} rollout {} at {} (step {}) {what}{on_lead}{}",
            done.rollout_id,
            format_percent(done.weight),
            done.step_index + 1,
            if done.already_recorded {
                " (this same request was already recorded: nothing written, its alert sent again under the same eventId)"
            } else {
                ""
            },
        ),
    }
    if let Some(warning) = &done.warning {
        eprintln!("warning: {warning}");
    }
    Ok(PROMOTED)
}
