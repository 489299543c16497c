//! Parsers for the functions' settings, one per kind of value, each naming the environment
//! variable when its value is bad. Which variables a function reads is up to that function's
//! own settings (in the use cases); they are read once at cold start.

use crate::validate::{check_topic_arn, InvalidField};

/// How settings are looked up: a variable's name to its value (blank counts as unset).
pub trait Lookup: Fn(&str) -> Option<String> {}
impl<F: Fn(&str) -> Option<String>> Lookup for F {}

/// `NOTIFICATION_TOPIC_ARN`: where events go when a request names no topic.
pub fn topic_arn(get: &impl Lookup) -> Result<Option<String>, InvalidField> {
    let arn = get("NOTIFICATION_TOPIC_ARN");
    if let Some(arn) = &arn {
        check_topic_arn("NOTIFICATION_TOPIC_ARN", arn)?;
    }
    Ok(arn)
}

/// A comma-separated list, e.g. `ALARM_NAMES=errors, latency`.
pub fn list(get: &impl Lookup, name: &str) -> Vec<String> {
    get(name)
        .map(|names| {
            names
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// A JSON value, e.g. `SMOKE_TEST_PAYLOAD={"ping":1}`.
pub fn json(
    get: &impl Lookup,
    name: &'static str,
) -> Result<Option<serde_json::Value>, InvalidField> {
    get(name)
        .map(|raw| {
            serde_json::from_str(&raw)
                .map_err(|e| InvalidField::new(name, format!("must be JSON: {e}")))
        })
        .transpose()
}

/// A whole number of seconds, at least `min`, e.g. `BAKE_SECONDS=120`.
pub fn seconds(
    get: &impl Lookup,
    name: &'static str,
    default: u64,
    min: u64,
) -> Result<u64, InvalidField> {
    match get(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .ok()
            .filter(|s| *s >= min)
            .ok_or_else(|| {
                InvalidField::new(
                    name,
                    format!("{raw:?} must be a whole number of seconds, at least {min}"),
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Lookup {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn reads_each_kind_of_value() {
        let get = vars(&[
            (
                "NOTIFICATION_TOPIC_ARN",
                "arn:aws:sns:us-east-1:000000000000:rollouts",
            ),
            ("ALARM_NAMES", "errors, latency,,"),
            ("SMOKE_TEST_PAYLOAD", r#"{"ping":1}"#),
            ("BAKE_SECONDS", "120"),
        ]);
        assert!(topic_arn(&get).unwrap().is_some());
        assert_eq!(list(&get, "ALARM_NAMES"), ["errors", "latency"]);
        assert_eq!(
            json(&get, "SMOKE_TEST_PAYLOAD").unwrap(),
            Some(serde_json::json!({"ping": 1}))
        );
        assert_eq!(seconds(&get, "BAKE_SECONDS", 0, 0).unwrap(), 120);
        assert_eq!(seconds(&get, "POLL_SECONDS", 5, 1).unwrap(), 5);
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let get = vars(&[
            ("BAKE_SECONDS", "10m"),
            ("SMOKE_TEST_EXPECT", "{"),
            ("NOTIFICATION_TOPIC_ARN", "rollouts"),
            ("POLL_SECONDS", "0"),
        ]);
        assert_eq!(
            seconds(&get, "BAKE_SECONDS", 0, 0).unwrap_err().field,
            "BAKE_SECONDS"
        );
        assert_eq!(
            json(&get, "SMOKE_TEST_EXPECT").unwrap_err().field,
            "SMOKE_TEST_EXPECT"
        );
        assert_eq!(topic_arn(&get).unwrap_err().field, "NOTIFICATION_TOPIC_ARN");
        assert_eq!(
            seconds(&get, "POLL_SECONDS", 5, 1).unwrap_err().field,
            "POLL_SECONDS"
        );
    }
}
