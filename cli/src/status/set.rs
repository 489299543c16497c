//! `rollout status` on a member of a release set: the set (its name, rollout, status and step)
//! and every member's versions and weight, in the set state's own words.

use rollout_aws::places::AwsPlaces;
use rollout_aws::{Adapters, SdkConfig};
use rollout_core::plan::format_percent;
use rollout_core::printable::printable;
use rollout_core::state::Control;
use rollout_core::AliasState;
use rollout_usecases::set::ring::FoundSet;
use rollout_usecases::set::SetDriver;
use serde_json::Value;

use crate::args::AliasArgs;

/// The set the alias (as read) is a member of, if any; a set whose other members cannot be
/// read is said on stderr, and the alias is shown alone.
pub async fn found(
    adapters: &Adapters,
    config: &SdkConfig,
    target: &AliasArgs,
    alias: &AliasState,
) -> Option<FoundSet> {
    let driver = adapters.driver("rollout-cli", &[], None);
    let places = AwsPlaces::new(adapters, config);
    let sets = SetDriver {
        home: &driver,
        places: &places,
    };
    match sets
        .found_from(&target.function, &target.alias, alias.clone())
        .await
    {
        Ok(found) => found,
        Err(e) => {
            eprintln!("warning: the other members of its release set could not be read: {e}");
            None
        }
    }
}

/// The set's state as its members' markers tell it, beside the alias's own fields (none
/// shares a name): `set`, `members` (each `functionName`, `alias`, `currentVersion`,
/// `targetVersion`, `weight`, `region`, …), `rolloutId`, `status`, `stepIndex`, … and, when
/// some member was not reached, `missing`.
pub fn add_to(doc: &mut Value, found: &FoundSet) {
    let state = serde_json::to_value(found.state()).expect("a set state serializes");
    let Value::Object(state) = state else { return };
    for (key, value) in state {
        // What markers do not carry (the strategy) or a status has no use for.
        if key != "strategy" && key != "waitSeconds" {
            doc[key] = value;
        }
    }
    let missing = found.missing_labels();
    if !missing.is_empty() {
        doc["missing"] = missing.into();
    }
}

/// `set checkout (3 functions), rollout r-…: InProgress at step 1`, then a line per member,
/// its region said when it is not `home`.
pub fn show(found: &FoundSet, home: Option<&str>) {
    let state = found.state();
    let mut head = format!(
        "set {} ({} functions), rollout {}: {} at step {}",
        found.name,
        found.count,
        found.rollout_id,
        state.status.as_str(),
        state.step_index + 1
    );
    match state.control {
        Some(Control::Paused) => head.push_str(", paused"),
        Some(c) => head.push_str(&format!(", {}", c.as_str())),
        None => {}
    }
    out!("{head}");
    for (m, member) in found.members.iter().zip(&state.members) {
        let spec = &member.spec;
        let mut line = format!(
            "  {} {} -> {}, {} on {}",
            spec.label(),
            spec.current_version.as_deref().unwrap_or("?"),
            spec.target_version,
            format_percent(member.weight),
            spec.target_version
        );
        if let Some(region) = spec.region.as_deref().filter(|r| Some(*r) != home) {
            line.push_str(&format!(" ({region})"));
        }
        if m.link.index == 0 {
            line.push_str(", lead");
        }
        if m.marker.status != state.status {
            line.push_str(&format!(" [{}]", m.marker.status.as_str()));
        }
        out!("{}", printable(&line));
    }
    for missing in found.missing_labels() {
        out!("  {missing}: not reached (changed by someone else, or could not be read)");
    }
}
