//! What invokes a function other than through the alias a rollout moves: event source
//! mappings, function URLs and resource-policy permissions bound to the unqualified function
//! (`$LATEST`), a version, or another alias. A canary never sees that traffic, and a rollback
//! never takes it back, so `rollout check` lists each one with its fix.

use serde::Serialize;

use crate::validate::is_published_version;

/// The kinds of trigger Lambda lists for a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TriggerKind {
    EventSourceMapping,
    FunctionUrl,
    Permission,
}

/// One thing that invokes the function, as Lambda lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub kind: TriggerKind,
    /// The mapping's UUID, the URL, or the policy statement's Sid.
    pub id: String,
    /// What sends the requests: the event source ARN, the URL's auth type, the principal.
    pub source: String,
    /// For a permission, the `AWS:SourceArn` it is limited to.
    pub source_arn: Option<String>,
    /// The qualifier it is bound to; `None` for the unqualified function.
    pub qualifier: Option<String>,
}

/// A trigger that bypasses the alias: what is wrong, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bypass {
    pub trigger: Trigger,
    pub problem: String,
    pub fix: String,
}

/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` (or `NAME[:QUALIFIER]`) → the
/// qualifier, if any.
pub fn qualifier_of(function_arn: &str) -> Option<String> {
    let parts: Vec<&str> = function_arn.split(':').collect();
    let qualifier = match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", _, qualifier] => Some(*qualifier),
        [_, qualifier] => Some(*qualifier),
        _ => None,
    };
    qualifier.filter(|q| !q.is_empty()).map(String::from)
}

/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` → `NAME`.
pub fn function_of(function_arn: &str) -> &str {
    match function_arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] => name,
        [name, ..] => name,
        [] => function_arn,
    }
}

/// The triggers of `function` that do not go through `alias`, each with its fix.
pub fn bypasses(function: &str, alias: &str, triggers: &[Trigger]) -> Vec<Bypass> {
    triggers
        .iter()
        .filter(|t| t.qualifier.as_deref() != Some(alias))
        .map(|t| bypass(function, alias, t))
        .collect()
}

fn bypass(function: &str, alias: &str, t: &Trigger) -> Bypass {
    let target = match t.qualifier.as_deref() {
        None | Some("$LATEST") => "the unqualified function ($LATEST)".to_string(),
        Some(v) if is_published_version(v) => format!("version {v}"),
        Some(other) => format!("alias {other}"),
    };
    let qualified = format!("{function}:{alias}");
    let (problem, fix) = match t.kind {
        TriggerKind::EventSourceMapping => (
            format!(
                "event source mapping {} ({}) invokes {target}, not {qualified}: the canary never \
                 sees its events",
                t.id, t.source
            ),
            format!(
                "aws lambda update-event-source-mapping --uuid {} --function-name {qualified}",
                t.id
            ),
        ),
        TriggerKind::FunctionUrl => (
            format!(
                "function URL {} invokes {target}, not {qualified}: its requests bypass the canary",
                t.id
            ),
            format!(
                "aws lambda create-function-url-config --function-name {function} --qualifier \
                 {alias} --auth-type {}, move callers to the new URL, then delete this one",
                t.source
            ),
        ),
        TriggerKind::Permission => {
            let limited = t
                .source_arn
                .as_deref()
                .map(|arn| format!(" --source-arn {arn}"))
                .unwrap_or_default();
            let remove_qualifier = t
                .qualifier
                .as_deref()
                .map(|q| format!(" --qualifier {q}"))
                .unwrap_or_default();
            (
                format!(
                    "resource-policy statement {} lets {}{} invoke {target}, not {qualified}: \
                     what it triggers bypasses the canary",
                    t.id,
                    t.source,
                    t.source_arn
                        .as_deref()
                        .map(|arn| format!(" (from {arn})"))
                        .unwrap_or_default()
                ),
                format!(
                    "point that trigger at {qualified}, allow it there (aws lambda add-permission \
                     --function-name {function} --qualifier {alias} --statement-id {} --principal \
                     {} --action lambda:InvokeFunction{limited}), then remove this statement (aws \
                     lambda remove-permission --function-name {function}{remove_qualifier} \
                     --statement-id {})",
                    t.id, t.source, t.id
                ),
            )
        }
    };
    Bypass {
        trigger: t.clone(),
        problem,
        fix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(kind: TriggerKind, qualifier: Option<&str>) -> Trigger {
        Trigger {
            kind,
            id: "id-1".into(),
            source: "arn:aws:sqs:us-east-1:000000000000:orders".into(),
            source_arn: None,
            qualifier: qualifier.map(String::from),
        }
    }

    #[test]
    fn only_triggers_bound_to_the_alias_itself_reach_the_canary() {
        let triggers = [
            trigger(TriggerKind::EventSourceMapping, Some("live")),
            trigger(TriggerKind::EventSourceMapping, None),
            trigger(TriggerKind::FunctionUrl, Some("$LATEST")),
            trigger(TriggerKind::Permission, Some("7")),
            trigger(TriggerKind::Permission, Some("staging")),
        ];
        let found = bypasses("orders", "live", &triggers);
        let problems: Vec<&str> = found.iter().map(|b| b.problem.as_str()).collect();
        assert_eq!(found.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("invokes the unqualified function ($LATEST)"));
        assert!(problems[1].contains("function URL id-1 invokes the unqualified function"));
        assert!(problems[2].contains("invoke version 7, not orders:live"));
        assert!(problems[3].contains("invoke alias staging"));
        assert_eq!(
            found[0].fix,
            "aws lambda update-event-source-mapping --uuid id-1 --function-name orders:live"
        );
        assert!(found[3]
            .fix
            .contains("--qualifier staging --statement-id id-1"));
    }

    #[test]
    fn qualifiers_come_from_the_arn() {
        let arn = "arn:aws:lambda:us-east-1:000000000000:function:orders";
        assert_eq!(qualifier_of(arn), None);
        assert_eq!(
            qualifier_of(&format!("{arn}:live")).as_deref(),
            Some("live")
        );
        assert_eq!(qualifier_of("orders:$LATEST").as_deref(), Some("$LATEST"));
        assert_eq!(function_of(&format!("{arn}:live")), "orders");
        assert_eq!(function_of("orders"), "orders");
    }
}
