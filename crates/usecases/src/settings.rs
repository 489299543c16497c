//! Where the functions' settings come from: their environment, read once at cold start (a
//! blank variable counts as unset). Each function's settings say which variables it reads.

/// A variable of this process's environment; blank counts as unset.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The EventBridge bus every rollout and hook event also goes to: `default`, a bus name or
/// ARN; unset or blank, none (SNS only).
pub const EVENT_BUS_VARIABLE: &str = "EVENT_BUS_NAME";

/// The bus named by [`EVENT_BUS_VARIABLE`], if any.
pub fn event_bus() -> Option<String> {
    env(EVENT_BUS_VARIABLE)
}
