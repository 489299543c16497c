//! Where the functions' settings come from: their environment, read once at cold start (a
//! blank variable counts as unset). Each function's settings say which variables it reads.

/// A variable of this process's environment; blank counts as unset.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
