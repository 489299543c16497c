//! The traffic shifter's contract: a spec starts a rollout, a state takes its next step, an
//! abort action puts the alias back. Parsing is strict (unknown or mistyped fields are named)
//! so that an invalid request never reaches AWS.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::aws::notify::EventKind;
use crate::driver::{new_rollout_id, DriveError, Driver, StopRequest};
use crate::state::{check_alias, check_function_name, InvalidField, Rollout, Spec};

const SPEC_FIELDS: &[&str] = &[
    "functionName",
    "alias",
    "targetVersion",
    "currentVersion",
    "strategy",
    "alarms",
    "notificationTopicArn",
    "bakeTime",
];
const PROGRESS_FIELDS: &[&str] = &[
    "rolloutId",
    "status",
    "stepIndex",
    "weight",
    "aliasRevisionId",
    "startedAt",
    "nextStepAt",
    "waitSeconds",
    "reason",
];
const ABORT_FIELDS: &[&str] = &[
    "action",
    "functionName",
    "alias",
    "reason",
    "notificationTopicArn",
    "targetVersion",
];

/// What a direct invocation or a Step Functions task asks of the shifter.
#[derive(Debug, Clone, PartialEq)]
pub enum ShifterRequest {
    Start(Spec),
    Step(Box<Rollout>),
    Abort {
        function_name: String,
        alias: String,
        reason: String,
        topic: Option<String>,
        /// When given, only a rollout to this version is stopped (see `StopRequest`).
        target_version: Option<String>,
    },
}

impl ShifterRequest {
    pub fn parse(event: Value) -> Result<ShifterRequest, InvalidField> {
        let Value::Object(fields) = event else {
            return Err(InvalidField::new(
                "event",
                "must be a JSON object: a rollout spec, a rollout state, or {\"action\":\"abort\", …}",
            ));
        };
        if let Some(action) = fields.get("action") {
            if action != "abort" {
                return Err(InvalidField::new(
                    "action",
                    format!("{action} is not known; the only action is \"abort\""),
                ));
            }
            check_fields(&fields, &[ABORT_FIELDS])?;
            let text =
                |name: &'static str| fields.get(name).and_then(Value::as_str).map(String::from);
            let function_name = text("functionName")
                .ok_or_else(|| InvalidField::new("functionName", "is required"))?;
            let alias = text("alias").ok_or_else(|| InvalidField::new("alias", "is required"))?;
            check_function_name(&function_name)?;
            check_alias(&alias)?;
            let target_version = match fields.get("targetVersion") {
                None => None,
                Some(Value::String(v)) => Some(v.clone()),
                Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
                Some(other) => {
                    return Err(InvalidField::new(
                        "targetVersion",
                        format!("{other} must be a published version number like \"7\""),
                    ))
                }
            };
            return Ok(ShifterRequest::Abort {
                function_name,
                alias,
                reason: text("reason").unwrap_or_else(|| "aborted on request".into()),
                topic: text("notificationTopicArn"),
                target_version,
            });
        }
        if fields.contains_key("rolloutId") {
            check_fields(&fields, &[SPEC_FIELDS, PROGRESS_FIELDS])?;
            let rollout: Rollout = typed(fields)?;
            rollout.spec.validate()?;
            if rollout.status == crate::Status::InProgress && rollout.spec.current_version.is_none()
            {
                return Err(InvalidField::new(
                    "currentVersion",
                    "a rollout state must carry the version it started from",
                ));
            }
            return Ok(ShifterRequest::Step(Box::new(rollout)));
        }
        check_fields(&fields, &[SPEC_FIELDS])?;
        let spec: Spec = typed(fields)?;
        spec.validate()?;
        Ok(ShifterRequest::Start(spec))
    }
}

/// Refuses fields the contract does not know, naming them (a typo must not go unnoticed).
fn check_fields(fields: &Map<String, Value>, allowed: &[&[&str]]) -> Result<(), InvalidField> {
    match fields
        .keys()
        .find(|k| !allowed.iter().any(|set| set.contains(&k.as_str())))
    {
        None => Ok(()),
        Some(unknown) => Err(InvalidField::new(
            "event",
            format!(
                "unknown field {unknown:?}; allowed: {}",
                allowed
                    .iter()
                    .flat_map(|s| s.iter())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Deserializes with the failing field's path in the error.
fn typed<T: DeserializeOwned>(fields: Map<String, Value>) -> Result<T, InvalidField> {
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let segment = path.split(['.', '[']).next().unwrap_or_default();
        let field = SPEC_FIELDS
            .iter()
            .chain(PROGRESS_FIELDS)
            .find(|f| segment == **f || inner.contains(&format!("`{f}`")))
            .copied()
            .unwrap_or("event");
        InvalidField::new(field, inner)
    })
}

/// Carries out one request and returns what the caller gets back (a rollout state, or what an
/// abort did).
pub async fn handle(
    driver: &Driver<'_>,
    request: ShifterRequest,
    now: DateTime<Utc>,
) -> Result<Value, DriveError> {
    let answer = match request {
        ShifterRequest::Start(spec) => {
            to_value(driver.start(&spec, new_rollout_id(now), now).await?)
        }
        ShifterRequest::Step(rollout) => to_value(driver.step(&rollout, now).await?),
        ShifterRequest::Abort {
            function_name,
            alias,
            reason,
            topic,
            target_version,
        } => {
            let request = StopRequest {
                function: &function_name,
                alias: &alias,
                kind: EventKind::Aborted,
                reason: &reason,
                topic: topic.as_deref(),
                alarms: Vec::new(),
                only_to_version: target_version.as_deref(),
            };
            to_value(driver.stop(request, now).await?)
        }
    };
    Ok(answer)
}

/// A failed invocation, as Lambda reports it: an `errorType` and a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error_type: &'static str,
    pub message: String,
}

/// Everything the traffic-shifter function accepts: a CodePipeline job, or a spec, a state
/// or an abort action. The event is never logged: a job carries artifact credentials.
pub async fn dispatch(
    driver: &Driver<'_>,
    results: &dyn crate::aws::pipeline::JobResults,
    event: Value,
    now: DateTime<Utc>,
) -> Result<Value, Failure> {
    let invalid = |e: InvalidField| Failure {
        error_type: "InvalidInput",
        message: e.to_string(),
    };
    if crate::pipeline::PipelineJob::detect(&event) {
        let job = crate::pipeline::PipelineJob::parse(event).map_err(invalid)?;
        let outcome = crate::pipeline::handle(driver, results, &job, now)
            .await
            .map_err(|e| Failure {
                error_type: "AwsError",
                message: e.to_string(),
            })?;
        return Ok(crate::pipeline::outcome_json(&outcome));
    }
    let request = ShifterRequest::parse(event).map_err(invalid)?;
    handle(driver, request, now).await.map_err(|e| Failure {
        error_type: e.error_type(),
        message: e.to_string(),
    })
}

fn to_value(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("our own types serialize")
}

impl DriveError {
    /// The Lambda `errorType` for this error: stable names callers (Step Functions `Retry`
    /// and `Catch`) can match on.
    pub fn error_type(&self) -> &'static str {
        match self {
            DriveError::Invalid(_) | DriveError::Refused(crate::Refusal::Invalid(_)) => {
                "InvalidInput"
            }
            DriveError::Refused(crate::Refusal::Unhealthy(_)) => "AlarmFiring",
            DriveError::Refused(crate::Refusal::Conflict(_)) => "AliasConflict",
            DriveError::Alias(_) => "AwsError",
            DriveError::Notify { .. } | DriveError::NotifyAfterStop(_) => "NotificationFailed",
        }
    }
}

#[cfg(test)]
#[path = "shifter_tests.rs"]
mod tests;
