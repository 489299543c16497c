//! The functions' configuration, read from the environment once at cold start: a bad value
//! fails the start (and so every call shows it), never a single invocation.

use crate::state::InvalidField;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunctionConfig {
    /// `NOTIFICATION_TOPIC_ARN`: where events go when a spec names no topic.
    pub topic_arn: Option<String>,
    /// `ALARM_NAMES`: watched for every rollout, on top of those a spec or deployment names.
    pub alarm_names: Vec<String>,
    /// `SMOKE_TEST_PAYLOAD`: JSON sent to the target version by the pre-traffic hook.
    pub smoke_payload: Option<serde_json::Value>,
    /// `SMOKE_TEST_EXPECT`: a JSON subset the smoke answer must contain.
    pub smoke_expect: Option<serde_json::Value>,
    /// `BAKE_SECONDS`: how long the post-traffic hook watches alarms.
    pub bake_seconds: u64,
}

impl FunctionConfig {
    pub fn from_env() -> Result<FunctionConfig, InvalidField> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<FunctionConfig, InvalidField> {
        let topic_arn = get("NOTIFICATION_TOPIC_ARN");
        if let Some(arn) = &topic_arn {
            if !(arn.starts_with("arn:") && arn.contains(":sns:")) {
                return Err(InvalidField::new(
                    "NOTIFICATION_TOPIC_ARN",
                    format!("{arn:?} must be an SNS topic ARN"),
                ));
            }
        }
        let alarm_names = get("ALARM_NAMES")
            .map(|names| {
                names
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let json = |name: &'static str| {
            get(name)
                .map(|raw| {
                    serde_json::from_str(&raw)
                        .map_err(|e| InvalidField::new(name, format!("must be JSON: {e}")))
                })
                .transpose()
        };
        let bake_seconds = match get("BAKE_SECONDS") {
            None => 0,
            Some(raw) => raw.trim().parse().map_err(|_| {
                InvalidField::new(
                    "BAKE_SECONDS",
                    format!("{raw:?} must be a whole number of seconds"),
                )
            })?,
        };
        Ok(FunctionConfig {
            topic_arn,
            alarm_names,
            smoke_payload: json("SMOKE_TEST_PAYLOAD")?,
            smoke_expect: json("SMOKE_TEST_EXPECT")?,
            bake_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<FunctionConfig, InvalidField> {
        FunctionConfig::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn reads_every_variable() {
        let c = config(&[
            (
                "NOTIFICATION_TOPIC_ARN",
                "arn:aws:sns:us-east-1:000000000000:rollouts",
            ),
            ("ALARM_NAMES", "errors, latency,,"),
            ("SMOKE_TEST_PAYLOAD", r#"{"ping":1}"#),
            ("BAKE_SECONDS", "120"),
        ])
        .unwrap();
        assert_eq!(c.alarm_names, ["errors", "latency"]);
        assert_eq!(c.smoke_payload, Some(serde_json::json!({"ping": 1})));
        assert_eq!(c.bake_seconds, 120);
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        assert_eq!(
            config(&[("BAKE_SECONDS", "10m")]).unwrap_err().field,
            "BAKE_SECONDS"
        );
        assert_eq!(
            config(&[("SMOKE_TEST_EXPECT", "{")]).unwrap_err().field,
            "SMOKE_TEST_EXPECT"
        );
        assert_eq!(
            config(&[("NOTIFICATION_TOPIC_ARN", "rollouts")])
                .unwrap_err()
                .field,
            "NOTIFICATION_TOPIC_ARN"
        );
    }
}
