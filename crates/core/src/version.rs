//! What Lambda says of the version a rollout moves to, and the one rule for when it may take
//! traffic: it exists, it is `Active`, and its last update succeeded.

/// What GetFunctionConfiguration says of a version.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetVersion {
    Missing,
    /// Present; `state` and `last_update_status` as GetFunctionConfiguration reports them.
    Present {
        state: String,
        last_update_status: String,
    },
}

impl TargetVersion {
    /// `Ok(what held)` when version `version` of `function` may take traffic, else why not.
    pub fn readiness(&self, function: &str, version: &str) -> Result<String, String> {
        match self {
            TargetVersion::Missing => Err(format!("version {version} of {function} does not exist")),
            TargetVersion::Present {
                state,
                last_update_status,
            } if state != "Active" || last_update_status != "Successful" => Err(format!(
                "version {version} of {function} is {state} (last update {last_update_status}); it must be Active"
            )),
            TargetVersion::Present { .. } => Ok(format!("version {version} of {function} is Active")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn present(state: &str, update: &str) -> TargetVersion {
        TargetVersion::Present {
            state: state.into(),
            last_update_status: update.into(),
        }
    }

    #[test]
    fn only_an_active_successfully_updated_version_is_ready() {
        assert!(present("Active", "Successful").readiness("f", "2").is_ok());
        let pending = present("Pending", "InProgress").readiness("f", "2");
        assert!(pending
            .unwrap_err()
            .contains("is Pending (last update InProgress)"));
        assert!(present("Active", "Failed").readiness("f", "2").is_err());
        assert!(TargetVersion::Missing
            .readiness("f", "2")
            .unwrap_err()
            .contains("does not exist"));
    }
}
