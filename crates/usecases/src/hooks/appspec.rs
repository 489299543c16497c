//! The deployment's own word on what it deploys: the AppSpec's Lambda resource (`Name`,
//! `Alias`, `CurrentVersion`, `TargetVersion`), from YAML or JSON, keys in any case.

use serde::Serialize;
use serde_json::{Map, Value};

use rollout_core::InvalidField;

/// The function, alias and versions a CodeDeploy Lambda deployment moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppSpecTarget {
    pub function_name: String,
    pub alias: String,
    pub current_version: String,
    pub target_version: String,
}

/// Reads the one Lambda function resource of an AppSpec.
pub fn parse(content: &str) -> Result<AppSpecTarget, InvalidField> {
    let document = document(content)?;
    let resources = get(&document, "Resources")
        .ok_or_else(|| InvalidField::new("AppSpec.Resources", "is required"))?;
    // The AppSpec lists resources as one-key maps (`- name: {Type, Properties}`); a plain
    // map of them is accepted too.
    let entries: Vec<&Value> = match resources {
        Value::Array(list) => list
            .iter()
            .flat_map(|item| match item {
                Value::Object(one) => one.values().collect(),
                _ => Vec::new(),
            })
            .collect(),
        Value::Object(map) => map.values().collect(),
        _ => Vec::new(),
    };
    let functions: Vec<&Value> = entries
        .into_iter()
        .filter(|resource| {
            get(resource, "Properties").is_some()
                && get(resource, "Type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t.eq_ignore_ascii_case("AWS::Lambda::Function"))
        })
        .collect();
    let properties = match functions.as_slice() {
        [one] => get(one, "Properties").unwrap_or(&Value::Null),
        [] => {
            return Err(InvalidField::new(
                "AppSpec.Resources",
                "names no AWS::Lambda::Function resource with Properties",
            ))
        }
        many => {
            return Err(InvalidField::new(
                "AppSpec.Resources",
                format!(
                    "names {} Lambda functions; a hook checks exactly one",
                    many.len()
                ),
            ))
        }
    };
    Ok(AppSpecTarget {
        function_name: text(properties, "Name", "AppSpec.Resources[*].Properties.Name")?,
        alias: text(properties, "Alias", "AppSpec.Resources[*].Properties.Alias")?,
        current_version: text(
            properties,
            "CurrentVersion",
            "AppSpec.Resources[*].Properties.CurrentVersion",
        )?,
        target_version: text(
            properties,
            "TargetVersion",
            "AppSpec.Resources[*].Properties.TargetVersion",
        )?,
    })
}

/// JSON first (it is also YAML, but YAML is stricter about tabs), then YAML.
fn document(content: &str) -> Result<Value, InvalidField> {
    let value = match serde_json::from_str::<Value>(content) {
        Ok(value) => value,
        Err(_) => serde_yaml_ng::from_str::<Value>(content)
            .map_err(|e| InvalidField::new("AppSpec", format!("is neither JSON nor YAML: {e}")))?,
    };
    match value {
        Value::Object(_) => Ok(value),
        other => Err(InvalidField::new(
            "AppSpec",
            format!("must be a mapping, not {}", kind(&other)),
        )),
    }
}

/// The value under `key`, matched case-insensitively.
fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value
        .as_object()
        .and_then(|map: &Map<String, Value>| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
        .map(|(_, v)| v)
}

/// A non-empty string; versions may be written as numbers (`TargetVersion: 7`).
fn text(properties: &Value, key: &str, field: &'static str) -> Result<String, InvalidField> {
    match get(properties, key) {
        None | Some(Value::Null) => Err(InvalidField::new(field, "is required")),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::Number(n)) if n.is_u64() => Ok(n.to_string()),
        Some(other) => Err(InvalidField::new(
            field,
            format!("must be a non-empty string, not {}", kind(other)),
        )),
    }
}

fn kind(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => "an empty string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(function: &str, alias: &str, current: &str, to: &str) -> AppSpecTarget {
        AppSpecTarget {
            function_name: function.into(),
            alias: alias.into(),
            current_version: current.into(),
            target_version: to.into(),
        }
    }

    #[test]
    fn reads_the_yaml_codedeploy_writes() {
        let yaml = "version: 0.0\nResources:\n  - ordersFunction:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: \"orders\"\n        Alias: \"live\"\n        CurrentVersion: \"6\"\n        TargetVersion: \"7\"\nHooks:\n  - BeforeAllowTraffic: \"CodeDeployHook_pre\"\n";
        assert_eq!(parse(yaml).unwrap(), target("orders", "live", "6", "7"));
    }

    #[test]
    fn reads_the_json_sam_writes() {
        let json = r#"{"version": 0.0, "Resources": [{"ordersFunction": {"Type": "AWS::Lambda::Function",
            "Properties": {"Name": "orders", "Alias": "live", "CurrentVersion": "6", "TargetVersion": "7"}}}],
            "Hooks": [{"BeforeAllowTraffic": "CodeDeployHook_pre"}]}"#;
        assert_eq!(parse(json).unwrap(), target("orders", "live", "6", "7"));
    }

    #[test]
    fn keys_match_in_any_case() {
        let json = r#"{"resources": [{"fn": {"type": "aws::lambda::function", "properties":
            {"name": "orders", "ALIAS": "live", "currentversion": "6", "targetVersion": "7"}}}]}"#;
        assert_eq!(parse(json).unwrap(), target("orders", "live", "6", "7"));
    }

    #[test]
    fn versions_may_be_numbers_or_strings() {
        let yaml = "Resources:\n  - fn:\n      Properties:\n        Name: orders\n        Alias: live\n        CurrentVersion: 6\n        TargetVersion: '7'\n";
        assert_eq!(parse(yaml).unwrap(), target("orders", "live", "6", "7"));
        let json = r#"{"Resources": [{"fn": {"Properties": {"Name": "orders", "Alias": "live", "CurrentVersion": 6, "TargetVersion": 7}}}]}"#;
        assert_eq!(parse(json).unwrap(), target("orders", "live", "6", "7"));
    }

    #[test]
    fn a_missing_field_is_named() {
        let json = r#"{"Resources": [{"fn": {"Properties": {"Name": "orders", "Alias": "live", "CurrentVersion": "6"}}}]}"#;
        let err = parse(json).unwrap_err();
        assert_eq!(err.field, "AppSpec.Resources[*].Properties.TargetVersion");
        assert_eq!(err.problem, "is required");
        let yaml = "Resources:\n  - fn:\n      Properties:\n        Alias: live\n        CurrentVersion: 6\n        TargetVersion: 7\n";
        assert_eq!(
            parse(yaml).unwrap_err().field,
            "AppSpec.Resources[*].Properties.Name"
        );
    }

    #[test]
    fn a_version_that_is_not_a_whole_number_or_text_is_refused() {
        let json = r#"{"Resources": [{"fn": {"Properties": {"Name": "orders", "Alias": "live", "CurrentVersion": 6.5, "TargetVersion": "7"}}}]}"#;
        let err = parse(json).unwrap_err();
        assert_eq!(err.field, "AppSpec.Resources[*].Properties.CurrentVersion");
        assert!(err.problem.contains("6.5"), "{err}");
    }

    #[test]
    fn without_resources_or_with_several_functions_it_refuses() {
        assert_eq!(
            parse("version: 0.0\n").unwrap_err().field,
            "AppSpec.Resources"
        );
        let two = r#"{"Resources": [{"a": {"Properties": {}}}, {"b": {"Properties": {}}}]}"#;
        assert!(parse(two)
            .unwrap_err()
            .problem
            .contains("2 Lambda functions"));
        assert_eq!(parse("- just\n- a list\n").unwrap_err().field, "AppSpec");
        assert_eq!(parse("{ not: [closed").unwrap_err().field, "AppSpec");
    }

    #[test]
    fn other_resource_types_are_ignored() {
        let yaml = "Resources:\n  - queue:\n      Type: AWS::SQS::Queue\n      Properties: {QueueName: q}\n  - fn:\n      Type: AWS::Lambda::Function\n      Properties: {Name: orders, Alias: live, CurrentVersion: 1, TargetVersion: 2}\n";
        assert_eq!(parse(yaml).unwrap(), target("orders", "live", "1", "2"));
    }
}
