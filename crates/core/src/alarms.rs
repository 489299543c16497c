//! The analysis provider the engine reads first: CloudWatch alarms, each named alarm's state,
//! and the one rule for when they stop a rollout (breached, missing or unreadable: all fail
//! closed; `INSUFFICIENT_DATA` is not a breach).

use serde::Serialize;

/// A CloudWatch alarm's state, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AlarmState {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
    /// DescribeAlarms did not return it.
    #[serde(rename = "MISSING")]
    Missing,
    /// DescribeAlarms failed; the message says why.
    #[serde(rename = "UNREADABLE")]
    Unreadable(String),
}

/// One named alarm and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlarmVerdict {
    pub name: String,
    pub state: AlarmState,
}

impl AlarmVerdict {
    pub fn new(name: impl Into<String>, state: AlarmState) -> Self {
        AlarmVerdict {
            name: name.into(),
            state,
        }
    }

    /// Breached, missing or unreadable: all fail closed.
    pub fn fails(&self) -> bool {
        matches!(
            self.state,
            AlarmState::Alarm | AlarmState::Missing | AlarmState::Unreadable(_)
        )
    }

    pub fn describe(&self) -> String {
        match &self.state {
            AlarmState::Alarm => format!("alarm {} is in ALARM", self.name),
            AlarmState::Missing => format!("alarm {} does not exist (failing closed)", self.name),
            AlarmState::Unreadable(why) => {
                format!(
                    "alarm {} could not be read (failing closed): {why}",
                    self.name
                )
            }
            AlarmState::Ok => format!("alarm {} is OK", self.name),
            AlarmState::InsufficientData => format!("alarm {} has insufficient data", self.name),
        }
    }
}

/// True when an alarm's metric dimensions (`FunctionName`, and `Resource` when it has one)
/// say it watches calls of `function:alias`: the alarms the dashboard and the report show
/// for an alias. A `Resource` of another alias, or `FunctionName` of another function, is not.
pub fn watches_alias<'a>(
    dimensions: impl IntoIterator<Item = (&'a str, &'a str)>,
    function: &str,
    alias: &str,
) -> bool {
    let (mut names_function, mut resource) = (false, None);
    for (name, value) in dimensions {
        match name {
            "FunctionName" => names_function = value == function,
            "Resource" => resource = Some(value),
            _ => {}
        }
    }
    names_function && resource.is_none_or(|r| r == format!("{function}:{alias}"))
}

/// Every failing alarm, in one sentence; `None` when all are OK or without data.
pub fn failing(alarms: &[AlarmVerdict]) -> Option<String> {
    let failing: Vec<String> = alarms
        .iter()
        .filter(|a| a.fails())
        .map(AlarmVerdict::describe)
        .collect();
    (!failing.is_empty()).then(|| failing.join("; "))
}

#[cfg(test)]
mod tests {
    use super::watches_alias;

    #[test]
    fn an_alarm_watches_an_alias_by_function_and_resource() {
        let watches = |dims: &[(&str, &str)]| watches_alias(dims.iter().copied(), "orders", "live");
        assert!(watches(&[("FunctionName", "orders")]));
        assert!(watches(&[
            ("FunctionName", "orders"),
            ("Resource", "orders:live")
        ]));
        assert!(!watches(&[
            ("FunctionName", "orders"),
            ("Resource", "orders:beta")
        ]));
        assert!(!watches(&[("FunctionName", "billing")]));
        assert!(!watches(&[("Resource", "orders:live")]));
        assert!(!watches(&[]));
    }
}
