//! The sample events in `events/` (one per entry point, also used by `cargo lambda invoke`),
//! loaded by name, and the one variation tests need of them.

use serde_json::Value;

/// `events/<name>` as JSON.
pub fn load(name: &str) -> Value {
    let path = crate::host::repo_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The sample `ALARM` state change, for `alarm` (`arn`) with its metric's `dimensions`.
pub fn alarm_went_off(alarm: &str, arn: &str, dimensions: Value) -> Value {
    let mut event = load("alarm-state-change-alarm.json");
    event["resources"][0] = arn.into();
    event["detail"]["alarmName"] = alarm.into();
    event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] =
        dimensions;
    event
}
