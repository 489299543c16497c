//! A set found from any one of its members: each member's marker names its neighbours
//! (`nx=`, `pv=`), relative to itself; walking forward round the ring, then backward past a
//! member that is no longer the set's (someone else changed it), reaches every member that
//! still is. Only a member whose marker is this very set's, at the place the ring says, and
//! still describes its alias, is trusted.

use rollout_core::set::{MemberSpec, SetRollout, SetSpec, Shared};
use rollout_core::state::{MemberRef, SetLink};
use rollout_core::{AliasState, Marker, Status};

use crate::patience::{retrying, Patience};
use crate::ports::{AliasError, Places};

/// One member found: where it is, its alias now, and its marker.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub spec: MemberSpec,
    pub alias: AliasState,
    pub marker: Marker,
    pub link: SetLink,
}

/// A set as its members' markers show it.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundSet {
    pub name: String,
    pub rollout_id: String,
    pub count: usize,
    /// In the set's order; only the members found.
    pub members: Vec<Found>,
    /// The places whose alias was read and is not this set's any more (someone else changed
    /// it, or it is gone): left as they are, and a walk goes no further through them.
    pub not_ours: Vec<usize>,
}

impl FoundSet {
    /// The places in the ring no walk reached (someone else changed them, or they could not be
    /// read).
    pub fn missing(&self) -> Vec<usize> {
        (0..self.count)
            .filter(|i| self.members.iter().all(|m| m.link.index != *i))
            .collect()
    }

    /// The members no walk reached, for people: `members[2] orders-audit:live`, as a
    /// neighbour's link names it (`?` when no member reached names it).
    pub fn missing_labels(&self) -> Vec<String> {
        self.labels(self.missing())
    }

    /// The members no walk reached nor found changed: hidden between two members someone
    /// else changed, or in a place that could not be reached. Nothing is known of them.
    pub fn unreached_labels(&self) -> Vec<String> {
        let unreached = self
            .missing()
            .into_iter()
            .filter(|i| !self.not_ours.contains(i))
            .collect();
        self.labels(unreached)
    }

    fn labels(&self, places: Vec<usize>) -> Vec<String> {
        let n = self.count;
        places
            .into_iter()
            .map(|i| {
                let named = self.members.iter().find_map(|m| {
                    let link = &m.link;
                    let by = match () {
                        _ if (link.index + 1) % n == i => link.next.as_ref(),
                        _ if (i + 1) % n == link.index => link.previous.as_ref(),
                        _ => None,
                    };
                    by.map(|r| format!("{}:{}", r.function_name, r.alias))
                });
                format!("members[{i}] {}", named.as_deref().unwrap_or("?"))
            })
            .collect()
    }

    /// The found members as a set state, as far as markers tell it (no strategy: a marker
    /// does not carry one), for what people are shown and told.
    pub fn state(&self) -> SetRollout {
        let first = &self.members[0].marker;
        let spec = SetSpec {
            set: self.name.clone(),
            members: self.members.iter().map(|m| m.spec.clone()).collect(),
            shared: Shared {
                strategy: String::new(),
                alarms: Vec::new(),
                notification_topic_arn: None,
                bake_time: None,
                analysis: None,
            },
        };
        let currents: Vec<String> = self
            .members
            .iter()
            .map(|m| m.marker.from_version.clone())
            .collect();
        let started = rollout_core::state::rollout_started_at(&self.rollout_id)
            .unwrap_or(chrono::DateTime::UNIX_EPOCH);
        let mut state = SetRollout::new(&spec, self.rollout_id.clone(), &currents, started);
        for (m, found) in state.members.iter_mut().zip(&self.members) {
            m.alias_revision_id = found.alias.revision_id.clone();
            m.weight = found.alias.weight_on(&found.marker.to_version);
        }
        state.status = first.status;
        // The furthest step any member's marker shows: a driver that died mid-step left the
        // lead ahead (its own rollback of the step is told under the same eventId).
        state.step_index = self
            .members
            .iter()
            .map(|m| m.marker.step_index)
            .max()
            .unwrap_or(first.step_index);
        state.weight = state.members[0].weight;
        state.next_step_at = first.next_step_at;
        state.control = first.control;
        state.control_id = first.control_id.clone();
        state.reason = first.why.clone();
        state
    }

    /// The lead (member 0), when found.
    pub fn lead(&self) -> Option<&Found> {
        self.members.iter().find(|m| m.link.index == 0)
    }

    /// Whether every member is in progress (a set that can still be paused or stopped).
    pub fn in_progress(&self) -> bool {
        self.members
            .iter()
            .any(|m| m.marker.status == Status::InProgress)
    }
}

/// `function`'s `alias` in the caller's own place, as a member would name it (the walk fills
/// in its versions from the marker).
pub fn home_member(places: &dyn Places, function: &str, alias: &str) -> MemberSpec {
    MemberSpec {
        function_name: function.into(),
        alias: alias.into(),
        target_version: String::new(),
        current_version: None,
        alarms: Vec::new(),
        region: places.home_region(),
        role_arn: None,
    }
}

/// The set that `function`'s `alias` in the caller's place (just read: `state`) is a member
/// of, when it is one; see [`walk`].
pub async fn walk_from(
    places: &dyn Places,
    patience: &Patience,
    function: &str,
    alias: &str,
    state: AliasState,
) -> Result<Option<FoundSet>, AliasError> {
    walk(
        places,
        patience,
        home_member(places, function, alias),
        state,
    )
    .await
}

/// The set `alias` (of `start`) is a member of, when its marker says it is one: every member
/// the ring reaches. Reads each member's alias once, patiently.
pub async fn walk(
    places: &dyn Places,
    patience: &Patience,
    start: MemberSpec,
    alias: AliasState,
) -> Result<Option<FoundSet>, AliasError> {
    let Some(marker) = alias.marker().filter(|m| m.describes(&alias)) else {
        return Ok(None);
    };
    let Some(link) = marker.set.clone() else {
        return Ok(None);
    };
    let mut set = FoundSet {
        not_ours: Vec::new(),
        name: link.name.clone(),
        rollout_id: marker.rollout_id.clone(),
        count: link.count,
        members: Vec::new(),
    };
    let first = Found {
        spec: MemberSpec {
            target_version: marker.to_version.clone(),
            current_version: Some(marker.from_version.clone()),
            ..start
        },
        alias,
        marker,
        link,
    };
    set.members.push(first.clone());
    for forward in [true, false] {
        let mut at = first.clone();
        loop {
            let (step, to) = match forward {
                true => (1, at.link.next.clone()),
                false => (set.count - 1, at.link.previous.clone()),
            };
            let index = (at.link.index + step) % set.count;
            let Some(to) = to else { break };
            if set.members.iter().any(|m| m.link.index == index) {
                break;
            }
            match visit(places, patience, &set, &at, &to, index).await? {
                Visit::Ours(found) => {
                    set.members.push((*found).clone());
                    at = *found;
                }
                Visit::NotOurs => {
                    set.not_ours.push(index);
                    break;
                }
                Visit::Unreachable => break,
            }
        }
    }
    set.members.sort_by_key(|m| m.link.index);
    Ok(Some(set))
}

/// What a walk found at one place of the ring.
enum Visit {
    Ours(Box<Found>),
    /// Read, and not this set's member any more (or gone).
    NotOurs,
    /// Its place could not be reached (its role, its region).
    Unreachable,
}

/// The member `to` names (relative to `at`), when it is still this set's member `index`.
async fn visit(
    places: &dyn Places,
    patience: &Patience,
    set: &FoundSet,
    at: &Found,
    to: &MemberRef,
    index: usize,
) -> Result<Visit, AliasError> {
    let mut spec = MemberSpec {
        function_name: to.function_name.clone(),
        alias: to.alias.clone(),
        target_version: String::new(),
        current_version: None,
        alarms: Vec::new(),
        region: to.region.clone().or(at.spec.region.clone()),
        role_arn: to.role_arn.clone(),
    };
    let place = match places.place(&spec).await {
        Ok(place) => place,
        Err(e) => {
            tracing::warn!(member = %spec.label(), error = %e, "a member of the set cannot be reached");
            return Ok(Visit::Unreachable);
        }
    };
    let mut backoff = patience.backoff(patience.reads);
    let alias = match retrying(&mut backoff, async || {
        place.aliases.get(&spec.function_name, &spec.alias).await
    })
    .await
    {
        Ok(alias) => alias,
        Err(AliasError::NotFound { .. }) => return Ok(Visit::NotOurs),
        Err(e) => return Err(e),
    };
    let Some(marker) = alias.marker() else {
        return Ok(Visit::NotOurs);
    };
    let ours = marker.rollout_id == set.rollout_id
        && marker.describes(&alias)
        && marker
            .set
            .as_ref()
            .is_some_and(|l| l.name == set.name && l.count == set.count && l.index == index);
    if !ours {
        return Ok(Visit::NotOurs);
    }
    spec.target_version = marker.to_version.clone();
    spec.current_version = Some(marker.from_version.clone());
    let link = marker.set.clone().expect("checked above");
    Ok(Visit::Ours(Box::new(Found {
        spec,
        alias,
        marker,
        link,
    })))
}
