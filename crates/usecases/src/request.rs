//! What the traffic shifter is asked, parsed strictly: a spec starts a rollout, a state takes
//! its next step, an abort action puts the alias back. Unknown or mistyped fields are named,
//! so an invalid request never reaches AWS. The CodePipeline action reads its spec here too.

use rollout_core::set::{member_field, Member, MemberSpec, SetRollout, SetSpec, Shared};
use rollout_core::validate::{
    check_alias, check_function_name, check_topic_arn, version_from_json,
};
use rollout_core::{InvalidField, Rollout, Spec, Status};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The fields of an abort action (their names, for the unknown-field check).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct AbortFields {
    action: String,
    function_name: String,
    alias: String,
    reason: Option<String>,
    notification_topic_arn: Option<String>,
    target_version: Option<Value>,
    rollout_id: Option<String>,
    members: Option<Value>,
}

/// What a direct invocation or a Step Functions task asks of the shifter.
#[derive(Debug, Clone, PartialEq)]
pub enum ShifterRequest {
    Start(Spec),
    Step(Box<Rollout>),
    /// A release set's spec (it has `set`): every member's first step.
    StartSet(Box<SetSpec>),
    /// A release set's state: its next step.
    StepSet(Box<SetRollout>),
    Abort {
        function_name: String,
        alias: String,
        reason: String,
        topic: Option<String>,
        /// When given, only a rollout to this version is stopped (see `StopRequest`).
        target_version: Option<String>,
        /// When given, only this rollout is stopped: a release set's (the alias a member of
        /// it), whose members have targets of their own.
        rollout_id: Option<String>,
        /// The set's members (as its state lists them), where the set may be found from when
        /// the alias named is no longer the set's.
        members: Vec<rollout_core::set::MemberSpec>,
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
            check_fields(&fields, &[rollout_core::fields::of::<AbortFields>()])?;
            let text =
                |name: &'static str| fields.get(name).and_then(Value::as_str).map(String::from);
            let function_name = text("functionName")
                .ok_or_else(|| InvalidField::new("functionName", "is required"))?;
            let alias = text("alias").ok_or_else(|| InvalidField::new("alias", "is required"))?;
            check_function_name(&function_name)?;
            check_alias(&alias)?;
            let target_version = fields
                .get("targetVersion")
                .map(version_from_json)
                .transpose()
                .map_err(|problem| InvalidField::new("targetVersion", problem))?;
            let topic = text("notificationTopicArn");
            if let Some(arn) = &topic {
                check_topic_arn("notificationTopicArn", arn)?;
            }
            let rollout_id = text("rolloutId");
            if let Some(id) = &rollout_id {
                rollout_core::state::check_rollout_id(id)?;
            }
            let members = match fields.get("members") {
                None => Vec::new(),
                Some(Value::Array(members)) => members
                    .iter()
                    .map(|m| {
                        let text = |k: &str| m.get(k).and_then(Value::as_str).map(String::from);
                        let (function_name, alias) = (text("functionName"), text("alias"));
                        let (Some(function_name), Some(alias)) = (function_name, alias) else {
                            return Err(InvalidField::new(
                                "members",
                                "each member names its functionName and alias",
                            ));
                        };
                        check_function_name(&function_name)?;
                        check_alias(&alias)?;
                        Ok(rollout_core::set::MemberSpec {
                            function_name,
                            alias,
                            target_version: String::new(),
                            current_version: None,
                            alarms: Vec::new(),
                            region: text("region"),
                            role_arn: text("roleArn"),
                        })
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(InvalidField::new("members", "must be a list of members")),
            };
            return Ok(ShifterRequest::Abort {
                function_name,
                alias,
                reason: text("reason").unwrap_or_else(|| "aborted on request".into()),
                topic,
                target_version,
                rollout_id,
                members,
            });
        }
        if fields.contains_key("set") {
            return match fields.contains_key("rolloutId") {
                true => parse_set_state(Value::Object(fields))
                    .map(|set| ShifterRequest::StepSet(Box::new(set))),
                false => parse_set(Value::Object(fields))
                    .map(|set| ShifterRequest::StartSet(Box::new(set))),
            };
        }
        if fields.contains_key("rolloutId") {
            check_fields(
                &fields,
                &[Spec::field_names(), Rollout::progress_field_names()],
            )?;
            let rollout: Rollout = typed(fields)?;
            rollout.spec.validate()?;
            if rollout.status == Status::InProgress && rollout.spec.current_version.is_none() {
                return Err(InvalidField::new(
                    "currentVersion",
                    "a rollout state must carry the version it started from",
                ));
            }
            return Ok(ShifterRequest::Step(Box::new(rollout)));
        }
        check_fields(&fields, &[Spec::field_names()])?;
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

/// Deserializes with the failing field's path in the error (`analysis.confidence`, not just
/// `analysis`: its own reader names the field inside it).
fn typed<T: DeserializeOwned>(fields: Map<String, Value>) -> Result<T, InvalidField> {
    if let Some(analysis) = fields.get("analysis") {
        rollout_core::Analysis::from_json(analysis)?;
    }
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let segment = path.split(['.', '[']).next().unwrap_or_default();
        let field = Spec::field_names()
            .iter()
            .chain(Rollout::progress_field_names())
            .find(|f| segment == **f || inner.contains(&format!("`{f}`")))
            .copied()
            .unwrap_or("event");
        InvalidField::new(field, inner)
    })
}

/// A release set's spec, strictly: every unknown field named (`members[1]: unknown field
/// "fnctionName"`), every field checked ([`SetSpec::validate`]).
pub fn parse_set(value: Value) -> Result<SetSpec, InvalidField> {
    let top: Vec<&str> = ["set", "members"]
        .into_iter()
        .chain(Shared::field_names().iter().copied())
        .collect();
    check_set_fields(&value, &top, MemberSpec::field_names())?;
    let spec: SetSpec = typed_set(value)?;
    spec.validate()?;
    Ok(spec)
}

/// A release set's state handed back (by Step Functions, a person), strictly, and checked
/// against its plan ([`SetRollout::validate`]).
pub fn parse_set_state(value: Value) -> Result<SetRollout, InvalidField> {
    let top = SetRollout::field_names();
    let top: Vec<&str> = top.iter().map(String::as_str).collect();
    let members = Member::field_names();
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    check_set_fields(&value, &top, &members)?;
    let set: SetRollout = typed_set(value)?;
    set.validate()?;
    Ok(set)
}

/// Text that holds a set spec: YAML or JSON (YAML reads JSON too), as a value to check.
pub fn set_from_text(text: &str) -> Result<Value, InvalidField> {
    serde_yaml_ng::from_str::<Value>(text)
        .map_err(|e| InvalidField::new("set", format!("is neither YAML nor JSON: {e}")))
}

fn check_set_fields(value: &Value, top: &[&str], member: &[&str]) -> Result<(), InvalidField> {
    let Value::Object(fields) = value else {
        return Err(InvalidField::new(
            "set",
            "a release set must be an object with \"set\", \"members\" and \"strategy\"",
        ));
    };
    check_fields(fields, &[top])?;
    if let Some(Value::Array(members)) = fields.get("members") {
        for (i, m) in members.iter().enumerate() {
            match m {
                Value::Object(m) => check_fields(m, &[member])
                    .map_err(|e| InvalidField::new(member_field(i, ""), e.problem))?,
                _ => {
                    return Err(InvalidField::new(
                        member_field(i, "functionName"),
                        "a member must be an object with functionName, alias and targetVersion",
                    ))
                }
            }
        }
    }
    Ok(())
}

/// Deserializes a set with the failing field's path in the error, as `members[2].alias`.
fn typed_set<T: DeserializeOwned>(value: Value) -> Result<T, InvalidField> {
    if let Some(analysis) = value.get("analysis") {
        rollout_core::Analysis::from_json(analysis)?;
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let member = path
            .strip_prefix("members[")
            .and_then(|rest| rest.split_once(']'))
            .and_then(|(i, rest)| Some((i.parse::<usize>().ok()?, rest.trim_start_matches('.'))));
        let field = match member {
            Some((i, name)) if !name.is_empty() => member_field(i, name),
            // A missing field is named in the message, not the path.
            Some((i, _)) => member_field(
                i,
                MemberSpec::field_names()
                    .iter()
                    .find(|f| inner.contains(&format!("`{f}`")))
                    .copied()
                    .unwrap_or(""),
            ),
            None => Shared::field_names()
                .iter()
                .chain(["set", "members"].iter())
                .find(|f| path.starts_with(**f) || inner.contains(&format!("`{f}`")))
                .copied()
                .unwrap_or("set"),
        };
        InvalidField::new(field, inner)
    })
}

/// A rollout spec and nothing else (a state or an action is refused), as the CodePipeline
/// action's `UserParameters` must be.
pub fn parse_spec(value: Value) -> Result<Spec, InvalidField> {
    match ShifterRequest::parse(value)? {
        ShifterRequest::Start(spec) => Ok(spec),
        _ => Err(InvalidField::new(
            "UserParameters",
            "must be a rollout spec, not a state or an action",
        )),
    }
}

#[cfg(test)]
mod tests;
