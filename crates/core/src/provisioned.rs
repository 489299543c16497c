//! Provisioned concurrency on the alias a rollout moves. Lambda splits an alias's provisioned
//! concurrency between its two versions by their weights and re-allocates it whenever the
//! routing changes (`Status` `IN_PROGRESS` until `READY`); until then, requests beyond what is
//! allocated spill over to on-demand instances and their cold starts. So a rollout on such an
//! alias judges no step before the new weights' allocation is `READY`, and rolls back when it
//! is `FAILED`. The rules are here; the engine applies them (`engine::decide_allocating`).

use serde::{Deserialize, Serialize};

/// How long a step waits for its allocation to be `READY` before rolling back.
pub const ALLOCATION_LIMIT_SECONDS: u64 = 15 * 60;
/// How often a driver asks while an allocation is in progress.
pub const ALLOCATION_POLL_SECONDS: u64 = 10;

/// Where the alias's provisioned concurrency stands for this rollout (the state's
/// `provisionedConcurrency`; absent when the alias has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Provisioning {
    /// The current step's weights are being allocated: nothing is judged yet.
    Allocating,
    /// The current step's weights are allocated: the step's hold runs.
    Ready,
}

/// What GetProvisionedConcurrencyConfig says of the alias.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProvisionedConcurrency {
    /// `IN_PROGRESS`, `READY` or `FAILED`.
    pub status: String,
    /// Why an allocation failed, in Lambda's words.
    pub status_reason: String,
    pub requested: u32,
    pub allocated: u32,
}

/// An allocation's outcome so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allocation {
    Ready,
    InProgress,
    /// With Lambda's reason.
    Failed(String),
}

impl ProvisionedConcurrency {
    pub fn allocation(&self) -> Allocation {
        match self.status.as_str() {
            "READY" => Allocation::Ready,
            "FAILED" => Allocation::Failed(if self.status_reason.is_empty() {
                "Lambda gave no reason".into()
            } else {
                self.status_reason.clone()
            }),
            _ => Allocation::InProgress,
        }
    }

    /// `10 requested, 4 allocated (IN_PROGRESS)`, for people.
    pub fn describe(&self) -> String {
        format!(
            "{} requested, {} allocated ({})",
            self.requested, self.allocated, self.status
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_statuses_map_to_an_allocation_with_the_reason_kept() {
        let seen = |status: &str, reason: &str| ProvisionedConcurrency {
            status: status.into(),
            status_reason: reason.into(),
            requested: 10,
            allocated: 4,
        };
        assert_eq!(seen("READY", "").allocation(), Allocation::Ready);
        assert_eq!(seen("IN_PROGRESS", "").allocation(), Allocation::InProgress);
        assert_eq!(
            seen("FAILED", "FUNCTION_ERROR_INIT_FAILURE").allocation(),
            Allocation::Failed("FUNCTION_ERROR_INIT_FAILURE".into())
        );
        assert_eq!(
            seen("IN_PROGRESS", "").describe(),
            "10 requested, 4 allocated (IN_PROGRESS)"
        );
    }
}
